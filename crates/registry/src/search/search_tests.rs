use serde_json::{Value, json};

use super::terms::for_each_term;
use super::{Candidates, LexicalIndex, ToolDocument, ToolHit, rank_candidates, rank_tools};
use crate::model::Tool;

struct Fixture {
    path: String,
    name: String,
    description: String,
    tags: Vec<String>,
    tools: Vec<Tool>,
}

fn text(value: &Value) -> String {
    value.as_str().expect("a string").to_owned()
}

/// path, name, description, tags, tools as (name, description, {param: description}).
type ServerSpec = (
    String,
    String,
    String,
    Vec<String>,
    Vec<(String, String, Value)>,
);

/// Servers from `[[path, name, description, [tags], [[tool, description, {param:
/// description}]]]]`, each tool as a server would report it.
fn servers(spec: Value) -> Vec<Fixture> {
    let spec: Vec<ServerSpec> = serde_json::from_value(spec).expect("fixture shape");
    spec.into_iter()
        .map(|(path, name, description, tags, tools)| Fixture {
            path,
            name,
            description,
            tags,
            tools: tools
                .into_iter()
                .map(|(name, description, params)| {
                    let properties: serde_json::Map<String, Value> = params
                        .as_object()
                        .expect("params object")
                        .iter()
                        .map(|(n, d)| {
                            (n.clone(), json!({"type": "string", "description": text(d)}))
                        })
                        .collect();
                    serde_json::from_value(json!({
                        "name": name,
                        "description": description,
                        "inputSchema": {"type": "object", "properties": properties},
                    }))
                    .expect("a tool")
                })
                .collect(),
        })
        .collect()
}

/// Fifteen tools across five servers, as a small registry would hold them.
fn catalogue() -> Vec<Fixture> {
    servers(json!([
        ["weather", "Weather", "Weather forecasts and alerts for US locations", ["weather", "forecast"], [
            ["get_forecast", "Get the weather forecast for a location over the next days",
                {"latitude": "Latitude of the location", "longitude": "Longitude of the location"}],
            ["get_alerts", "Get active weather alerts for a US state", {"state": "Two-letter US state code"}],
        ]],
        ["github", "GitHub", "Repositories, issues and pull requests on GitHub", ["git", "code"], [
            ["create_pull_request", "Open a new pull request from a branch", {"owner": "Repository owner",
                "repo": "Repository name", "head": "Branch with the changes", "base": "Branch to merge into"}],
            ["get_pull_request", "Get the details of a pull request", {"owner": "Repository owner",
                "repo": "Repository name", "pull_number": "Number of the pull request"}],
            ["list_pull_requests", "List pull requests in a repository", {"owner": "Repository owner",
                "repo": "Repository name", "state": "Filter by state: open, closed or all"}],
            ["merge_pull_request", "Merge a pull request", {"owner": "Repository owner",
                "repo": "Repository name", "pull_number": "Number of the pull request"}],
            ["search_repositories", "Search GitHub repositories", {"query": "Search text"}],
        ]],
        ["files", "Filesystem", "Read and write files on the local disk", ["fs"], [
            ["read_file", "Read the contents of a file", {"path": "Path of the file"}],
            ["write_file", "Write text to a file, replacing it", {"path": "Path of the file", "content": "Text to write"}],
            ["list_directory", "List the entries of a directory with their size and modification time",
                {"path": "Path of the directory"}],
        ]],
        ["toolbox", "Toolbox", "Small utilities for testing", ["demo"], [
            ["echo", "Return the message unchanged", {"message": "Text to echo back"}],
            ["add", "Add two numbers", {"a": "First number", "b": "Second number"}],
            ["base64_encode", "Encode text as base64", {"text": "Text to encode"}],
        ]],
        ["currenttime", "Current Time", "Clock and time zone utilities", ["time"], [
            ["current_time_by_timezone", "Get the current time in a timezone", {"tz_name": "IANA timezone name"}],
            ["list_timezones", "List the IANA timezone names", {}],
        ]],
    ]))
}

fn documents(fixtures: &[Fixture]) -> Vec<ToolDocument<'_>> {
    fixtures
        .iter()
        .flat_map(|s| {
            s.tools.iter().map(move |tool| ToolDocument {
                server_path: &s.path,
                server_name: &s.name,
                server_description: &s.description,
                server_tags: &s.tags,
                tool,
            })
        })
        .collect()
}

/// `server/tool` of every hit, best first.
fn names(docs: &[ToolDocument<'_>], hits: &[ToolHit]) -> Vec<String> {
    hits.iter()
        .map(|h| format!("{}/{}", docs[h.index].server_path, docs[h.index].tool.name))
        .collect()
}

fn terms(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for_each_term(text, &mut String::new(), &mut |t| out.push(t.to_owned()));
    out
}

#[test]
fn the_catalogue_is_realistic() {
    let fixtures = catalogue();
    assert_eq!(fixtures.len(), 5);
    assert_eq!(documents(&fixtures).len(), 15);
}

#[test]
fn asking_the_time_finds_the_clock() {
    let fixtures = catalogue();
    let docs = documents(&fixtures);
    let hits = rank_tools("what time is it in Tokyo", &docs, 5, 5);
    let found = names(&docs, &hits);
    assert_eq!(
        found.first().map(String::as_str),
        Some("currenttime/current_time_by_timezone"),
        "{found:?}"
    );
    // "time" also appears in list_directory's description, far below.
    assert!(
        found.contains(&"files/list_directory".to_owned()),
        "{found:?}"
    );
}

#[test]
fn opening_a_pull_request_finds_create() {
    let fixtures = catalogue();
    let docs = documents(&fixtures);
    let hits = rank_tools("open a pull request", &docs, 3, 10);
    let found = names(&docs, &hits);
    assert_eq!(
        found.first().map(String::as_str),
        Some("github/create_pull_request"),
        "{found:?}"
    );
    assert!(found.iter().all(|n| n.starts_with("github/")), "{found:?}");
}

#[test]
fn other_tasks_find_their_tools() {
    let fixtures = catalogue();
    let docs = documents(&fixtures);
    for (query, expected) in [
        ("Forecasting the weather in Boston", "weather/get_forecast"),
        ("save some text into a file", "files/write_file"),
        ("encode a string in Base64", "toolbox/base64_encode"),
        ("which timezones exist", "currenttime/list_timezones"),
        ("sum of two numbers", "toolbox/add"),
    ] {
        let found = names(&docs, &rank_tools(query, &docs, 5, 3));
        assert_eq!(
            found.first().map(String::as_str),
            Some(expected),
            "{query}: {found:?}"
        );
    }
}

#[test]
fn identifiers_split_on_case_and_separators() {
    assert_eq!(terms("getPullRequest"), ["get", "pull", "request"]);
    assert_eq!(
        terms("current_time_by_timezone"),
        terms("current time timezone")
    );
    assert_eq!(terms("list-pull-requests"), terms("list pull request"));
    assert_eq!(
        terms("HTTPServer parseJSONBody"),
        terms("http server parse json body")
    );
    assert_eq!(terms("base64Encode"), terms("base64 encode"));
    // A query in plain words finds a camelCase tool.
    let fixtures = servers(json!([[
        "gh",
        "GH",
        "",
        [],
        [["getPullRequest", "", {}], ["listIssues", "", {}]]
    ]]));
    let docs = documents(&fixtures);
    assert_eq!(
        names(&docs, &rank_tools("get pull request", &docs, 1, 5)),
        ["gh/getPullRequest"]
    );
}

#[test]
fn inflections_meet_and_stop_words_go() {
    assert_eq!(terms("times"), terms("time"));
    assert_eq!(terms("forecasting"), terms("forecast"));
    assert_eq!(terms("forecasts"), terms("forecast"));
    assert_eq!(terms("created creating"), terms("create create"));
    assert_eq!(terms("queries"), terms("query"));
    assert_eq!(terms("classes boxes"), terms("class box"));
    assert_eq!(terms("String strings"), ["string", "string"]);
    assert_eq!(terms("What is the time in Tokyo?"), terms("time tokyo"));
    assert!(
        terms("Could you please tell me what it is?")
            .iter()
            .eq(["tell"])
    );
    assert_eq!(terms("Zeit für Käse"), ["zeit", "für", "käse"]);
}

#[test]
fn top_k_services_limits_the_servers() {
    let fixtures = catalogue();
    let docs = documents(&fixtures);
    let query = "read a file then open a pull request";
    let servers = |hits: &[ToolHit]| {
        let mut paths: Vec<&str> = hits.iter().map(|h| docs[h.index].server_path).collect();
        paths.sort_unstable();
        paths.dedup();
        paths
    };
    let wide = rank_tools(query, &docs, 5, 20);
    assert!(servers(&wide).len() >= 2, "{:?}", names(&docs, &wide));
    let one = rank_tools(query, &docs, 1, 20);
    assert_eq!(servers(&one).len(), 1, "{:?}", names(&docs, &one));
    // The chosen server's tools keep their order and scores.
    let same: Vec<ToolHit> = wide
        .iter()
        .filter(|h| docs[h.index].server_path == servers(&one)[0])
        .copied()
        .collect();
    assert_eq!(one, same);
}

#[test]
fn limits_of_zero_or_too_large() {
    let fixtures = catalogue();
    let docs = documents(&fixtures);
    assert!(rank_tools("pull request", &docs, 0, 5).is_empty());
    assert!(rank_tools("pull request", &docs, 5, 0).is_empty());
    assert!(rank_tools("pull request", &[], 5, 5).is_empty());
    let all = rank_tools("pull request", &docs, 1000, 1000);
    // Four tools say "pull request"; search_repositories matches through its server's text.
    assert_eq!(all.len(), 5, "{:?}", names(&docs, &all));
    assert_eq!(rank_tools("pull request", &docs, 5, 2), all[..2]);
}

#[test]
fn nothing_searchable_finds_nothing() {
    let fixtures = catalogue();
    let docs = documents(&fixtures);
    for query in [
        "",
        "   ",
        "what is it to me?",
        "the a an of",
        "?!-_",
        "zzyzx",
    ] {
        assert!(rank_tools(query, &docs, 5, 5).is_empty(), "{query:?}");
    }
}

#[test]
fn ties_break_by_server_path_then_tool_name() {
    let twin = |path| {
        json!([
            path,
            "Mirror",
            "A mirror",
            [],
            [
                ["beta_echo", "Echo text back", {}],
                ["alpha_echo", "Echo text back", {}]
            ]
        ])
    };
    let fixtures = servers(json!([twin("zeta"), twin("alpha"), twin("mid")]));
    let docs = documents(&fixtures);
    let hits = rank_tools("echo", &docs, 10, 10);
    let expected = [
        "alpha/alpha_echo",
        "alpha/beta_echo",
        "mid/alpha_echo",
        "mid/beta_echo",
        "zeta/alpha_echo",
        "zeta/beta_echo",
    ];
    assert_eq!(names(&docs, &hits), expected);
    assert!(hits.windows(2).all(|w| w[0].score == w[1].score));
    // The same answer whatever the order of the documents, and on every call.
    let mut reversed = docs.clone();
    reversed.reverse();
    assert_eq!(
        names(&reversed, &rank_tools("echo", &reversed, 10, 10)),
        expected
    );
    assert_eq!(rank_tools("echo", &docs, 10, 10), hits);
    // top_k_services applies the same tie-break to servers.
    assert_eq!(
        names(&docs, &rank_tools("echo", &docs, 1, 10)),
        expected[..2]
    );
}

#[test]
fn scores_are_bounded_and_descending() {
    let fixtures = catalogue();
    let docs = documents(&fixtures);
    for query in [
        "what time is it in Tokyo",
        "open a pull request",
        "file",
        "weather alerts for Texas",
        "echo echo echo",
        "repository owner name path text",
    ] {
        let hits = rank_tools(query, &docs, 5, 15);
        assert!(!hits.is_empty(), "{query}");
        assert!(
            hits.iter().all(|h| h.score > 0.0 && h.score <= 1.0),
            "{query}: {hits:?}"
        );
        assert!(
            hits.windows(2).all(|w| w[0].score >= w[1].score),
            "{query}: {hits:?}"
        );
    }
}

#[test]
fn hidden_tools_move_no_score_of_the_rows_a_caller_sees() {
    let fixtures = catalogue();
    let all = documents(&fixtures);
    let index = LexicalIndex::build(&all);
    // Callers that see everything, every other tool, or all but the pull-request server.
    let subsets: [Vec<usize>; 3] = [
        (0..all.len()).collect(),
        (0..all.len()).step_by(2).collect(),
        (0..all.len())
            .filter(|&i| all[i].server_path != "github")
            .collect(),
    ];
    let queries = [
        "open a pull request",
        "what time is it in Tokyo",
        "read the file contents",
        "weather alerts for my state",
        "list things",
    ];
    for rows in &subsets {
        let seen: Vec<ToolDocument<'_>> = rows.iter().map(|&row| all[row]).collect();
        let through_big = Candidates {
            index: &index,
            documents: &seen,
            rows,
        };
        let own_index = LexicalIndex::build(&seen);
        let own_rows: Vec<usize> = (0..seen.len()).collect();
        for query in queries {
            // Exactly the scores of a catalogue holding only what the caller sees.
            let big = index.score(query, rows);
            let small = own_index.score(query, &own_rows);
            assert_eq!(big.scores, small.scores, "{query} over {rows:?}");
            assert_eq!(big.coverage, small.coverage, "{query} over {rows:?}");
            assert_eq!(
                rank_candidates(query, &through_big, None, 5, 5),
                rank_tools(query, &seen, 5, 5),
                "{query} over {rows:?}"
            );
        }
    }
    // And the pull-request tools are really found when visible.
    let everything: Vec<usize> = (0..all.len()).collect();
    let hits = index.score("open a pull request", &everything);
    assert!(hits.scores.iter().any(|score| *score > 0.5));
}
