//! Reading back the gateway's own Prometheus text exposition, for the exporters that need
//! the metrics as data (OTLP). prometheus-client keeps its families private and encodes
//! them only as text, so the text is the one description of every series: reading it back
//! costs the exporter a few hundred microseconds per export and the data plane nothing.
//!
//! Only what [`Metrics::encode`](super::Metrics::encode) writes is understood: `# HELP` and
//! `# TYPE` lines, then samples `name{label="value",…} number`.

/// What kind of metric a family is, from its `# TYPE` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A monotonic count (samples `x_total`).
    Counter,
    /// A value that goes up and down.
    Gauge,
    /// Buckets, sum and count (`x_bucket{le=…}`, `x_sum`, `x_count`).
    Histogram,
    /// Anything else (not written by the gateway; skipped by exporters).
    Other,
}

/// One metric family: its name as `# TYPE` gives it, its help and its samples.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Family {
    /// The family's name.
    pub name: String,
    /// Its `# HELP` text.
    pub help: String,
    /// Its kind.
    pub kind: Kind,
    /// Its samples, in the order written.
    pub samples: Vec<Sample>,
}

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sample {
    /// The sample's name (`x_total`, `x_bucket`, …).
    pub name: String,
    /// Its labels, in the order written.
    pub labels: Vec<(String, String)>,
    /// Its value.
    pub value: f64,
}

/// The families of an exposition; lines it cannot read are skipped.
pub(crate) fn parse(text: &str) -> Vec<Family> {
    let mut families: Vec<Family> = Vec::new();
    let mut help = String::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            help = rest
                .split_once(' ')
                .map(|(_, text)| text.to_owned())
                .unwrap_or_default();
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, ""));
            let kind = match kind.trim() {
                "counter" => Kind::Counter,
                "gauge" => Kind::Gauge,
                "histogram" => Kind::Histogram,
                _ => Kind::Other,
            };
            families.push(Family {
                name: name.to_owned(),
                help: std::mem::take(&mut help),
                kind,
                samples: Vec::new(),
            });
        } else if !line.starts_with('#')
            && let (Some(family), Some(sample)) = (families.last_mut(), sample(line))
        {
            family.samples.push(sample);
        }
    }
    families
}

/// One sample line: `name{labels} value [timestamp]`.
fn sample(line: &str) -> Option<Sample> {
    let name_end = line.find(['{', ' '])?;
    let name = line[..name_end].to_owned();
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(inside) = rest.strip_prefix('{') {
        let (read, after) = label_set(inside)?;
        labels = read;
        rest = after;
    }
    let value = rest.split_whitespace().next()?.parse::<f64>().ok()?;
    Some(Sample {
        name,
        labels,
        value,
    })
}

/// The labels after a `{`, and what follows the closing `}`.
fn label_set(mut text: &str) -> Option<(Vec<(String, String)>, &str)> {
    let mut labels = Vec::new();
    loop {
        text = text.trim_start_matches([',', ' ']);
        if let Some(after) = text.strip_prefix('}') {
            return Some((labels, after));
        }
        let (name, after) = text.split_once("=\"")?;
        let (value, after) = quoted(after)?;
        labels.push((name.trim().to_owned(), value));
        text = after;
    }
}

/// A label value up to its closing quote, unescaped (`\\`, `\"`, `\n`).
fn quoted(text: &str) -> Option<(String, &str)> {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return Some((value, &text[at + 1..])),
            '\\' => match chars.next()?.1 {
                'n' => value.push('\n'),
                other => value.push(other),
            },
            other => value.push(other),
        }
    }
    None
}

#[cfg(test)]
#[path = "exposition_tests.rs"]
mod tests;
