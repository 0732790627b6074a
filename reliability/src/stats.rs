//! Small statistics helpers for latency figures.

use std::time::Duration;

/// Latencies collected during a run.
#[derive(Clone, Debug, Default)]
pub struct Latencies {
    micros: Vec<u64>,
}

impl Latencies {
    pub fn push(&mut self, d: Duration) {
        self.micros
            .push(u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
    }
    pub fn extend(&mut self, other: Latencies) {
        self.micros.extend(other.micros);
    }
    pub fn len(&self) -> usize {
        self.micros.len()
    }
    pub fn is_empty(&self) -> bool {
        self.micros.is_empty()
    }
    /// The `q`-quantile (0.0–1.0) in milliseconds, nearest rank.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        let mut v = self.micros.clone();
        v.sort_unstable();
        if v.is_empty() {
            return 0.0;
        }
        let rank = ((q.clamp(0.0, 1.0) * v.len() as f64).ceil() as usize).clamp(1, v.len());
        v.get(rank - 1).copied().unwrap_or(0) as f64 / 1000.0
    }
    pub fn p50(&self) -> f64 {
        self.quantile_ms(0.50)
    }
    pub fn p99(&self) -> f64 {
        self.quantile_ms(0.99)
    }
}
