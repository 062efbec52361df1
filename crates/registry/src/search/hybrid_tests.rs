use serde_json::json;

use super::{
    SEMANTIC_WEIGHT, ToolDocument, best_cosine, fuse, matched_fields, rank_by_scores, rank_tools,
    rank_tools_hybrid,
};
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
fn fusion_weighs_words_and_meaning() {
    let w = SEMANTIC_WEIGHT;
    // Documents: both signals, meaning alone, words alone, neither, opposite meaning.
    let lexical = [0.5, 0.0, 0.8, 0.0, 0.0];
    let cosine = [0.4, 0.6, 0.0, 0.0, -0.7];
    let fused = fuse(&lexical, &cosine, w);
    assert_eq!(fused.len(), lexical.len());
    assert!((fused[0] - (w * 0.4 + (1.0 - w) * 0.5)).abs() < 1e-6);
    assert!((fused[1] - w * 0.6).abs() < 1e-6, "found by meaning alone");
    assert!(
        (fused[2] - (1.0 - w) * 0.8).abs() < 1e-6,
        "found by words alone"
    );
    assert_eq!(fused[3], 0.0, "no match is 0");
    assert_eq!(fused[4], 0.0, "an opposite meaning is no match");
    // Meaning weighs more than words: a strong cosine beats strong words alone, and a
    // document with both beats one with words alone.
    assert!(fused[1] > fused[2] && fused[0] > fused[2]);
    // The ends of the weight are one signal each.
    assert_eq!(fuse(&lexical, &cosine, 0.0), lexical);
    let meaning_only = fuse(&lexical, &cosine, 1.0);
    assert!((meaning_only[1] - 0.6).abs() < 1e-6 && meaning_only[2] == 0.0);
}

#[test]
fn fused_scores_stay_in_range_whatever_comes_in() {
    // Rounding can push a cosine past 1; a broken score must not poison the ranking.
    let fused = fuse(&[1.0, f64::NAN, 2.0, 0.3], &[1.001, 0.5, 1.0], 0.75);
    assert!(
        fused.iter().all(|score| (0.0..=1.0).contains(score)),
        "{fused:?}"
    );
    assert_eq!(fused[0], 1.0);
    assert!((fused[1] - 0.375).abs() < 1e-6, "NaN words count as none");
    // A document without a cosine (not embedded yet) is scored by its words.
    assert!((fused[3] - 0.25 * 0.3).abs() < 1e-6);
    // A NaN weight falls back to the served one instead of zeroing everything.
    assert_eq!(
        fuse(&[0.5], &[0.5], f64::NAN),
        fuse(&[0.5], &[0.5], SEMANTIC_WEIGHT)
    );
}

#[test]
fn a_tool_is_as_close_as_its_closest_text() {
    assert_eq!(
        best_cosine(&[0.2, 0.5, -0.1], &[0.4, 0.3]),
        [0.4, 0.5, -0.1]
    );
    assert!(best_cosine(&[], &[]).is_empty());
}

#[test]
fn hybrid_ranks_both_signals_before_either_alone() {
    let tools = [
        tool("get_weather", "Current weather for a city"),
        tool("forecast", "Rain and sunshine in the days ahead"),
        tool("weather_alerts", "Official warnings"),
        tool("create_issue", "Open an issue in a repository"),
    ];
    let paths = ["met", "met", "met", "github"];
    let documents = documents(&tools, &paths);
    // "weather" is in the words of 0 and 2 (and 0's meaning), 1 is close in meaning only,
    // 2 is not embedded yet (no cosine), 3 matches nothing.
    let cosine = [0.55, 0.5, 0.0, 0.05];
    let hits = rank_tools_hybrid("weather tomorrow", &documents, &cosine[..2], 2, 4);
    let order: Vec<usize> = hits.iter().map(|hit| hit.index).collect();
    assert_eq!(order, [0, 1, 2], "{hits:?}");
    assert!(hits.windows(2).all(|pair| pair[0].score >= pair[1].score));
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
