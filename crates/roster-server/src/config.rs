//! Configuration from the environment (API.md "Running it").

use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Config {
    pub listen: String,
    pub database_url: String,
    pub platform_key: Option<String>,
    pub public_url: String,
    pub smtp_url: Option<String>,
    pub mail_from: String,
    pub default_ia_domains: Vec<String>,
    pub job_interval: Duration,
    pub dev_clock: bool,
    /// How long an invitation stays open (SPEC §5: 14 days by default).
    pub invitation_ttl: chrono::Duration,
    /// `ROSTER_WEBHOOK_ALLOW_PRIVATE=1`: webhook URLs may point at loopback
    /// and private addresses (tests, single-host setups).
    pub webhook_allow_private: bool,
    /// `ROSTER_CACHE_MB`: memory for cached organization snapshots.
    pub cache_bytes: u64,
}

impl Config {
    /// Reads `ROSTER_*` variables through `get` (the environment in the
    /// binary, a map in tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, String> {
        let listen = get("ROSTER_LISTEN").unwrap_or_else(|| "127.0.0.1:8080".into());
        let job_interval_ms = match get("ROSTER_JOB_INTERVAL_MS") {
            Some(v) => v.parse::<u64>().ok().filter(|ms| *ms > 0).ok_or_else(|| {
                format!(
                    "ROSTER_JOB_INTERVAL_MS must be a positive number of milliseconds, not {v:?}"
                )
            })?,
            None => 30_000,
        };
        let invitation_ttl_days = match get("ROSTER_INVITATION_TTL_DAYS") {
            Some(v) => v
                .parse::<i64>()
                .ok()
                .filter(|d| (1..=365).contains(d))
                .ok_or_else(|| format!("ROSTER_INVITATION_TTL_DAYS must be 1 to 365, not {v:?}"))?,
            None => 14,
        };
        let cache_mb = match get("ROSTER_CACHE_MB") {
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|mb| (1..=1 << 20).contains(mb))
                .ok_or_else(|| {
                    format!("ROSTER_CACHE_MB must be a number of MiB, 1 or more, not {v:?}")
                })?,
            None => 1024,
        };
        let public_url = get("ROSTER_PUBLIC_URL")
            .unwrap_or_else(|| format!("http://{listen}"))
            .trim_end_matches('/')
            .to_owned();
        Ok(Config {
            database_url: get("ROSTER_DATABASE_URL").unwrap_or_else(|| "sqlite://roster.db".into()),
            platform_key: get("ROSTER_PLATFORM_KEY").filter(|k| !k.is_empty()),
            public_url,
            smtp_url: get("ROSTER_SMTP_URL").filter(|u| !u.is_empty()),
            mail_from: get("ROSTER_MAIL_FROM")
                .unwrap_or_else(|| "Roster <roster@localhost>".into()),
            default_ia_domains: get("ROSTER_DEFAULT_IA_DOMAINS")
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .map(str::to_owned)
                .collect(),
            job_interval: Duration::from_millis(job_interval_ms),
            dev_clock: get("ROSTER_DEV_CLOCK").as_deref() == Some("1"),
            webhook_allow_private: get("ROSTER_WEBHOOK_ALLOW_PRIVATE").as_deref() == Some("1"),
            invitation_ttl: chrono::Duration::days(invitation_ttl_days),
            cache_bytes: cache_mb << 20,
            listen,
        })
    }
}
