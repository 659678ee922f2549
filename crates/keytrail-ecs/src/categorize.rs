//! ECS categorization of API calls: `event.category` and `event.type`, as Elastic's AWS
//! integration assigns them. Calls not listed are `type: [info]` with no category.

/// (eventName, categories, types), sorted by name for binary search.
const TABLE: &[(&str, &[&str], &[&str])] = &[
    ("AddUserToGroup", &["iam"], &["group", "change"]),
    ("AssumeRole", &["authentication"], &["info"]),
    ("AttachGroupPolicy", &["iam"], &["group", "change"]),
    ("AttachUserPolicy", &["iam"], &["user", "change"]),
    ("ChangePassword", &["iam"], &["user", "change"]),
    ("ConsoleLogin", &["authentication"], &["info"]),
    ("CreateAccessKey", &["iam"], &["user", "change"]),
    ("CreateBucket", &["file"], &["creation"]),
    ("CreateGroup", &["iam"], &["group", "creation"]),
    ("CreateKeyPair", &["iam"], &["admin", "creation"]),
    ("CreateUser", &["iam"], &["user", "creation"]),
    ("CreateVirtualMFADevice", &["iam"], &["user", "change"]),
    ("DeactivateMFADevice", &["iam"], &["user", "change"]),
    ("DeleteAccessKey", &["iam"], &["user", "change"]),
    ("DeleteBucket", &["file"], &["deletion"]),
    ("DeleteGroup", &["iam"], &["group", "deletion"]),
    ("DeleteGroupPolicy", &["iam"], &["group", "change"]),
    ("DeleteSSHPublicKey", &["iam"], &["user", "change"]),
    ("DeleteUser", &["iam"], &["user", "deletion"]),
    ("DeleteUserPermissionsBoundary", &["iam"], &["user", "change"]),
    ("DeleteUserPolicy", &["iam"], &["user", "change"]),
    ("DeleteVirtualMFADevice", &["iam"], &["user", "change"]),
    ("DetachGroupPolicy", &["iam"], &["group", "change"]),
    ("DetachUserPolicy", &["iam"], &["user", "change"]),
    ("EnableMFADevice", &["iam"], &["user", "change"]),
    ("GetGroup", &["iam"], &["group", "info"]),
    ("GetGroupPolicy", &["iam"], &["group", "info"]),
    ("GetUser", &["iam"], &["user", "info"]),
    ("GetUserPolicy", &["iam"], &["user", "info"]),
    ("ListAttachedGroupPolicies", &["iam"], &["group", "info"]),
    ("ListAttachedUserPolicies", &["iam"], &["user", "info"]),
    ("ListGroupPolicies", &["iam"], &["group", "info"]),
    ("ListGroups", &["iam"], &["group", "info"]),
    ("ListGroupsForUser", &["iam"], &["user", "info"]),
    ("ListUserPolicies", &["iam"], &["user", "info"]),
    ("ListUserTags", &["iam"], &["user", "info"]),
    ("ListUsers", &["iam"], &["user", "info"]),
    ("PutGroupPolicy", &["iam"], &["group", "change"]),
    ("PutUserPermissionsBoundary", &["iam"], &["user", "change"]),
    ("PutUserPolicy", &["iam"], &["user", "change"]),
    ("RemoveUserFromGroup", &["iam"], &["group", "change"]),
    ("SetDefaultPolicyVersion", &["iam"], &["admin", "change"]),
    ("SetSecurityTokenServicePreferences", &["iam"], &["admin", "change"]),
    ("StartSession", &["session"], &["start"]),
    ("TagUser", &["iam"], &["user", "change"]),
    ("TerminateSession", &["session"], &["end"]),
    ("UntagUser", &["iam"], &["user", "change"]),
    ("UpdateAccessKey", &["iam"], &["user", "change"]),
    ("UpdateAccountPasswordPolicy", &["iam"], &["admin", "change"]),
    ("UpdateGroup", &["iam"], &["group", "change"]),
    ("UpdateLoginProfile", &["iam"], &["user", "change"]),
    ("UpdateRole", &["iam"], &["admin", "change"]),
    ("UpdateSSHPublicKey", &["iam"], &["user", "change"]),
    ("UpdateUser", &["iam"], &["user", "change"]),
];

/// The categories and types of a call.
pub(crate) fn categorize(action: &str) -> (&'static [&'static str], &'static [&'static str]) {
    match TABLE.binary_search_by(|(name, _, _)| (*name).cmp(action)) {
        Ok(i) => (TABLE[i].1, TABLE[i].2),
        Err(_) => (&[], &["info"]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_for_binary_search() {
        assert!(TABLE.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn calls_are_categorized() {
        assert_eq!(categorize("CreateUser"), (&["iam"][..], &["user", "creation"][..]));
        assert_eq!(categorize("DescribeInstances"), (&[][..], &["info"][..]));
    }
}
