use super::*;

const TEXT: &str = r#"# HELP calls_total Calls.
# TYPE calls_total counter
calls_total{server="a",note="say \"hi\"\\n, ok"} 3
calls_total 1
# HELP wait_seconds Waits.
# TYPE wait_seconds histogram
wait_seconds_bucket{server="a",le="0.5"} 1
wait_seconds_bucket{server="a",le="+Inf"} 2
wait_seconds_sum{server="a"} 1.25
wait_seconds_count{server="a"} 2
# TYPE open gauge
open -1
not a sample
"#;

#[test]
fn families_samples_and_escaped_labels_are_read_back() {
    let families = parse(TEXT);
    let kinds: Vec<(&str, Kind, usize)> = families
        .iter()
        .map(|family| (family.name.as_str(), family.kind, family.samples.len()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("calls_total", Kind::Counter, 2),
            ("wait_seconds", Kind::Histogram, 4),
            ("open", Kind::Gauge, 1),
        ]
    );
    assert_eq!(families[0].help, "Calls.");
    assert_eq!(families[2].help, "", "help belongs to its own family only");
    let first = &families[0].samples[0];
    assert_eq!(
        first.labels,
        [
            ("server".to_owned(), "a".to_owned()),
            ("note".to_owned(), "say \"hi\"\\n, ok".to_owned()),
        ]
    );
    assert_eq!(first.value, 3.0);
    assert!(families[0].samples[1].labels.is_empty());
    assert_eq!(families[1].samples[1].labels[1].1, "+Inf");
    assert_eq!(families[2].samples[0].value, -1.0);
}

#[test]
fn a_newline_escape_is_read_as_a_newline() {
    let families = parse("# TYPE x gauge\nx{a=\"1\\n2\"} 5\n");
    assert_eq!(families[0].samples[0].labels[0].1, "1\n2");
}

#[test]
fn unterminated_labels_lose_only_their_line() {
    let families = parse("# TYPE x gauge\nx{a=\"1} 5\nx{a=\"2\"} 6\n");
    assert_eq!(families[0].samples.len(), 1);
    assert_eq!(families[0].samples[0].value, 6.0);
}
