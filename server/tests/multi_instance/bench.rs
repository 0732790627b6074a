//! Scale measurements (ignored by default).
