use chrono::{DateTime, Utc};
use roster_core::Timestamp;

/// Times are stored as Unix milliseconds on both backends.
pub fn to_ms(t: Timestamp) -> i64 {
    t.timestamp_millis()
}

pub fn from_ms(ms: i64) -> Timestamp {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default()
}
