//! `mcpgw policy check` and `mcpgw policy lint`: the policy engine on a file, offline,
//! with the same code the gateway decides with.

use std::process::ExitCode;

use mcpgw_policy::{Caller, Request, ServerRef, Severity, UiAction};

use crate::cli::{PolicyCheckArgs, PolicyCommand};
use crate::policy_file;

/// Exit status when the file cannot be used.
const UNUSABLE: u8 = 2;

/// Runs a `policy` subcommand; prints to stdout, errors to stderr.
pub fn run(command: PolicyCommand) -> ExitCode {
    match command {
        PolicyCommand::Check(args) => check(args),
        PolicyCommand::Lint { file, servers } => {
            let policy = match policy_file::load(&file) {
                Ok(policy) => policy,
                Err(error) => return unusable(&file, &error),
            };
            let findings = policy.lint(servers.as_deref());
            for finding in &findings {
                println!("{finding}");
            }
            let warnings = findings
                .iter()
                .filter(|finding| finding.severity == Severity::Warning)
                .count();
            println!(
                "{}: {warnings} warning(s), {} note(s)",
                file.display(),
                findings.len() - warnings
            );
            if warnings == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn check(args: PolicyCheckArgs) -> ExitCode {
    let policy = match policy_file::load(&args.file) {
        Ok(policy) => policy,
        Err(error) => return unusable(&args.file, &error),
    };
    let claim: Vec<String> = args
        .scopes_claim
        .as_deref()
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let scopes = policy.scopes_of(&Caller {
        admin: args.admin,
        groups: &args.groups,
        scope_claim: &claim,
    });
    println!("scopes: {}", scopes.names.join(" "));
    let decision = match (&args.action, &args.method) {
        (Some(action), _) => {
            let Some(action) = UiAction::from_permission(action) else {
                eprintln!(
                    "error: unknown action '{action}': use list_service, register_service, \
                     health_check_service, toggle_service or modify_service"
                );
                return ExitCode::from(UNUSABLE);
            };
            let server = ServerRef {
                path: &args.server,
                name: args.display_name.as_deref().unwrap_or(&args.server),
            };
            policy.decide_ui(&scopes, action, Some(server))
        }
        (None, Some(method)) => policy.decide(
            &scopes,
            &Request {
                server: &args.server,
                method,
                target: args.tool.as_deref(),
            },
        ),
        (None, None) => {
            eprintln!("error: give --method or --action");
            return ExitCode::from(UNUSABLE);
        }
    };
    println!("{decision}");
    if decision.allowed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn unusable(file: &std::path::Path, error: &mcpgw_policy::PolicyError) -> ExitCode {
    eprintln!("error: {}: {error}", file.display());
    ExitCode::from(UNUSABLE)
}
