//! The SSRF guard over an import's plan: a server whose URL is a denied address (or a
//! name resolving to one) is not imported. Checked before anything is written, like the
//! rest of the plan: an import proper fails with every such entry listed; a planned
//! import or a synchronisation reports the entry as invalid and imports the others.

use super::plan::{Plan, Step};
use super::report::{Action, ImportRequest};
use crate::error::RegistryError;
use crate::model::now;
use crate::service::RegistryService;

/// `plan` without the steps whose server the network policy refuses (lenient), or the
/// refusal of the whole import.
pub(super) async fn refuse_denied(
    registry: &RegistryService,
    request: &ImportRequest,
    plan: Plan,
) -> Result<Plan, RegistryError> {
    let lenient = request.sync || request.dry_run;
    let Plan { mut items, steps } = plan;
    let mut kept = Vec::with_capacity(steps.len());
    let mut problems = Vec::new();
    for step in steps {
        let (name, server) = match &step {
            Step::Create(candidate, path) => {
                let mut input = candidate.input.clone();
                input.path = Some(path.clone());
                (candidate.name.clone(), input.into_new_server(now()))
            }
            Step::Update(update) => {
                let (candidate, input, existing, _) = update.as_ref();
                (
                    candidate.name.clone(),
                    input.clone().apply_to(existing, now()),
                )
            }
            Step::Remove(..) => {
                kept.push(step);
                continue;
            }
        };
        // An input that does not apply fails when the step is carried out, with its own
        // message.
        let refused = match server {
            Ok(server) => registry.refuse_denied_url(&server).await.err(),
            Err(_) => None,
        };
        match refused {
            None => kept.push(step),
            Some(error) if lenient => {
                for item in items.iter_mut().filter(|item| item.name == name) {
                    item.action = Action::Invalid;
                    item.detail = Some(error.to_string());
                }
            }
            Some(error) => problems.push(format!("{name}: {error}")),
        }
    }
    if !problems.is_empty() {
        return Err(RegistryError::invalid(
            "import",
            format!(
                "nothing was imported; fix these entries: {}",
                problems.join("; ")
            ),
        ));
    }
    Ok(Plan { items, steps: kept })
}
