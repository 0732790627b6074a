//! Reads from a hot standby (PostgreSQL streaming replication), within a bound on how stale they may be.
//!
//! A tracker asks the primary where its log ends, then the standby what it has replayed. Once the standby
//! has replayed past a position the primary gave at instant `t`, it shows every commit acknowledged before
//! `t`. The standby serves reads only while that `t` is at most `max_lag` old; otherwise (it lags, it is
//! unreachable, the primary is gone) reads go to the primary. The measure is this process's own monotonic
//! clock, so clock skew between machines does not enter it.
//!
//! A person's own recent changes are seen at once: a state change's answer sets a short-lived cookie, and
//! while the browser sends it that person's reads go to the primary (`RECENT_WRITE_SECS`, well past
//! `max_lag`, so the standby has the change by the time the cookie is gone).

use crate::store::Store;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long the recent-write cookie (`http::guard`) lives. Far past any lag the standby is trusted with.
pub const RECENT_WRITE_SECS: u64 = 10;
/// The most `--replica-max-lag-ms` may be: below the cookie's life, or a change could be missed.
pub const MAX_LAG_LIMIT: Duration = Duration::from_secs(5);
/// Samples of the primary's position kept while the standby has not reached them.
const PENDING_SAMPLES: usize = 256;

pub struct Replica {
    store: Arc<dyn Store>,
    max_lag: Duration,
    /// The latest instant whose primary position the standby has replayed.
    fresh_as_of: Mutex<Option<Instant>>,
}

impl Replica {
    pub fn new(store: Arc<dyn Store>, max_lag: Duration) -> Arc<Replica> {
        Arc::new(Replica {
            store,
            max_lag: max_lag.min(MAX_LAG_LIMIT),
            fresh_as_of: Mutex::new(None),
        })
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn max_lag(&self) -> Duration {
        self.max_lag
    }

    /// How far behind the standby may be now, at most; `None` until it has caught up once.
    pub fn lag(&self) -> Option<Duration> {
        let fresh = *self
            .fresh_as_of
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        fresh.map(|t| t.elapsed())
    }

    /// Whether a read may go to the standby now.
    pub fn usable(&self) -> bool {
        self.lag().is_some_and(|lag| lag <= self.max_lag)
    }

    fn reached(&self, at: Instant) {
        let mut fresh = self
            .fresh_as_of
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if fresh.is_none_or(|f| f < at) {
            *fresh = Some(at);
        }
    }

    /// Follows the standby against `primary` until the process ends, a sample every fifth of the bound
    /// (at least every 20 ms, at most every 200 ms).
    pub fn spawn_tracker(self: &Arc<Self>, primary: Arc<dyn Store>) {
        let replica = Arc::clone(self);
        let every =
            (replica.max_lag / 5).clamp(Duration::from_millis(20), Duration::from_millis(200));
        tokio::spawn(async move {
            let mut pending: VecDeque<(Instant, u64)> = VecDeque::new();
            let mut reachable = true;
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                // Taken before asking: every commit acknowledged before this instant is at or before
                // the position the primary gives.
                let asked = Instant::now();
                if let Ok(Some(position)) = primary.wal_position().await {
                    if pending.len() == PENDING_SAMPLES {
                        pending.pop_front();
                    }
                    pending.push_back((asked, position));
                }
                let replayed = match replica.store.wal_position().await {
                    Ok(Some(replayed)) => replayed,
                    failed => {
                        // Said once per outage, not at every sample.
                        if reachable {
                            let why = match failed {
                                Err(e) => e.to_string(),
                                Ok(_) => "it reports no replay position".to_owned(),
                            };
                            tracing::warn!(%why, "the standby cannot be followed: violation lists read from the primary");
                            reachable = false;
                        }
                        continue;
                    }
                };
                if !reachable {
                    tracing::info!("the standby answers again");
                    reachable = true;
                }
                while let Some(&(at, position)) = pending.front() {
                    if position > replayed {
                        break;
                    }
                    replica.reached(at);
                    pending.pop_front();
                }
            }
        });
    }
}
