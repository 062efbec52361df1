//! The `toolbox` example server: assorted small tools that exercise the protocol
//! features a gateway must pass through (structured output, tool errors, progress
//! notifications, long-running calls, annotations).

mod params;

use std::time::Duration;

use base64::prelude::{BASE64_STANDARD, Engine as _};
use rand::Rng as _;
use rmcp::{
    Json, RoleServer, ServerHandler,
    handler::server::{router::tool::ToolRouter, wrapper::Parameters},
    model::{Implementation, ProgressNotificationParam, ServerCapabilities, ServerConfig},
    service::RequestContext,
    tool, tool_handler, tool_router,
};
use tokio_util::sync::CancellationToken;

use params::{
    AddParams, AddResult, Base64DecodeParams, CountdownParams, EchoParams, FailParams,
    MAX_COUNTDOWN_DELAY_MS, MAX_COUNTDOWN_STEPS, MAX_SLEEP_MS, RandomNumberParams, SleepParams,
    TextParams, WordCountResult,
};

const INSTRUCTIONS: &str = "A toolbox of small demo tools. `add` and `word_count` return \
structured content; `fail` and bad `base64_decode` input return tool errors; `countdown` \
reports progress when the request carries a progressToken; `sleep` waits (at most 60 s).";

/// The `toolbox` server handler.
#[derive(Debug, Clone)]
pub struct Toolbox {
    tool_router: ToolRouter<Self>,
}

impl Default for Toolbox {
    fn default() -> Self {
        Self::new()
    }
}

/// Sleeps for `duration` unless `ct` is cancelled first; returns `false` when cancelled.
async fn sleep_unless_cancelled(duration: Duration, ct: &CancellationToken) -> bool {
    tokio::select! {
        () = ct.cancelled() => false,
        () = tokio::time::sleep(duration) => true,
    }
}

#[tool_router]
impl Toolbox {
    /// Creates the server with its tool router.
    pub fn new() -> Self {
        Self {
            tool_router: Self::tool_router(),
        }
    }

    #[tool(
        description = "Return the message unchanged.",
        annotations(
            title = "Echo",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn echo(&self, Parameters(p): Parameters<EchoParams>) -> String {
        p.message
    }

    #[tool(
        description = "Add two numbers; returns structured content {a, b, sum}.",
        annotations(
            title = "Add numbers",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn add(&self, Parameters(p): Parameters<AddParams>) -> Json<AddResult> {
        Json(AddResult {
            a: p.a,
            b: p.b,
            sum: p.a + p.b,
        })
    }

    #[tool(
        description = "Count the words, lines, characters and bytes of a text (structured content).",
        annotations(
            title = "Word count",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn word_count(&self, Parameters(p): Parameters<TextParams>) -> Json<WordCountResult> {
        Json(WordCountResult::of(&p.text))
    }

    #[tool(
        description = "Reverse a text character by character.",
        annotations(
            title = "Reverse text",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn reverse_text(&self, Parameters(p): Parameters<TextParams>) -> String {
        p.text.chars().rev().collect()
    }

    #[tool(
        description = "Encode a UTF-8 text as standard padded base64.",
        annotations(
            title = "Base64 encode",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn base64_encode(&self, Parameters(p): Parameters<TextParams>) -> String {
        BASE64_STANDARD.encode(p.text.as_bytes())
    }

    #[tool(
        description = "Decode standard padded base64 into UTF-8 text; invalid input gives a tool error.",
        annotations(
            title = "Base64 decode",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn base64_decode(
        &self,
        Parameters(p): Parameters<Base64DecodeParams>,
    ) -> Result<String, String> {
        let bytes = BASE64_STANDARD
            .decode(p.data.trim())
            .map_err(|e| format!("invalid base64 input: {e}"))?;
        String::from_utf8(bytes).map_err(|e| format!("decoded bytes are not valid UTF-8: {e}"))
    }

    #[tool(
        description = "Generate a random (version 4) UUID.",
        annotations(
            title = "Random UUID",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    async fn uuid(&self) -> String {
        ::uuid::Uuid::new_v4().to_string()
    }

    #[tool(
        description = "Pick a uniformly random integer between min and max (inclusive; defaults 0 and 100).",
        annotations(
            title = "Random number",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    async fn random_number(
        &self,
        Parameters(p): Parameters<RandomNumberParams>,
    ) -> Result<String, String> {
        if p.min > p.max {
            return Err(format!(
                "min ({}) must not be greater than max ({})",
                p.min, p.max
            ));
        }
        Ok(rand::rng().random_range(p.min..=p.max).to_string())
    }

    #[tool(
        description = "Count down `steps` steps, waiting `delay_ms` before each one and sending a \
                       notifications/progress message per step when the request has a progressToken.",
        annotations(
            title = "Countdown with progress",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn countdown(
        &self,
        Parameters(p): Parameters<CountdownParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<String, String> {
        let steps = p.steps.min(MAX_COUNTDOWN_STEPS);
        let delay = Duration::from_millis(p.delay_ms.min(MAX_COUNTDOWN_DELAY_MS));
        let token = ctx.meta.get_progress_token();
        let mut sent = 0u32;
        for step in 1..=steps {
            if !sleep_unless_cancelled(delay, &ctx.ct).await {
                return Err(format!("countdown cancelled at step {step} of {steps}"));
            }
            let Some(token) = &token else { continue };
            let progress = ProgressNotificationParam::new(token.clone(), f64::from(step))
                .with_total(f64::from(steps))
                .with_message(format!("step {step} of {steps}"));
            match ctx.peer.notify_progress(progress).await {
                Ok(()) => sent += 1,
                Err(e) => tracing::debug!(error = %e, step, "failed to send progress"),
            }
        }
        Ok(format!(
            "countdown finished: {steps} steps, {sent} progress notifications sent"
        ))
    }

    #[tool(
        description = "Always fail: returns a tool error result (isError: true) with the given message.",
        annotations(
            title = "Fail on purpose",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn fail(&self, Parameters(p): Parameters<FailParams>) -> Result<String, String> {
        Err(p.message)
    }

    #[tool(
        description = "Sleep for `ms` milliseconds (capped at 60000), then report how long it slept.",
        annotations(
            title = "Sleep",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn sleep(
        &self,
        Parameters(p): Parameters<SleepParams>,
        ct: CancellationToken,
    ) -> Result<String, String> {
        let ms = p.ms.min(MAX_SLEEP_MS);
        if sleep_unless_cancelled(Duration::from_millis(ms), &ct).await {
            Ok(format!("slept {ms} ms"))
        } else {
            Err(format!("sleep of {ms} ms cancelled"))
        }
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Toolbox {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(
                Implementation::new("toolbox", env!("CARGO_PKG_VERSION"))
                    .with_title("Toolbox")
                    .with_description(crate::ExampleServer::Toolbox.description()),
            )
            .with_instructions(INSTRUCTIONS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tools_have_titles_and_structured_output_where_expected() {
        let tools = Toolbox::new().tool_router.list_all();
        assert_eq!(tools.len(), 11);
        assert!(
            tools
                .iter()
                .all(|t| t.annotations.as_ref().is_some_and(|a| a.title.is_some()))
        );
        let with_output: Vec<_> = tools.iter().filter(|t| t.output_schema.is_some()).collect();
        let mut names: Vec<_> = with_output.iter().map(|t| t.name.as_ref()).collect();
        names.sort_unstable();
        assert_eq!(names, ["add", "word_count"]);
    }
}
