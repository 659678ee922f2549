//! `keytrail contain`: the plan that contains a stolen access key, and the changes keytrail
//! makes of it with the AWS SDK.
//!
//! ```text
//!  --access-key-id KEY [--user] [--role]   or   keytrail investigate --format json
//!                  └──────────────┬──────────────────┘
//!                              Target          (target: key, owner, roles, persistence)
//!                                 ▼
//!                               Plan           (plan: 8 ordered steps, AWS CLI commands,
//!                                 │             policies; cleanup: step 4)
//!                 render::text / JSON          dry run: printed, nothing changed
//!                                 │
//!        --apply: Applier::survey ─► confirm ─► Applier::execute ─► audit log (JSON lines)
//!                                                                      │
//!                                        --undo LOG: undo::reverse ◄───┘
//! ```
//!
//! - [`policy`] holds the two temporary policies: deny-all on the user, and AWS's "revoke
//!   older sessions" (`aws:TokenIssueTime`) on each role.
//! - [`apply`] reads before it writes, so a second run changes nothing, and every change's
//!   prior state is in the audit log for [`undo`].
//! - Only steps 1–3 (and 6, `--release`) are ever applied: they are reversible. Clean-up and
//!   deletion destroy evidence and are left to a person after forensics.
//! - No secret is ever read or written: keys are handled by their ids only.

pub mod apply;
pub mod audit;
mod cleanup;
mod command;
pub mod plan;
pub mod policy;
pub mod render;
pub mod target;
pub mod undo;

pub use apply::{Applier, ApplyError, AwsOptions};
pub use plan::{Mode, Plan};
pub use target::Target;
