use serde_json::json;

use super::{ToolDocument, matched_fields, rank_by_scores, rank_tools, rank_tools_hybrid};
use crate::model::Tool;

fn tool(name: &str, description: &str) -> Tool {
    Tool {
        name: name.into(),
        title: None,
        description: Some(description.into()),
        input_schema: json!({"type": "object"}),
        output_schema: None,
        annotations: None,
    }
}

/// One document per tool, on the server of the same position in `paths`.
fn documents<'a>(tools: &'a [Tool], paths: &[&'a str]) -> Vec<ToolDocument<'a>> {
    tools
        .iter()
        .zip(paths)
        .map(|(tool, path)| ToolDocument {
            server_path: path,
            server_name: path,
            server_description: "",
            server_tags: &[],
            tool,
        })
        .collect()
}

#[test]
fn meaning_finds_what_words_miss_and_words_still_count() {
    let tools = [
        tool(
            "current_time_by_timezone",
            "Current date and time in a timezone",
        ),
        tool("forecast", "Weather forecast for a city"),
        tool("create_issue", "Open an issue in a repository"),
    ];
    let paths = ["clock", "weather", "github"];
    let documents = documents(&tools, &paths);
    // "What hour is it in Osaka" shares no searchable word with any tool.
    let query = "what hour is it in Osaka";
    assert!(rank_tools(query, &documents, 3, 3).is_empty());
    // Its embedding is closest to the clock tool's.
    let cosine = [0.62, 0.21, 0.05];
    let hits = rank_tools_hybrid(query, &documents, &cosine, 3, 1);
    assert_eq!(hits[0].index, 0);
    // Words break a near tie in meaning.
    let cosine = [0.30, 0.31, 0.10];
    let hits = rank_tools_hybrid("timezone", &documents, &cosine, 3, 3);
    assert_eq!(hits[0].index, 0, "{hits:?}");
    // Negative similarities count as none, and scores stay within 0..=1.
    let hits = rank_tools_hybrid("forecast", &documents, &[-0.5, 0.9, -1.0], 3, 3);
    assert_eq!(hits.len(), 1);
    assert!(hits.iter().all(|hit| (0.0..=1.0).contains(&hit.score)));
}

#[test]
fn given_scores_are_ranked_in_two_stages() {
    let tools = [tool("a", ""), tool("b", ""), tool("c", ""), tool("d", "")];
    let paths = ["one", "one", "two", "three"];
    let documents = documents(&tools, &paths);
    let scores = [0.9, 0.8, 0.85, 0.0];
    let coverage = Default::default();
    let top_server = rank_by_scores(&documents, &scores, &coverage, 1, 5);
    let indices: Vec<usize> = top_server.iter().map(|hit| hit.index).collect();
    assert_eq!(indices, [0, 1], "only the best server's tools");
    let all = rank_by_scores(&documents, &scores, &coverage, 5, 5);
    let indices: Vec<usize> = all.iter().map(|hit| hit.index).collect();
    assert_eq!(indices, [0, 2, 1], "a tool scoring 0 is never returned");
    assert!(rank_by_scores(&documents, &scores, &coverage, 0, 5).is_empty());
}

#[test]
fn matched_fields_say_why_a_tool_was_found() {
    let tool = Tool {
        name: "current_time_by_timezone".into(),
        title: None,
        description: Some("The date and hour somewhere".into()),
        input_schema: json!({"properties": {"tz_name": {"description": "IANA zone, e.g. Asia/Tokyo"}}}),
        output_schema: None,
        annotations: None,
    };
    let document = ToolDocument {
        server_path: "clock",
        server_name: "Clock",
        server_description: "Tells the time",
        server_tags: &[],
        tool: &tool,
    };
    assert_eq!(
        matched_fields("time in Tokyo", &document),
        ["name", "parameters", "server"]
    );
    assert_eq!(matched_fields("which hour", &document), ["description"]);
    assert!(matched_fields("weather", &document).is_empty());
}
