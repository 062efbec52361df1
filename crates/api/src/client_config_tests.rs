//! Every snippet keeps its values where the client reads them, and no name, URL or token can
//! escape its string, whatever characters it holds.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

use super::{CLIENTS, Snippet, TOKEN_PLACEHOLDER, Target, snippets};

const PLAIN: Target<'static> = Target {
    name: "mcpgw-weather",
    url: "http://127.0.0.1:7860/weather/mcp",
    token: Some("tok123"),
    discovery: false,
};

/// Quotes of both kinds, backslashes, `$` expansions, backticks, spaces, newlines, a tab,
/// an escape character and markup.
const NASTY: Target<'static> = Target {
    name: "we\"ird 'name' $HOME `id` \\ \n2nd line",
    url: "http://host/a b?x='1'&y=\"2\"#$(touch /tmp/pwned)\\",
    token: Some("to\"k'en $(id) ${HOME} `x` \\n \\ \n\tend\u{1b}</script>"),
    discovery: false,
};

fn snippet<'a>(all: &'a [Snippet], client: &str) -> &'a Snippet {
    all.iter()
        .find(|s| s.client == client)
        .unwrap_or_else(|| panic!("no {client} snippet"))
}

fn text_of(target: &Target, client: &str) -> String {
    snippet(&snippets(target), client).text.clone()
}

fn bearer(target: &Target) -> String {
    format!("Bearer {}", target.token.unwrap_or(TOKEN_PLACEHOLDER))
}

/// Checks one JSON snippet: a single top-level key, a single server named `target.name`,
/// the URL, the header and the transport key where the client reads them.
fn check_json(text: &str, top: &str, transport: Option<&str>, target: &Target) {
    let doc: Value = serde_json::from_str(text).expect("snippet is JSON");
    let root = doc.as_object().expect("object");
    assert_eq!(root.len(), 1, "{text}");
    let servers = root[top].as_object().expect("servers object");
    assert_eq!(servers.len(), 1, "{text}");
    let server = &servers[target.name];
    assert_eq!(server["url"], target.url);
    assert_eq!(server["headers"]["Authorization"], bearer(target).as_str());
    assert_eq!(server["headers"].as_object().map(|h| h.len()), Some(1));
    match transport {
        Some(kind) => assert_eq!(server["type"], kind),
        None => assert!(server.get("type").is_none(), "{text}"),
    }
}

fn check_all_json(target: &Target) {
    let all = snippets(target);
    check_json(
        &snippet(&all, "vscode").text,
        "servers",
        Some("http"),
        target,
    );
    check_json(&snippet(&all, "cursor").text, "mcpServers", None, target);
    let cline = &snippet(&all, "cline").text;
    check_json(cline, "mcpServers", Some("streamableHttp"), target);
    let roo = &snippet(&all, "roo-code").text;
    check_json(roo, "mcpServers", Some("streamable-http"), target);
}

/// Runs the Claude Code command in `sh` with `claude` replaced by a function printing its
/// arguments, so the test sees exactly the words the shell would pass.
fn shell_words(command: &str) -> Vec<String> {
    let script =
        format!("claude() {{ for a in \"$@\"; do printf '%s\\0' \"$a\"; done; }}\n{command}");
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .output()
        .expect("sh runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let mut words: Vec<String> = text.split('\0').map(str::to_owned).collect();
    assert_eq!(words.pop().as_deref(), Some(""), "output ends with NUL");
    words
}

fn check_shell(target: &Target) {
    let all = snippets(target);
    let expected = [
        "mcp",
        "add",
        "--transport",
        "http",
        target.name,
        target.url,
        "--header",
        &format!("Authorization: {}", bearer(target)),
    ];
    assert_eq!(shell_words(&snippet(&all, "claude-code").text), expected);
}

/// The literal assigned on the line starting with `prefix`, read back as JSON: it must be
/// one whole string literal followed only by `suffix`, so nothing leaks out of the quotes.
fn literal_after(text: &str, prefix: &str, suffix: &str) -> String {
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no line starting with {prefix:?} in\n{text}"));
    let literal = line.strip_suffix(suffix).expect("suffix");
    serde_json::from_str(literal).expect("one JSON string literal")
}

fn check_programs(target: &Target) {
    let all = snippets(target);
    let token = target.token.unwrap_or(TOKEN_PLACEHOLDER);
    let py = &snippet(&all, "python").text;
    assert_eq!(literal_after(py, "URL = ", ""), target.url);
    assert_eq!(literal_after(py, "TOKEN = ", ""), token);
    let ts = &snippet(&all, "typescript").text;
    assert_eq!(literal_after(ts, "const url = new URL(", ");"), target.url);
    assert_eq!(literal_after(ts, "const token = ", ";"), token);
    // Escaping never adds lines: the programs have the same shape for any value.
    let plain = snippets(&PLAIN);
    for client in ["python", "typescript"] {
        let lines = |s: &[Snippet]| snippet(s, client).text.lines().count();
        assert_eq!(lines(&all), lines(&plain), "{client}");
    }
}

#[test]
fn offers_every_client_once() {
    let all = snippets(&PLAIN);
    let ids: Vec<&str> = all.iter().map(|s| s.client).collect();
    let expected = [
        "vscode",
        "cursor",
        "claude-code",
        "cline",
        "roo-code",
        "json",
        "python",
        "typescript",
    ];
    assert_eq!(ids, expected);
    assert_eq!(ids, CLIENTS);
    for s in &all {
        assert!(!s.title.is_empty() && !s.file.is_empty(), "{}", s.client);
        let languages = ["json", "shell", "python", "typescript"];
        assert!(languages.contains(&s.language), "{}", s.client);
        assert!(s.text.ends_with('\n'), "{}", s.client);
    }
}

#[test]
fn json_snippets_put_url_and_token_where_clients_read_them() {
    check_all_json(&PLAIN);
    let vscode = &snippets(&PLAIN)[0].text;
    assert!(
        vscode.contains("\n  \"servers\": {\n"),
        "pretty-printed:\n{vscode}"
    );
}

#[test]
fn json_snippets_escape_hostile_values() {
    check_all_json(&NASTY);
}

#[test]
fn shell_command_passes_each_value_as_one_word() {
    check_shell(&PLAIN);
    check_shell(&NASTY);
    let with_quote = Target {
        name: "'",
        url: "''",
        token: Some("'\\''"),
        discovery: false,
    };
    check_shell(&with_quote);
}

#[test]
fn shell_command_leaves_plain_words_bare() {
    let text = text_of(&PLAIN, "claude-code");
    assert_eq!(
        text,
        "claude mcp add --transport http mcpgw-weather http://127.0.0.1:7860/weather/mcp \\\n  \
         --header 'Authorization: Bearer tok123'\n"
    );
}

#[test]
fn programs_embed_values_as_single_literals() {
    check_programs(&PLAIN);
    check_programs(&NASTY);
}

#[test]
fn missing_token_becomes_the_placeholder_everywhere() {
    let target = Target {
        token: None,
        ..PLAIN
    };
    check_all_json(&target);
    check_shell(&target);
    check_programs(&target);
    for s in snippets(&target) {
        assert!(s.text.contains(TOKEN_PLACEHOLDER), "{}", s.client);
        assert!(!s.text.contains("tok123"), "{}", s.client);
    }
}

/// Pipes `input` to `program args…` and returns its stdout.
fn run_with_stdin(program: &str, args: &[&str], input: &str) -> String {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// With `MCPGW_TEST_PYTHON` (set by `scripts/test`) naming an interpreter,
/// the Python snippet must parse, and its `URL` and `TOKEN` must evaluate to the exact
/// values.
#[test]
fn python_snippet_parses_with_a_real_interpreter() {
    let Ok(python) = std::env::var("MCPGW_TEST_PYTHON") else {
        eprintln!("MCPGW_TEST_PYTHON not set; skipped");
        return;
    };
    let read_back = "import ast, json, sys\n\
        tree = ast.parse(sys.stdin.read())\n\
        found = {t.id: ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign)\n\
                 for t in n.targets if isinstance(t, ast.Name)}\n\
        print(json.dumps([found['URL'], found['TOKEN']]))";
    for target in [PLAIN, NASTY] {
        let text = text_of(&target, "python");
        let out = run_with_stdin(&python, &["-c", read_back], &text);
        let values: Vec<String> = serde_json::from_str(&out).expect("json");
        assert_eq!(values, [target.url, target.token.unwrap_or_default()]);
    }
}

/// When `scripts/test` has installed the npm packages (`MCPGW_TEST_NODE_MODULES`), `node`
/// is on the path and the TypeScript snippet (annotation-free, so
/// also JavaScript) must pass `--check` as a module, and its literals must evaluate to the
/// exact values.
#[test]
fn typescript_snippet_parses_with_node() {
    if std::env::var_os("MCPGW_TEST_NODE_MODULES").is_none() {
        eprintln!("MCPGW_TEST_NODE_MODULES not set; skipped");
        return;
    }
    let node = "node".to_owned();
    for target in [PLAIN, NASTY] {
        let text = text_of(&target, "typescript");
        run_with_stdin(&node, &["--input-type=module", "--check"], &text);
        let url = text
            .lines()
            .find_map(|l| l.strip_prefix("const url = new URL("));
        let token = text.lines().find_map(|l| l.strip_prefix("const token = "));
        let (Some(url), Some(token)) = (url, token) else {
            panic!("literal lines missing:\n{text}");
        };
        let url = url.strip_suffix(");").expect("url line");
        let token = token.strip_suffix(';').expect("token line");
        let program = format!("process.stdout.write(JSON.stringify([{url}, {token}]))");
        let out = run_with_stdin(&node, &["--input-type=module"], &program);
        let values: Vec<String> = serde_json::from_str(&out).expect("json");
        assert_eq!(values, [target.url, target.token.unwrap_or_default()]);
    }
}

#[test]
fn discovery_configs_carry_no_credential_and_no_programs() {
    let target = Target {
        discovery: true,
        ..PLAIN
    };
    let all = snippets(&target);
    let clients: Vec<&str> = all.iter().map(|s| s.client).collect();
    assert_eq!(clients, &CLIENTS[..6], "no SDK program without a token");
    for s in &all {
        assert!(!s.text.contains("tok123"), "{}", s.client);
        assert!(!s.text.contains("Authorization"), "{}", s.client);
        assert!(s.text.contains(target.url), "{}", s.client);
    }
    let vscode: Value = serde_json::from_str(&snippet(&all, "vscode").text).unwrap();
    assert_eq!(vscode["servers"][target.name]["type"], "http");
    assert!(vscode["servers"][target.name].get("headers").is_none());
    assert_eq!(
        snippet(&all, "claude-code").text,
        format!(
            "claude mcp add --transport http {} {}\n",
            target.name, target.url
        )
    );
}

#[test]
fn the_generic_json_is_one_connection() {
    for target in [PLAIN, NASTY] {
        let json: Value = serde_json::from_str(&text_of(&target, "json")).unwrap();
        assert_eq!(json["name"], target.name);
        assert_eq!(json["url"], target.url);
        assert_eq!(json["transport"], "streamable-http");
        assert_eq!(json["headers"]["Authorization"], bearer(&target).as_str());
    }
    assert_eq!(
        CLIENTS.len(),
        snippets(&PLAIN).len(),
        "every client has a snippet"
    );
    assert!(super::snippet(&PLAIN, "emacs").is_none());
}
