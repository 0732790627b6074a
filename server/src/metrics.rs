//! The server's counters and latency histograms, in the Prometheus text format. One registry per process
//! (a leaf: every layer may count without the state being passed to it); `render` writes them, with the
//! policy version in force per city, for the scrape endpoint on its own listener.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

type Labels = Vec<(&'static str, String)>;

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

struct Family {
    help: &'static str,
    kind: &'static str,
}

#[derive(Default)]
struct Registry {
    counters: BTreeMap<&'static str, BTreeMap<Labels, u64>>,
    histograms: BTreeMap<&'static str, BTreeMap<Labels, Histogram>>,
}

static REGISTRY: LazyLock<Mutex<Registry>> = LazyLock::new(Mutex::default);
static OPEN_CONNECTIONS: AtomicI64 = AtomicI64::new(0);

/// What each family counts, for its `# HELP` line.
fn family(name: &str) -> Family {
    let (help, kind) = match name {
        "renche_http_requests_total" => (
            "HTTP requests answered, by route, method and status",
            "counter",
        ),
        "renche_http_request_duration_seconds" => {
            ("Time to answer a request, by route", "histogram")
        }
        "renche_commits_total" => ("State changes that succeeded (2xx), by route", "counter"),
        "renche_refusals_total" => ("Error answers, by error code", "counter"),
        "renche_rule_refusals_total" => (
            "Reasons the rules gave in refusals, by reason code",
            "counter",
        ),
        "renche_sms_sent_total" => (
            "Text messages handed to the gateway, by purpose and outcome",
            "counter",
        ),
        "renche_verifications_total" => (
            "Real-person verification results taken, by outcome",
            "counter",
        ),
        "renche_store_transaction_seconds" => (
            "Store transactions from asking to answer, by kind",
            "histogram",
        ),
        "renche_store_wait_seconds" => (
            "Time a store transaction waited for a connection, by kind",
            "histogram",
        ),
        "renche_store_round_trips_total" => (
            "Round trips to the database (PostgreSQL), each one write of statements and one wait for their answers, by kind of transaction",
            "counter",
        ),
        "renche_store_statements_total" => (
            "Statements sent to the database (PostgreSQL), BEGIN and COMMIT included, by kind of transaction",
            "counter",
        ),
        "renche_connections_total" => ("Connections accepted", "counter"),
        "renche_replica_reads_total" => (
            "Reads that may be served by the standby, by where they were served (standby or primary)",
            "counter",
        ),
        _ => ("", "counter"),
    };
    Family { help, kind }
}

fn with_registry(f: impl FnOnce(&mut Registry)) {
    // A poisoned lock only means a panic elsewhere while counting: the counts are still usable.
    let mut registry = REGISTRY.lock().unwrap_or_else(|p| p.into_inner());
    f(&mut registry);
}

/// Adds one to the counter `name` with these labels.
pub fn count(name: &'static str, labels: &[(&'static str, &str)]) {
    add(name, labels, 1);
}

/// Adds `n` to the counter `name` with these labels.
pub fn add(name: &'static str, labels: &[(&'static str, &str)], n: u64) {
    let labels: Labels = labels.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
    with_registry(|r| {
        *r.counters
            .entry(name)
            .or_default()
            .entry(labels)
            .or_default() += n;
    });
}

/// Records one observation of a duration in the histogram `name`.
pub fn observe(name: &'static str, labels: &[(&'static str, &str)], took: Duration) {
    let labels: Labels = labels.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
    let secs = took.as_secs_f64();
    with_registry(|r| {
        let h = r
            .histograms
            .entry(name)
            .or_default()
            .entry(labels)
            .or_default();
        for (bound, n) in BUCKETS.iter().zip(h.counts.iter_mut()) {
            if secs <= *bound {
                *n += 1;
            }
        }
        h.count += 1;
        h.sum += secs;
    });
}

pub fn connection_opened() {
    OPEN_CONNECTIONS.fetch_add(1, Ordering::Relaxed);
    count("renche_connections_total", &[]);
}

pub fn connection_closed() {
    OPEN_CONNECTIONS.fetch_sub(1, Ordering::Relaxed);
}

/// A label value with `\`, `"` and newlines escaped.
fn escaped(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn label_text(labels: &Labels, extra: Option<(&str, &str)>) -> String {
    let mut parts: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escaped(v)))
        .collect();
    if let Some((k, v)) = extra {
        parts.push(format!("{k}=\"{v}\""));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", parts.join(","))
    }
}

fn header(out: &mut String, name: &str) {
    let f = family(name);
    let _ = writeln!(out, "# HELP {name} {}", f.help);
    let _ = writeln!(out, "# TYPE {name} {}", f.kind);
}

/// Everything counted so far, and `policies` (city, version) as `renche_policy_version_info`.
pub fn render(policies: &[(String, String)]) -> String {
    let mut out = String::new();
    with_registry(|r| {
        for (name, series) in &r.counters {
            header(&mut out, name);
            for (labels, n) in series {
                let _ = writeln!(out, "{name}{} {n}", label_text(labels, None));
            }
        }
        for (name, series) in &r.histograms {
            header(&mut out, name);
            for (labels, h) in series {
                for (bound, n) in BUCKETS.iter().zip(h.counts.iter()) {
                    let le = bound.to_string();
                    let _ = writeln!(
                        out,
                        "{name}_bucket{} {n}",
                        label_text(labels, Some(("le", &le)))
                    );
                }
                let _ = writeln!(
                    out,
                    "{name}_bucket{} {}",
                    label_text(labels, Some(("le", "+Inf"))),
                    h.count
                );
                let _ = writeln!(out, "{name}_sum{} {}", label_text(labels, None), h.sum);
                let _ = writeln!(out, "{name}_count{} {}", label_text(labels, None), h.count);
            }
        }
    });
    let _ = writeln!(
        out,
        "# HELP renche_connections_open Connections held now\n# TYPE renche_connections_open gauge\nrenche_connections_open {}",
        OPEN_CONNECTIONS.load(Ordering::Relaxed)
    );
    let _ = writeln!(
        out,
        "# HELP renche_policy_version_info The policy version in force, by city\n# TYPE renche_policy_version_info gauge"
    );
    for (city, version) in policies {
        let _ = writeln!(
            out,
            "renche_policy_version_info{{city=\"{}\",version=\"{}\"}} 1",
            escaped(city),
            escaped(version)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn renders_counters_histograms_and_escapes_labels() {
        count("renche_refusals_total", &[("code", "TEST_\"CODE\"")]);
        observe(
            "renche_store_wait_seconds",
            &[("kind", "test")],
            Duration::from_millis(3),
        );
        let text = render(&[("4419".into(), "2024-1".into())]);
        assert!(text.contains("renche_refusals_total{code=\"TEST_\\\"CODE\\\"\"} "));
        assert!(text.contains("renche_store_wait_seconds_bucket{kind=\"test\",le=\"0.005\"} "));
        assert!(text.contains("renche_store_wait_seconds_bucket{kind=\"test\",le=\"+Inf\"} "));
        assert!(text.contains("renche_policy_version_info{city=\"4419\",version=\"2024-1\"} 1"));
        assert!(text.contains("# TYPE renche_store_wait_seconds histogram"));
    }
}
