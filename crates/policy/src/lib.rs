//! Who may do what: the `scopes.yml` access policy and its decision function.
//!
//! The file format is the Python MCP gateway's, read unchanged ([`Policy::parse`]):
//! `group_mappings` turn a caller's groups into scopes, every other top-level key is a
//! scope granting `{server, methods, tools}` entries on MCP routes, and `UI-Scopes` grant
//! registry actions. mcpgw adds `*`/`all` and glob patterns (`get_*`) in names and a
//! per-entry `deny` list that wins over any allow.
//!
//! Everything here is pure: no I/O, no clock, no globals. The data plane resolves a
//! caller's scopes once per request ([`Policy::scopes_of`]) and asks
//! [`Policy::decide`] for each message; the registry API asks [`Policy::decide_ui`]. Every
//! answer carries its [`Reason`], for the audit trail and for `mcpgw policy check`.

mod decide;
mod error;
mod file;
mod lint;
mod outline;
mod pattern;
mod policy;
mod reason;
mod shared;
mod ui;

pub use decide::{HOUSEKEEPING, Request, TARGETED, ToolFilter, is_ambiguous_target};
pub use error::PolicyError;
pub use lint::{Finding, Severity};
pub use outline::{EntryOutline, PolicyOutline, ScopeOutline};
pub use pattern::Pattern;
pub use policy::{Caller, MAX_POLICY_BYTES, Policy, Scopes};
pub use reason::{Decision, Grant, Reason};
pub use shared::SharedPolicy;
pub use ui::{ServerRef, UiAction};
