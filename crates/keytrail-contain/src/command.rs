//! AWS CLI command lines, written to be pasted into a shell: every value that is not plainly
//! safe is single-quoted, since names come from logs an attacker wrote into.

/// One `aws …` command line, built flag by flag.
pub(crate) struct Aws(String);

/// A shell expression, inserted as it is (a variable or a command substitution).
pub(crate) struct Shell<'a>(pub &'a str);

/// The variable the plan's commands use for the key's owner when it is not known.
pub(crate) const OWNER_VARIABLE: Shell<'static> = Shell("\"$KEY_OWNER\"");

/// A value for a flag: text to quote, or a shell expression.
pub(crate) trait Value {
    fn shell(&self) -> String;
}

impl Value for str {
    fn shell(&self) -> String {
        quote(self)
    }
}

impl Value for String {
    fn shell(&self) -> String {
        quote(self)
    }
}

impl Value for Shell<'_> {
    fn shell(&self) -> String {
        self.0.to_string()
    }
}

impl Aws {
    /// `aws <service> <operation>`.
    pub(crate) fn new(service: &str, operation: &str) -> Aws {
        Aws(format!("aws {service} {operation}"))
    }

    pub(crate) fn arg(mut self, flag: &str, value: &(impl Value + ?Sized)) -> Aws {
        self.0.push_str(&format!(" --{flag} {}", value.shell()));
        self
    }

    /// A flag with several values (`--instance-ids i-1 i-2`).
    pub(crate) fn args(mut self, flag: &str, values: &[&str]) -> Aws {
        self.0.push_str(&format!(" --{flag}"));
        for value in values {
            self.0.push_str(&format!(" {}", quote(value)));
        }
        self
    }

    /// `--user-name`, or [`OWNER_VARIABLE`] when the key's owner is not known.
    pub(crate) fn user(self, user: Option<&str>) -> Aws {
        match user {
            Some(user) => self.arg("user-name", user),
            None => self.arg("user-name", &OWNER_VARIABLE),
        }
    }

    /// `--region`, for regional services, when the region is known.
    pub(crate) fn region(self, region: Option<&str>) -> Aws {
        match region {
            Some(region) => self.arg("region", region),
            None => self,
        }
    }

    pub(crate) fn build(self) -> String {
        self.0
    }
}

/// `value` as one shell word.
pub(crate) fn quote(value: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_+=,.@/:-".contains(c);
    if !value.is_empty() && value.chars().all(safe) {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_from_logs_cannot_break_out_of_the_command() {
        assert_eq!(quote("backdoor-7f3a"), "backdoor-7f3a");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("x'; rm -rf ~; '"), r"'x'\''; rm -rf ~; '\'''");
        assert_eq!(quote("$(id)"), "'$(id)'");
        assert_eq!(quote(""), "''");
        let line = Aws::new("iam", "delete-user").arg("user-name", "eve $(id)").arg("x", &Shell("\"$V\"")).build();
        assert_eq!(line, r#"aws iam delete-user --user-name 'eve $(id)' --x "$V""#);
    }
}
