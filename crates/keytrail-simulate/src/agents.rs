//! User agents, as the tools that call AWS write them. Command-line and
//! Terraform agents name the operation they are running, so they are built
//! per call.

use crate::api::Op;
use rand::Rng;
use rand::rngs::SmallRng;

/// An AWS CLI v2 installation: the agent format changed in 2.16, and both
/// are in the field.
pub(crate) struct Cli {
    version: &'static str,
    python: &'static str,
    os: &'static str,
    arch: &'static str,
    modern: bool,
}

/// Installations on people's laptops.
const PERSONAL: &[Cli] = &[
    Cli { version: "2.15.30", python: "3.11.8", os: "Darwin/23.4.0", arch: "x86_64", modern: false },
    Cli { version: "2.22.4", python: "3.12.6", os: "macos#24.1.0", arch: "arm64", modern: true },
    Cli { version: "2.24.10", python: "3.12.9", os: "windows#11", arch: "amd64", modern: true },
];

/// The installation on the estate's own Linux servers.
pub(crate) const SERVER: Cli =
    Cli { version: "2.15.57", python: "3.11.8", os: "Linux/6.5.0-1018-aws", arch: "x86_64", modern: false };

/// The installation on GitHub's Ubuntu runner images.
pub(crate) const GITHUB_RUNNER: Cli =
    Cli { version: "2.27.50", python: "3.13.4", os: "linux#6.8.0-1017-azure", arch: "x86_64", modern: true };

/// The CLI on an attacker's rented Debian server: a fresh install, so a
/// newer version than anything the estate runs.
pub(crate) const INTRUDER: Cli =
    Cli { version: "2.31.2", python: "3.13.7", os: "linux#6.1.0-37-cloud-amd64", arch: "x86_64", modern: true };

/// The botocore of a scanner that validates leaked keys by the thousand.
pub(crate) const KEY_SCANNER: &str = "Botocore/1.34.162 ua/2.0 os/linux#5.15.0-1057-kvm md/arch#x86_64 lang/python#3.10.12 md/pyimpl#CPython cfg/retry-mode#legacy";

impl Cli {
    /// Someone's laptop.
    pub fn personal(rng: &mut SmallRng) -> &'static Cli {
        &PERSONAL[rng.random_range(0..PERSONAL.len())]
    }

    pub fn agent(&self, op: &Op) -> String {
        let command = cli_command(op);
        if self.modern {
            format!(
                "aws-cli/{} md/awscrt#0.22.0 ua/2.0 os/{} md/arch#{} lang/python#{} md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/prompt#off md/command#{command}",
                self.version, self.os, self.arch, self.python
            )
        } else {
            format!(
                "aws-cli/{} Python/{} {} exe/{} prompt/off command/{command}",
                self.version, self.python, self.os, self.arch
            )
        }
    }
}

/// The CLI command that issues `op`: `s3 cp`/`s3 ls` for object transfers
/// and listings, else `<service>.<kebab-case action>`.
fn cli_command(op: &Op) -> String {
    match op.name {
        "GetObject" | "PutObject" | "HeadObject" => return "s3.cp".into(),
        "ListObjects" | "ListBuckets" => return "s3.ls".into(),
        "DeleteObject" => return "s3.rm".into(),
        _ => {}
    }
    let service = match op.service() {
        "s3" => "s3api",
        s => s,
    };
    let mut cmd = String::with_capacity(service.len() + op.name.len() + 8);
    cmd.push_str(service);
    cmd.push('.');
    // A word starts at an uppercase letter after a lowercase one, or at the
    // last capital of an acronym (`ListMFADevices` → `list-mfa-devices`).
    let name = op.action().as_bytes();
    for (i, &c) in name.iter().enumerate() {
        let prev_lower = i > 0 && name[i - 1].is_ascii_lowercase();
        let acronym_end =
            i > 0 && name[i - 1].is_ascii_uppercase() && name.get(i + 1).is_some_and(u8::is_ascii_lowercase);
        if c.is_ascii_uppercase() && (prev_lower || acronym_end) {
            cmd.push('-');
        }
        cmd.push(char::from(c.to_ascii_lowercase()));
    }
    cmd
}

/// A boto3 script on a workstation or server.
pub(crate) fn boto3(rng: &mut SmallRng) -> String {
    const VERSIONS: &[(&str, &str)] = &[("1.34.69", "3.11.8"), ("1.35.36", "3.12.7"), ("1.28.57", "3.9.18")];
    const OSES: &[&str] = &["linux#6.5.0-1018-aws", "macos#23.4.0", "linux#5.10.227-219.884.amzn2.x86_64"];
    let (v, py) = VERSIONS[rng.random_range(0..VERSIONS.len())];
    let os = OSES[rng.random_range(0..OSES.len())];
    format!(
        "Boto3/{v} md/Botocore#{v} ua/2.0 os/{os} md/arch#x86_64 lang/python#{py} md/pyimpl#CPython cfg/retry-mode#legacy Botocore/{v}"
    )
}

/// A Lambda runtime's SDK: the `exec-env/AWS_Lambda_*` marker is what sets
/// Lambda traffic apart.
pub(crate) fn lambda(runtime: &str) -> String {
    if runtime.starts_with("nodejs") {
        format!(
            "aws-sdk-js/3.687.0 ua/2.1 os/linux#5.10.227-239.884.amzn2.x86_64 lang/js md/nodejs#20.18.0 exec-env/AWS_Lambda_{runtime} api/dynamodb#3.687.0"
        )
    } else {
        format!(
            "Boto3/1.34.145 md/Botocore#1.34.145 ua/2.0 os/linux#5.10.227-239.884.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.7 md/pyimpl#CPython exec-env/AWS_Lambda_{runtime} cfg/retry-mode#legacy Botocore/1.34.145"
        )
    }
}

/// Terraform's AWS provider names the service client it calls with.
pub(crate) fn terraform(op: &Op) -> String {
    format!(
        "APN/1.0 HashiCorp/1.0 Terraform/1.9.5 (+https://www.terraform.io) terraform-provider-aws/5.70.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.32.0 ua/2.1 os/linux lang/go#1.23.1 md/GOOS#linux md/GOARCH#amd64 api/{}#1.38.0",
        op.service()
    )
}

/// The configure-aws-credentials action's first call; its suffix is how
/// GitHub Actions traffic is recognised.
pub(crate) const GITHUB_CREDENTIALS: &str =
    "aws-sdk-nodejs/2.1692.0 linux/v20.18.0 configure-aws-credentials-for-github-actions";

/// Docker pushing image layers to ECR.
pub(crate) const DOCKER: &str = "docker/27.3.1 go/go1.22.7 git-commit/41ca978 kernel/6.8.0-1017-azure os/linux arch/amd64 UpstreamClient(Docker-Client/27.3.1 \\(linux\\))";

/// The SSM agent on every managed instance.
pub(crate) const SSM_AGENT: &str = "aws-sdk-go/1.44.302 (go1.22.5; linux; amd64) amazon-ssm-agent/3.3.987.0";

/// The CloudWatch agent on instances that ship logs.
pub(crate) const CW_AGENT: &str =
    "aws-sdk-go/1.48.6 (go1.22.7; linux; amd64) CWAgent/1.300049.1 (go1.22.7; linux; amd64)";

/// Browsers of console users.
pub(crate) fn browser(rng: &mut SmallRng) -> &'static str {
    const BROWSERS: &[&str] = &[
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:132.0) Gecko/20100101 Firefox/132.0",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    ];
    BROWSERS[rng.random_range(0..BROWSERS.len())]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api;

    #[test]
    fn cli_commands() {
        assert_eq!(cli_command(&api::DESCRIBE_INSTANCES), "ec2.describe-instances");
        assert_eq!(cli_command(&api::GET_OBJECT), "s3.cp");
        assert_eq!(cli_command(&api::GET_BUCKET_POLICY), "s3api.get-bucket-policy");
        assert_eq!(cli_command(&api::LIST_FUNCTIONS), "lambda.list-functions");
        assert_eq!(cli_command(&api::LIST_MFA_DEVICES), "iam.list-mfa-devices");
    }
}
