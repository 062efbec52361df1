//! The `currenttime` example server: one tool that tells the time in an IANA timezone.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rmcp::{
    ServerHandler,
    handler::server::{router::tool::ToolRouter, wrapper::Parameters},
    model::{Implementation, ServerCapabilities, ServerConfig},
    tool, tool_handler, tool_router,
};
use schemars::JsonSchema;
use serde::Deserialize;

/// Timezone used when `tz_name` is omitted.
pub const DEFAULT_TIMEZONE: &str = "America/New_York";

const INSTRUCTIONS: &str = "Call `current_time_by_timezone` with an IANA timezone name \
(for example `Asia/Tokyo`, `Europe/Paris` or `UTC`) to get the current local date and time \
there. Without an argument it answers for America/New_York.";

/// Arguments of `current_time_by_timezone`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct CurrentTimeParams {
    /// IANA timezone name such as `Asia/Tokyo` or `Europe/Paris`; defaults to `America/New_York`.
    #[serde(default = "default_timezone")]
    pub tz_name: String,
}

fn default_timezone() -> String {
    DEFAULT_TIMEZONE.to_owned()
}

/// Formats `now` in the IANA timezone `tz_name`, e.g.
/// `2026-11-25 14:03:07 JST (Asia/Tokyo, UTC+09:00)`.
///
/// Returns a human-readable error message when the timezone is unknown.
pub fn format_time_in(tz_name: &str, now: DateTime<Utc>) -> Result<String, String> {
    let trimmed = tz_name.trim();
    let tz: Tz = trimmed.parse().map_err(|_| {
        format!(
            "unknown timezone {trimmed:?}: expected an IANA timezone name such as \
             \"Asia/Tokyo\", \"Europe/Paris\" or \"America/New_York\""
        )
    })?;
    let local = now.with_timezone(&tz);
    Ok(format!(
        "{} ({}, UTC{})",
        local.format("%Y-%m-%d %H:%M:%S %Z"),
        tz.name(),
        local.format("%:z")
    ))
}

/// The `currenttime` server handler.
#[derive(Debug, Clone)]
pub struct CurrentTime {
    tool_router: ToolRouter<Self>,
}

impl Default for CurrentTime {
    fn default() -> Self {
        Self::new()
    }
}

#[tool_router]
impl CurrentTime {
    /// Creates the server with its tool router.
    pub fn new() -> Self {
        Self {
            tool_router: Self::tool_router(),
        }
    }

    /// Current time in an IANA timezone.
    #[tool(
        description = "Get the current date and time in an IANA timezone \
                       (e.g. Asia/Tokyo, Europe/Paris, UTC). Defaults to America/New_York.",
        annotations(
            title = "Current time by timezone",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    async fn current_time_by_timezone(
        &self,
        Parameters(params): Parameters<CurrentTimeParams>,
    ) -> Result<String, String> {
        format_time_in(&params.tz_name, Utc::now())
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for CurrentTime {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(
                Implementation::new("currenttime", env!("CARGO_PKG_VERSION"))
                    .with_title("Current time")
                    .with_description(crate::ExampleServer::CurrentTime.description()),
            )
            .with_instructions(INSTRUCTIONS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn formats_known_timezone() {
        let now = Utc
            .with_ymd_and_hms(2026, 11, 25, 5, 3, 7)
            .single()
            .unwrap();
        assert_eq!(
            format_time_in("Asia/Tokyo", now).unwrap(),
            "2026-11-25 14:03:07 JST (Asia/Tokyo, UTC+09:00)"
        );
        assert_eq!(
            format_time_in(" America/New_York ", now).unwrap(),
            "2026-11-25 00:03:07 EST (America/New_York, UTC-05:00)"
        );
        assert_eq!(
            format_time_in("UTC", now).unwrap(),
            "2026-11-25 05:03:07 UTC (UTC, UTC+00:00)"
        );
    }

    #[test]
    fn rejects_unknown_timezone() {
        let err = format_time_in("Mars/Olympus_Mons", Utc::now()).unwrap_err();
        assert!(err.contains("Mars/Olympus_Mons"), "{err}");
        assert!(err.contains("IANA"), "{err}");
    }

    #[test]
    fn default_timezone_is_applied() {
        let params: CurrentTimeParams = serde_json::from_str("{}").unwrap();
        assert_eq!(params.tz_name, DEFAULT_TIMEZONE);
        let tools = CurrentTime::new().tool_router.list_all();
        assert_eq!(tools.len(), 1);
        assert_eq!(tools[0].name, "current_time_by_timezone");
    }
}
