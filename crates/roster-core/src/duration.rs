//! Implementation Admin durations (SPEC §6): calendar months from activation.

use chrono::{DateTime, Months, Utc};

crate::named! {
    /// How long an Implementation Admin assignment lasts.
    pub enum IaDuration("duration") {
        OneMonth = "1_month",
        TwoMonths = "2_months",
        ThreeMonths = "3_months",
        SixMonths = "6_months",
        Forever = "forever",
    }
}

impl IaDuration {
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
            assert_eq!(d.as_str().parse::<IaDuration>(), Ok(*d));
        }
        assert!("1_months".parse::<IaDuration>().is_err());
        assert!("12_months".parse::<IaDuration>().is_err());
    }
}
