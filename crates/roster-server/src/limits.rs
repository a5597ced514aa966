//! Per-client request limits (SPEC §19: sign-in link requests): a fixed
//! one-minute window per client address, kept in memory on each replica.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// At most `max` requests per client per minute.
pub struct PerClient {
    max: u32,
    windows: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

const WINDOW: Duration = Duration::from_secs(60);
/// Past this many clients, windows that ended are forgotten.
const TIDY_ABOVE: usize = 10_000;

impl PerClient {
    pub fn new(max: u32) -> Self {
        PerClient {
            max,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// `Ok` to go ahead, or how many seconds until this client may again.
    pub fn check(&self, client: IpAddr) -> Result<(), u64> {
        let now = Instant::now();
        let Ok(mut windows) = self.windows.lock() else {
            return Ok(());
        };
        if windows.len() > TIDY_ABOVE {
            windows.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        let (start, count) = windows.entry(client).or_insert((now, 0));
        if now.duration_since(*start) >= WINDOW {
            *start = now;
            *count = 0;
        }
        *count += 1;
        if *count <= self.max {
            Ok(())
        } else {
            let left = WINDOW.saturating_sub(now.duration_since(*start));
            Err(left.as_secs().max(1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_past_its_limit_is_told_when_to_come_back_and_others_are_not() {
        let limit = PerClient::new(3);
        let (a, b) = (IpAddr::from([10, 0, 0, 1]), IpAddr::from([10, 0, 0, 2]));
        assert!((0..3).all(|_| limit.check(a).is_ok()));
        let wait = limit.check(a).err();
        assert!(wait.is_some_and(|s| (1..=60).contains(&s)), "{wait:?}");
        assert!(limit.check(b).is_ok());
    }
}
