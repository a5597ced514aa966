//! Implementation Admin durations (SPEC §6): calendar months from activation.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Months, Utc};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IaDuration {
    OneMonth,
    TwoMonths,
    ThreeMonths,
    SixMonths,
    Forever,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown duration `{0}`: use 1_month, 2_months, 3_months, 6_months or forever")]
pub struct UnknownDuration(pub String);

impl IaDuration {
    pub const ALL: [IaDuration; 5] = [
        IaDuration::OneMonth,
        IaDuration::TwoMonths,
        IaDuration::ThreeMonths,
        IaDuration::SixMonths,
        IaDuration::Forever,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IaDuration::OneMonth => "1_month",
            IaDuration::TwoMonths => "2_months",
            IaDuration::ThreeMonths => "3_months",
            IaDuration::SixMonths => "6_months",
            IaDuration::Forever => "forever",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            IaDuration::OneMonth => "1 month",
            IaDuration::TwoMonths => "2 months",
            IaDuration::ThreeMonths => "3 months",
            IaDuration::SixMonths => "6 months",
            IaDuration::Forever => "Forever",
        }
    }

    fn months(self) -> Option<u32> {
        match self {
            IaDuration::OneMonth => Some(1),
            IaDuration::TwoMonths => Some(2),
            IaDuration::ThreeMonths => Some(3),
            IaDuration::SixMonths => Some(6),
            IaDuration::Forever => None,
        }
    }

    /// When an assignment activated at `activated_at` ends: the same time of
    /// day N calendar months later, clamped to the month's last day (Jan 31 +
    /// 1 month = Feb 28/29). `None` for Forever.
    pub fn expires_at(self, activated_at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let months = self.months()?;
        // Overflow only happens hundreds of millennia ahead; treat it as Forever.
        activated_at.checked_add_months(Months::new(months))
    }
}

impl FromStr for IaDuration {
    type Err = UnknownDuration;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IaDuration::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| UnknownDuration(s.to_owned()))
    }
}

crate::serde_as_str!(IaDuration);

impl fmt::Display for IaDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn one_month_from_january_31st_ends_on_the_last_day_of_february() {
        let start = Utc.with_ymd_and_hms(2027, 1, 31, 9, 30, 0).unwrap();
        let end = IaDuration::OneMonth.expires_at(start).unwrap();
        assert_eq!(end, Utc.with_ymd_and_hms(2027, 2, 28, 9, 30, 0).unwrap());
    }

    #[test]
    fn six_months_are_calendar_months_not_180_days() {
        let start = Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).unwrap();
        let end = IaDuration::SixMonths.expires_at(start).unwrap();
        assert_eq!(end, Utc.with_ymd_and_hms(2027, 5, 23, 0, 0, 0).unwrap());
    }

    #[test]
    fn forever_never_expires() {
        let start = Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).unwrap();
        assert_eq!(IaDuration::Forever.expires_at(start), None);
    }

    #[test]
    fn durations_parse_from_their_api_names_only() {
        for d in IaDuration::ALL {
            assert_eq!(d.as_str().parse::<IaDuration>(), Ok(d));
        }
        assert!("1_months".parse::<IaDuration>().is_err());
        assert!("12_months".parse::<IaDuration>().is_err());
    }
}
