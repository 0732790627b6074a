//! The server's clock, behind a trait so that tests and development can move time (a 180-second QR code,
//! a 15-day payment term) without waiting.

use renche::Timestamp;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
    /// Moves this clock forward; `false` when it cannot be moved (the system clock).
    fn advance(&self, _millis: i64) -> bool {
        false
    }
}

fn system_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Wall-clock time.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(system_millis())
    }
}

/// Wall-clock time plus an offset that development mode can move forward.
#[derive(Default)]
pub struct OffsetClock {
    offset_ms: AtomicI64,
}

impl Clock for OffsetClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(
            system_millis().saturating_add(self.offset_ms.load(Ordering::Relaxed)),
        )
    }
    fn advance(&self, millis: i64) -> bool {
        self.offset_ms.fetch_add(millis, Ordering::Relaxed);
        true
    }
}

/// A clock that stands still until it is moved: tests see exact instants.
pub struct ManualClock {
    now_ms: AtomicI64,
}

impl ManualClock {
    pub fn starting_at(t: Timestamp) -> ManualClock {
        ManualClock {
            now_ms: AtomicI64::new(t.millis()),
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(self.now_ms.load(Ordering::Relaxed))
    }
    fn advance(&self, millis: i64) -> bool {
        self.now_ms.fetch_add(millis, Ordering::Relaxed);
        true
    }
}
