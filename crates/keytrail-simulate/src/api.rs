//! The catalogue of API operations the estate calls, with the request
//! parameters, response elements and resources CloudTrail records for each,
//! and the errors they fail with.

use crate::estate::Account;
use crate::ids;
use crate::record::Resource;
use rand::Rng;
use rand::rngs::SmallRng;
use serde_json::{Value, json};

/// Whether CloudTrail logs the operation as a management or a data event.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    Management,
    Data,
}

/// One API operation.
pub(crate) struct Op {
    pub source: &'static str,
    pub name: &'static str,
    pub read_only: bool,
    pub class: Class,
    /// Served by a global endpoint (IAM, CloudFront, console sign-in):
    /// CloudTrail records it in us-east-1 whatever region the caller used.
    pub global: bool,
    body: fn(&mut Args) -> Body,
}

impl Op {
    /// The service prefix used in IAM actions, ARNs and CLI commands
    /// (`ec2`, `s3`, `cloudwatch`…).
    pub fn service(&self) -> &'static str {
        match self.source {
            "monitoring.amazonaws.com" => "cloudwatch",
            s => s.strip_suffix(".amazonaws.com").unwrap_or(s),
        }
    }

    /// The action as IAM names it: Lambda's event names carry an API
    /// version suffix that the action does not.
    pub fn action(&self) -> &'static str {
        self.name.find(|c: char| c.is_ascii_digit()).map_or(self.name, |i| &self.name[..i])
    }

    pub fn body(&self, args: &mut Args) -> Body {
        (self.body)(args)
    }

    /// CloudTrail's record format version as it stands for this service.
    pub fn version(&self) -> &'static str {
        match self.service() {
            "s3" | "signin" | "sts" | "iam" | "ec2" | "kms" => "1.09",
            _ => "1.08",
        }
    }

    /// S3 and EC2 mint request ids of their own shapes; the rest use UUIDs.
    pub fn request_id(&self, rng: &mut SmallRng) -> String {
        match self.service() {
            "s3" => ids::s3_request_id(rng),
            _ => ids::uuid(rng),
        }
    }

    /// The `Host` header a client sends for this operation in `region`.
    pub fn host(&self, region: &str) -> String {
        match self.service() {
            "iam" => "iam.amazonaws.com".into(),
            "cloudfront" => "cloudfront.amazonaws.com".into(),
            "ecr" => format!("api.ecr.{region}.amazonaws.com"),
            "cloudwatch" => format!("monitoring.{region}.amazonaws.com"),
            s => format!("{s}.{region}.amazonaws.com"),
        }
    }
}

/// What the body builders may draw on: the account the call lands in.
pub(crate) struct Args<'a> {
    pub rng: &'a mut SmallRng,
    pub account: &'a Account,
    pub region: &'a str,
    pub t: i64,
}

/// One of the account's resources of a kind.
fn one<'v>(rng: &mut SmallRng, from: &'v [String]) -> &'v str {
    &from[rng.random_range(0..from.len())]
}

impl Args<'_> {
    fn arn(&self, service: &str, rest: &str) -> String {
        format!("arn:aws:{service}:{}:{}:{rest}", self.region, self.account.id)
    }

    fn resource(&self, kind: &'static str, arn: String) -> Resource {
        Resource { account_id: Some(self.account.id.clone()), kind, arn }
    }
}

/// The parts of a record that depend on the operation.
#[derive(Default)]
pub(crate) struct Body {
    pub request: Option<Value>,
    pub response: Option<Value>,
    pub resources: Option<Vec<Resource>>,
    pub additional: Option<Value>,
    /// A `Host` header other than the service endpoint (S3 virtual hosts).
    pub host: Option<String>,
}

impl Body {
    fn request(v: Value) -> Self {
        Body { request: Some(v), ..Body::default() }
    }

    fn with_resource(mut self, r: Resource) -> Self {
        self.resources = Some(vec![r]);
        self
    }
}

macro_rules! ops {
    ($($id:ident = $source:literal $name:literal $ro:ident $class:ident $global:literal $body:expr;)*) => {
        $(pub(crate) static $id: Op = Op {
            source: concat!($source, ".amazonaws.com"),
            name: $name,
            read_only: ops!(@ro $ro),
            class: Class::$class,
            global: $global,
            body: $body,
        };)*
    };
    (@ro read) => { true };
    (@ro write) => { false };
}

fn none(_: &mut Args) -> Body {
    Body::default()
}

fn empty(_: &mut Args) -> Body {
    Body::request(json!({}))
}

ops! {
    // STS. AssumeRole and ConsoleLogin bodies depend on who calls: actors build them.
    GET_CALLER_IDENTITY = "sts" "GetCallerIdentity" read Management false none;
    ASSUME_ROLE = "sts" "AssumeRole" read Management false none;
    GET_SESSION_TOKEN = "sts" "GetSessionToken" read Management false get_session_token;
    CONSOLE_LOGIN = "signin" "ConsoleLogin" write Management true none;
    // IAM (global)
    LIST_USERS = "iam" "ListUsers" read Management true empty;
    GET_USER = "iam" "GetUser" read Management true |a| Body::request(json!({"userName": one(a.rng, &a.account.users)}));
    LIST_ROLES = "iam" "ListRoles" read Management true empty;
    GET_ROLE = "iam" "GetRole" read Management true |a| Body::request(json!({"roleName": one(a.rng, &a.account.roles)}));
    GET_ROLE_POLICY = "iam" "GetRolePolicy" read Management true |a| Body::request(json!({"roleName": one(a.rng, &a.account.roles), "policyName": "inline-access"}));
    LIST_ATTACHED_ROLE_POLICIES = "iam" "ListAttachedRolePolicies" read Management true |a| Body::request(json!({"roleName": one(a.rng, &a.account.roles)}));
    LIST_POLICIES = "iam" "ListPolicies" read Management true |_| Body::request(json!({"scope": "Local", "onlyAttached": false}));
    GET_POLICY = "iam" "GetPolicy" read Management true |a| Body::request(json!({"policyArn": policy_arn(a)}));
    GET_POLICY_VERSION = "iam" "GetPolicyVersion" read Management true |a| Body::request(json!({"policyArn": policy_arn(a), "versionId": "v3"}));
    LIST_ATTACHED_USER_POLICIES = "iam" "ListAttachedUserPolicies" read Management true |a| Body::request(json!({"userName": one(a.rng, &a.account.users)}));
    LIST_ACCESS_KEYS = "iam" "ListAccessKeys" read Management true |a| Body::request(json!({"userName": one(a.rng, &a.account.users)}));
    LIST_MFA_DEVICES = "iam" "ListMFADevices" read Management true empty;
    GET_ACCOUNT_SUMMARY = "iam" "GetAccountSummary" read Management true none;
    GET_ACCOUNT_AUTHORIZATION_DETAILS = "iam" "GetAccountAuthorizationDetails" read Management true |_| Body::request(json!({"filter": ["User", "Role", "Group", "LocalManagedPolicy"]}));
    CREATE_ACCESS_KEY = "iam" "CreateAccessKey" write Management true create_access_key;
    ATTACH_USER_POLICY = "iam" "AttachUserPolicy" write Management true |a| Body::request(json!({"userName": one(a.rng, &a.account.users), "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}));
    PUT_ROLE_POLICY = "iam" "PutRolePolicy" write Management true |a| Body::request(json!({"roleName": one(a.rng, &a.account.roles), "policyName": "inline-access", "policyDocument": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"s3:GetObject\"],\"Resource\":\"*\"}]}"}));
    CREATE_ROLE = "iam" "CreateRole" write Management true create_role;
    // Only attacks create users and console passwords: they build the bodies.
    CREATE_USER = "iam" "CreateUser" write Management true none;
    CREATE_LOGIN_PROFILE = "iam" "CreateLoginProfile" write Management true none;
    // EC2
    DESCRIBE_INSTANCES = "ec2" "DescribeInstances" read Management false |_| Body::request(json!({"instancesSet": {}, "filterSet": {}}));
    DESCRIBE_INSTANCE_STATUS = "ec2" "DescribeInstanceStatus" read Management false |_| Body::request(json!({"instancesSet": {}, "filterSet": {}, "includeAllInstances": false}));
    DESCRIBE_SECURITY_GROUPS = "ec2" "DescribeSecurityGroups" read Management false |_| Body::request(json!({"securityGroupSet": {}, "securityGroupIdSet": {}, "filterSet": {}}));
    DESCRIBE_VPCS = "ec2" "DescribeVpcs" read Management false |_| Body::request(json!({"vpcSet": {}, "filterSet": {}}));
    DESCRIBE_SUBNETS = "ec2" "DescribeSubnets" read Management false |_| Body::request(json!({"subnetSet": {}, "filterSet": {}}));
    DESCRIBE_REGIONS = "ec2" "DescribeRegions" read Management false |_| Body::request(json!({"regionSet": {}}));
    DESCRIBE_AVAILABILITY_ZONES = "ec2" "DescribeAvailabilityZones" read Management false |_| Body::request(json!({"availabilityZoneSet": {}, "availabilityZoneIdSet": {}}));
    DESCRIBE_IMAGES = "ec2" "DescribeImages" read Management false |_| Body::request(json!({"executableBySet": {}, "imagesSet": {}, "ownersSet": {"items": [{"owner": "amazon"}]}, "filterSet": {"items": [{"name": "name", "valueSet": {"items": [{"value": "al2023-ami-2023.*-x86_64"}]}}]}}));
    DESCRIBE_VOLUMES = "ec2" "DescribeVolumes" read Management false |_| Body::request(json!({"volumeSet": {}, "filterSet": {}}));
    DESCRIBE_TAGS = "ec2" "DescribeTags" read Management false |a| Body::request(json!({"filterSet": {"items": [{"name": "resource-id", "valueSet": {"items": [{"value": ids::instance_id(a.rng)}]}}]}}));
    CREATE_TAGS = "ec2" "CreateTags" write Management false |a| Body::request(json!({"resourcesSet": {"items": [{"resourceId": ids::instance_id(a.rng)}]}, "tagSet": {"items": [{"key": "Owner", "value": "platform"}]}}));
    START_INSTANCES = "ec2" "StartInstances" write Management false |a| Body::request(json!({"instancesSet": {"items": [{"instanceId": ids::instance_id(a.rng)}]}}));
    STOP_INSTANCES = "ec2" "StopInstances" write Management false |a| Body::request(json!({"instancesSet": {"items": [{"instanceId": ids::instance_id(a.rng)}]}, "force": false}));
    AUTHORIZE_SECURITY_GROUP_INGRESS = "ec2" "AuthorizeSecurityGroupIngress" write Management false |a| Body::request(json!({"groupId": format!("sg-0{}", ids::hex(a.rng, 16)), "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "groups": {}, "ipRanges": {"items": [{"cidrIp": "10.0.0.0/16"}]}, "ipv6Ranges": {}, "prefixListIds": {}}]}}));
    // S3
    LIST_BUCKETS = "s3" "ListBuckets" read Management false |a| Body::request(json!({"Host": format!("s3.{}.amazonaws.com", a.region)}));
    GET_BUCKET_LOCATION = "s3" "GetBucketLocation" read Management false |a| bucket_call(a, "location");
    GET_BUCKET_POLICY = "s3" "GetBucketPolicy" read Management false |a| bucket_call(a, "policy");
    GET_BUCKET_ACL = "s3" "GetBucketAcl" read Management false |a| bucket_call(a, "acl");
    GET_BUCKET_VERSIONING = "s3" "GetBucketVersioning" read Management false |a| bucket_call(a, "versioning");
    GET_BUCKET_ENCRYPTION = "s3" "GetBucketEncryption" read Management false |a| bucket_call(a, "encryption");
    PUT_BUCKET_POLICY = "s3" "PutBucketPolicy" write Management false |a| bucket_call(a, "policy");
    GET_OBJECT = "s3" "GetObject" read Data false |a| object_call(a, false);
    HEAD_OBJECT = "s3" "HeadObject" read Data false |a| object_call(a, false);
    PUT_OBJECT = "s3" "PutObject" write Data false |a| object_call(a, true);
    DELETE_OBJECT = "s3" "DeleteObject" write Data false |a| object_call(a, false);
    LIST_OBJECTS = "s3" "ListObjects" read Data false list_objects;
    // Secrets Manager, SSM, KMS
    GET_SECRET_VALUE = "secretsmanager" "GetSecretValue" read Management false |a| secret_call(a);
    DESCRIBE_SECRET = "secretsmanager" "DescribeSecret" read Management false |a| secret_call(a);
    LIST_SECRETS = "secretsmanager" "ListSecrets" read Management false none;
    GET_PARAMETER = "ssm" "GetParameter" read Management false |a| Body::request(json!({"name": one(a.rng, &a.account.parameters), "withDecryption": true}));
    GET_PARAMETERS = "ssm" "GetParameters" read Management false |a| Body::request(json!({"names": [one(a.rng, &a.account.parameters), one(a.rng, &a.account.parameters)], "withDecryption": true}));
    GET_PARAMETERS_BY_PATH = "ssm" "GetParametersByPath" read Management false |a| Body::request(json!({"path": format!("/{}/", a.account.alias), "recursive": true, "withDecryption": true}));
    PUT_PARAMETER = "ssm" "PutParameter" write Management false |a| Body { response: Some(json!({"version": a.rng.random_range(2..40), "tier": "Standard"})), ..Body::request(json!({"name": one(a.rng, &a.account.parameters), "value": "HIDDEN_DUE_TO_SECURITY_REASONS", "type": "SecureString", "overwrite": true})) };
    UPDATE_INSTANCE_INFORMATION = "ssm" "UpdateInstanceInformation" write Management false update_instance_information;
    LIST_INSTANCE_ASSOCIATIONS = "ssm" "ListInstanceAssociations" read Management false |a| Body::request(json!({"instanceId": ids::instance_id(a.rng), "maxResults": 20}));
    DESCRIBE_INSTANCE_INFORMATION = "ssm" "DescribeInstanceInformation" read Management false empty;
    DECRYPT = "kms" "Decrypt" read Management false |a| kms_call(a, json!({"encryptionAlgorithm": "SYMMETRIC_DEFAULT"}));
    GENERATE_DATA_KEY = "kms" "GenerateDataKey" read Management false |a| { let key = a.arn("kms", "alias/app"); kms_call(a, json!({"keyId": key, "keySpec": "AES_256"})) };
    ROTATE_KEY = "kms" "RotateKey" write Management false none;
    DESCRIBE_KEY = "kms" "DescribeKey" read Management false |a| { let key = a.arn("kms", "alias/app"); kms_call(a, json!({"keyId": key})) };
    // DynamoDB, SQS
    GET_ITEM = "dynamodb" "GetItem" read Data false |a| table_call(a, json!({"consistentRead": false}));
    PUT_ITEM = "dynamodb" "PutItem" write Data false |a| table_call(a, json!({}));
    UPDATE_ITEM = "dynamodb" "UpdateItem" write Data false |a| table_call(a, json!({"updateExpression": "SET #s = :s", "returnValues": "NONE"}));
    QUERY = "dynamodb" "Query" read Data false |a| table_call(a, json!({"keyConditionExpression": "pk = :pk", "limit": 50}));
    DESCRIBE_TABLE = "dynamodb" "DescribeTable" read Management false |a| Body::request(json!({"tableName": one(a.rng, &a.account.tables)}));
    SEND_MESSAGE = "sqs" "SendMessage" write Data false send_message;
    RECEIVE_MESSAGE = "sqs" "ReceiveMessage" read Data false |a| queue_call(a, json!({"maxNumberOfMessages": 10, "waitTimeSeconds": 20}));
    DELETE_MESSAGE = "sqs" "DeleteMessage" write Data false |a| { let handle = ids::base64(a.rng, 172); queue_call(a, json!({"receiptHandle": handle})) };
    GET_QUEUE_ATTRIBUTES = "sqs" "GetQueueAttributes" read Management false |a| queue_call(a, json!({"attributeNames": ["All"]}));
    // ECR, ECS
    GET_AUTHORIZATION_TOKEN = "ecr" "GetAuthorizationToken" read Management false none;
    BATCH_CHECK_LAYER_AVAILABILITY = "ecr" "BatchCheckLayerAvailability" read Management false |a| repo_call(a, |a, m| { m.insert("layerDigests".into(), json!([digest(a.rng)])); });
    INITIATE_LAYER_UPLOAD = "ecr" "InitiateLayerUpload" write Management false initiate_layer_upload;
    UPLOAD_LAYER_PART = "ecr" "UploadLayerPart" write Management false |a| repo_call(a, |a, m| { m.insert("uploadId".into(), json!(ids::uuid(a.rng))); m.insert("partFirstByte".into(), json!(0)); m.insert("partLastByte".into(), json!(a.rng.random_range(1_000..40_000_000))); });
    COMPLETE_LAYER_UPLOAD = "ecr" "CompleteLayerUpload" write Management false |a| repo_call(a, |a, m| { m.insert("uploadId".into(), json!(ids::uuid(a.rng))); m.insert("layerDigests".into(), json!([digest(a.rng)])); });
    PUT_IMAGE = "ecr" "PutImage" write Management false |a| repo_call(a, |a, m| { m.insert("imageTag".into(), json!(ids::hex(a.rng, 7))); m.insert("imageManifestMediaType".into(), json!("application/vnd.docker.distribution.manifest.v2+json")); });
    BATCH_GET_IMAGE = "ecr" "BatchGetImage" read Management false |a| repo_call(a, |a, m| { m.insert("imageIds".into(), json!([{"imageTag": ids::hex(a.rng, 7)}])); m.insert("acceptedMediaTypes".into(), json!(["application/vnd.docker.distribution.manifest.v2+json"])); });
    DESCRIBE_TASK_DEFINITION = "ecs" "DescribeTaskDefinition" read Management false |a| Body::request(json!({"taskDefinition": one(a.rng, &a.account.services)}));
    REGISTER_TASK_DEFINITION = "ecs" "RegisterTaskDefinition" write Management false register_task_definition;
    UPDATE_SERVICE = "ecs" "UpdateService" write Management false |a| Body::request(json!({"cluster": a.account.cluster, "service": one(a.rng, &a.account.services), "forceNewDeployment": false}));
    DESCRIBE_SERVICES = "ecs" "DescribeServices" read Management false |a| Body::request(json!({"cluster": a.account.cluster, "services": [one(a.rng, &a.account.services)]}));
    LIST_CLUSTERS = "ecs" "ListClusters" read Management false none;
    // Lambda
    LIST_FUNCTIONS = "lambda" "ListFunctions20150331" read Management false none;
    GET_FUNCTION = "lambda" "GetFunction20150331v2" read Management false |a| Body::request(json!({"functionName": one(a.rng, &a.account.functions)}));
    UPDATE_FUNCTION_CODE = "lambda" "UpdateFunctionCode20150331v2" write Management false |a| Body::request(json!({"functionName": one(a.rng, &a.account.functions), "publish": true, "dryRun": false}));
    // CloudFormation, CloudWatch, CloudTrail, CloudFront
    DESCRIBE_STACKS = "cloudformation" "DescribeStacks" read Management false |a| Body::request(json!({"stackName": one(a.rng, &a.account.stacks)}));
    DESCRIBE_STACK_EVENTS = "cloudformation" "DescribeStackEvents" read Management false |a| Body::request(json!({"stackName": one(a.rng, &a.account.stacks)}));
    DESCRIBE_LOG_GROUPS = "logs" "DescribeLogGroups" read Management false |_| Body::request(json!({"limit": 50}));
    DESCRIBE_LOG_STREAMS = "logs" "DescribeLogStreams" read Management false |a| Body::request(json!({"logGroupName": one(a.rng, &a.account.log_groups), "orderBy": "LastEventTime", "descending": true, "limit": 1}));
    CREATE_LOG_STREAM = "logs" "CreateLogStream" write Management false |a| Body::request(json!({"logGroupName": one(a.rng, &a.account.log_groups), "logStreamName": format!("{}/{}", crate::time::date_path(a.t), ids::hex(a.rng, 32))}));
    DESCRIBE_ALARMS = "monitoring" "DescribeAlarms" read Management false |_| Body::request(json!({"maxRecords": 100}));
    LOOKUP_EVENTS = "cloudtrail" "LookupEvents" read Management false |_| Body::request(json!({"maxResults": 50}));
    DESCRIBE_TRAILS = "cloudtrail" "DescribeTrails" read Management false |_| Body::request(json!({"includeShadowTrails": true}));
    CREATE_INVALIDATION = "cloudfront" "CreateInvalidation" write Management true |a| Body::request(json!({"distributionId": format!("E{}", &ids::s3_request_id(a.rng)[..13]), "invalidationBatch": {"paths": {"quantity": 1, "items": ["/*"]}, "callerReference": format!("cli-{}", a.t)}}));
}

fn policy_arn(a: &mut Args) -> String {
    let role = one(a.rng, &a.account.roles);
    format!("arn:aws:iam::{}:policy/{role}-policy", a.account.id)
}

fn get_session_token(a: &mut Args) -> Body {
    Body {
        response: Some(json!({"credentials": {
            "accessKeyId": ids::access_key_id(a.rng, "ASIA"),
            "sessionToken": ids::session_token(a.rng),
            "expiration": crate::time::aws_long(a.t + 12 * crate::time::HOUR),
        }})),
        ..Body::request(json!({"durationSeconds": 43200}))
    }
}

fn create_access_key(a: &mut Args) -> Body {
    let user = one(a.rng, &a.account.users);
    Body {
        // CloudTrail keeps the new key id but never the secret.
        response: Some(json!({"accessKey": {
            "userName": user,
            "accessKeyId": ids::access_key_id(a.rng, "AKIA"),
            "status": "Active",
            "secretAccessKey": "HIDDEN_DUE_TO_SECURITY_REASONS",
            "createDate": crate::time::aws_long(a.t),
        }})),
        ..Body::request(json!({"userName": user}))
    }
}

fn create_role(a: &mut Args) -> Body {
    let name = format!("{}-{}", one(a.rng, &a.account.roles), ids::hex(a.rng, 6));
    let arn = format!("arn:aws:iam::{}:role/{name}", a.account.id);
    let policy = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"lambda.amazonaws.com\"},\"Action\":\"sts:AssumeRole\"}]}";
    Body {
        response: Some(json!({"role": {
            "path": "/", "roleName": name, "roleId": ids::principal_id(a.rng, "AROA"), "arn": arn,
            "createDate": crate::time::aws_long(a.t), "assumeRolePolicyDocument": policy,
        }})),
        ..Body::request(json!({"roleName": name, "assumeRolePolicyDocument": policy}))
    }
}

fn bucket_call(a: &mut Args, sub: &str) -> Body {
    let bucket = one(a.rng, &a.account.buckets);
    let host = format!("{bucket}.s3.{}.amazonaws.com", a.region);
    let resource = Resource {
        account_id: Some(a.account.id.clone()),
        kind: "AWS::S3::Bucket",
        arn: format!("arn:aws:s3:::{bucket}"),
    };
    Body {
        additional: Some(s3_additional(a, 0, 0)),
        host: Some(host.clone()),
        ..Body::request(json!({"bucketName": bucket, "Host": host, sub: ""}))
    }
    .with_resource(resource)
}

/// An object key shaped like what the estate's workloads store.
fn object_key(a: &mut Args) -> String {
    let day = crate::time::date_path(a.t);
    match a.rng.random_range(0..4) {
        0 => format!("uploads/{day}/{}.jpg", ids::uuid(a.rng)),
        1 => format!("artifacts/{}/{}.zip", one(a.rng, &a.account.services), ids::hex(a.rng, 40)),
        2 => format!("reports/{}/daily-{}.csv", a.account.alias, day.replace('/', "-")),
        _ => format!(
            "data/dt={}/part-{:05}-{}.snappy.parquet",
            day.replace('/', "-"),
            a.rng.random_range(0..64),
            ids::uuid(a.rng)
        ),
    }
}

fn object_call(a: &mut Args, upload: bool) -> Body {
    let bucket = one(a.rng, &a.account.buckets);
    let key = object_key(a);
    let host = format!("{bucket}.s3.{}.amazonaws.com", a.region);
    let size = a.rng.random_range(200..5_000_000);
    let (size_in, size_out) = if upload { (size, 0) } else { (0, size) };
    Body {
        request: Some(json!({"bucketName": bucket, "Host": host, "key": key})),
        response: upload
            .then(|| json!({"x-amz-server-side-encryption": "AES256", "x-amz-version-id": ids::alnum(a.rng, 32)})),
        resources: Some(vec![
            Resource { account_id: None, kind: "AWS::S3::Object", arn: format!("arn:aws:s3:::{bucket}/{key}") },
            Resource {
                account_id: Some(a.account.id.clone()),
                kind: "AWS::S3::Bucket",
                arn: format!("arn:aws:s3:::{bucket}"),
            },
        ]),
        additional: Some(s3_additional(a, size_in, size_out)),
        host: Some(host),
    }
}

fn list_objects(a: &mut Args) -> Body {
    let mut body = bucket_call(a, "list-type");
    if let Some(Value::Object(m)) = &mut body.request {
        m.insert("list-type".into(), json!("2"));
        m.insert("prefix".into(), json!(format!("{}/", a.account.alias)));
        m.insert("delimiter".into(), json!("/"));
    }
    body
}

/// S3's `additionalEventData`: signature, TLS and bytes moved.
fn s3_additional(a: &mut Args, bytes_in: u64, bytes_out: u64) -> Value {
    json!({
        "SignatureVersion": "SigV4",
        "CipherSuite": "TLS_AES_128_GCM_SHA256",
        "bytesTransferredIn": bytes_in,
        "AuthenticationMethod": "AuthHeader",
        "x-amz-id-2": ids::base64(a.rng, 76),
        "bytesTransferredOut": bytes_out,
    })
}

fn secret_call(a: &mut Args) -> Body {
    let name = one(a.rng, &a.account.secrets);
    let suffix = ids::alnum(a.rng, 6);
    let arn = a.arn("secretsmanager", &format!("secret:{name}-{suffix}"));
    // CloudTrail never records the secret value.
    Body::request(json!({"secretId": if a.rng.random_bool(0.5) { name.to_string() } else { arn }}))
}

fn kms_call(a: &mut Args, request: Value) -> Body {
    let key = one(a.rng, &a.account.kms_keys).to_string();
    let arn = a.arn("kms", &format!("key/{key}"));
    let r = a.resource("AWS::KMS::Key", arn.clone());
    Body::request(request).with_resource(r)
}

fn update_instance_information(a: &mut Args) -> Body {
    let ip = crate::net::sample(a.rng, crate::net::VPC);
    Body::request(json!({
        "instanceId": ids::instance_id(a.rng),
        "agentVersion": "3.3.987.0",
        "agentStatus": "Active",
        "agentName": "amazon-ssm-agent",
        "platformType": "Linux",
        "platformName": "Amazon Linux",
        "platformVersion": "2023",
        "iPAddress": ip,
        "computerName": match a.region {
            "us-east-1" => format!("ip-{}.ec2.internal", ip.replace('.', "-")),
            region => format!("ip-{}.{region}.compute.internal", ip.replace('.', "-")),
        },
        "availabilityZone": format!("{}a", a.region),
    }))
}

fn table_call(a: &mut Args, mut extra: Value) -> Body {
    let table = one(a.rng, &a.account.tables);
    let arn = a.arn("dynamodb", &format!("table/{table}"));
    if let Value::Object(m) = &mut extra {
        m.insert("tableName".into(), json!(table));
        // Key values are customer data: CloudTrail hides them.
        m.insert("key".into(), json!({"pk": "HIDDEN_DUE_TO_SECURITY_REASONS"}));
    }
    let r = a.resource("AWS::DynamoDB::Table", arn);
    Body::request(extra).with_resource(r)
}

fn queue_url(a: &mut Args) -> (String, String) {
    let q = one(a.rng, &a.account.queues);
    (format!("https://sqs.{}.amazonaws.com/{}/{q}", a.region, a.account.id), a.arn("sqs", q))
}

fn queue_call(a: &mut Args, mut extra: Value) -> Body {
    let (url, arn) = queue_url(a);
    if let Value::Object(m) = &mut extra {
        m.insert("queueUrl".into(), json!(url));
    }
    let r = a.resource("AWS::SQS::Queue", arn);
    Body::request(extra).with_resource(r)
}

fn send_message(a: &mut Args) -> Body {
    let mut body = queue_call(a, json!({"messageBody": "HIDDEN_DUE_TO_SECURITY_REASONS"}));
    body.response = Some(json!({"mD5OfMessageBody": ids::hex(a.rng, 32), "messageId": ids::uuid(a.rng)}));
    body
}

fn digest(rng: &mut SmallRng) -> String {
    format!("sha256:{}", ids::hex(rng, 64))
}

fn repo_call(a: &mut Args, extra: impl FnOnce(&mut Args, &mut serde_json::Map<String, Value>)) -> Body {
    let repo = one(a.rng, &a.account.repositories);
    let mut m = serde_json::Map::new();
    m.insert("repositoryName".into(), json!(repo));
    m.insert("registryId".into(), json!(a.account.id));
    extra(a, &mut m);
    let arn = a.arn("ecr", &format!("repository/{repo}"));
    let r = a.resource("AWS::ECR::Repository", arn);
    Body::request(Value::Object(m)).with_resource(r)
}

fn initiate_layer_upload(a: &mut Args) -> Body {
    let mut body = repo_call(a, |_, _| {});
    body.response = Some(json!({"uploadId": ids::uuid(a.rng), "partSize": 20_971_520}));
    body
}

fn register_task_definition(a: &mut Args) -> Body {
    let family = one(a.rng, &a.account.services);
    let revision = a.rng.random_range(10..400);
    let image = format!(
        "{}.dkr.ecr.{}.amazonaws.com/{}:{}",
        a.account.id,
        a.region,
        one(a.rng, &a.account.repositories),
        ids::hex(a.rng, 7)
    );
    Body {
        response: Some(json!({"taskDefinition": {
            "taskDefinitionArn": a.arn("ecs", &format!("task-definition/{family}:{revision}")),
            "family": family, "revision": revision, "status": "ACTIVE",
        }})),
        ..Body::request(json!({
            "family": family,
            "networkMode": "awsvpc",
            "requiresCompatibilities": ["FARGATE"],
            "cpu": "512",
            "memory": "1024",
            "containerDefinitions": [{"name": family, "image": image, "essential": true}],
        }))
    }
}

/// Picks an error for a failed call: the kinds real estates see most, with
/// the messages the services write.
pub(crate) fn error(op: &Op, rng: &mut SmallRng, caller_arn: &str, account: &str) -> (&'static str, String) {
    let service = op.service();
    let action = op.action();
    if op.name == "GetCallerIdentity" || rng.random_bool(0.2) {
        return match service {
            "ec2" => ("Client.RequestLimitExceeded", "Request limit exceeded.".into()),
            _ => ("ThrottlingException", "Rate exceeded".into()),
        };
    }
    let denied = format!(
        "User: {caller_arn} is not authorized to perform: {service}:{action} because no identity-based policy allows the {service}:{action} action"
    );
    match service {
        "ec2" if op.read_only => {
            ("Client.UnauthorizedOperation", format!("You are not authorized to perform this operation. {denied}"))
        }
        "ec2" => (
            "Client.UnauthorizedOperation",
            format!(
                "You are not authorized to perform this operation. {denied}. Encoded authorization failure message: {}",
                ids::base64(rng, 220)
            ),
        ),
        "iam" if op.name.starts_with("Get") && rng.random_bool(0.5) => {
            ("NoSuchEntityException", format!("The role with name {} cannot be found.", ids::alnum(rng, 8)))
        }
        "iam" => (
            "AccessDenied",
            format!(
                "User: {caller_arn} is not authorized to perform: iam:{action} on resource: arn:aws:iam::{account}:user/ because no identity-based policy allows the iam:{action} action"
            ),
        ),
        "s3" if op.name == "GetObject" && rng.random_bool(0.5) => {
            ("NoSuchKey", "The specified key does not exist.".into())
        }
        "s3" => ("AccessDenied", "Access Denied".into()),
        "secretsmanager" if rng.random_bool(0.5) => {
            ("ResourceNotFoundException", "Secrets Manager can't find the specified secret.".into())
        }
        _ => ("AccessDenied", denied),
    }
}

/// Picks from a weighted list.
pub(crate) fn pick<'a, T>(rng: &mut SmallRng, items: &'a [(T, u32)]) -> &'a T {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut r = rng.random_range(0..total);
    for (item, w) in items {
        if r < *w {
            return item;
        }
        r -= w;
    }
    unreachable!("r < total")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(UPDATE_FUNCTION_CODE.action(), "UpdateFunctionCode");
        assert_eq!(LIST_FUNCTIONS.action(), "ListFunctions");
        assert_eq!(DESCRIBE_ALARMS.service(), "cloudwatch");
        assert_eq!(GET_AUTHORIZATION_TOKEN.host("eu-west-1"), "api.ecr.eu-west-1.amazonaws.com");
        assert_eq!(LIST_USERS.host("eu-west-1"), "iam.amazonaws.com");
    }
}
