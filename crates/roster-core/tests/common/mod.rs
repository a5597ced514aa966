//! Small builders shared by the core's integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use chrono::{TimeZone, Utc};
use roster_core::*;

pub fn now() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap()
}

pub fn org() -> OrgSnapshot {
    let mut snap = OrgSnapshot::new("org".into(), "Coaching Co".into(), OrgSettings::default());
    for space in ["s1", "s2"] {
        snap.add_space(Space {
            id: space.into(),
            name: space.into(),
        });
    }
    snap
}

pub fn add(snap: &mut OrgSnapshot, user: &str, org_role: Option<OrgRole>) {
    let mut m = Member::new(
        user.into(),
        Email::parse(&format!("{user}@example.com")).unwrap(),
        user.into(),
    );
    m.org_role = org_role;
    if org_role == Some(OrgRole::ImplementationAdmin) {
        m.ia = Some(IaAssignment::new(IaDuration::OneMonth, now(), None));
    }
    snap.add_member(m);
}

pub fn set_space(snap: &mut OrgSnapshot, user: &str, space: &str, role: SpaceRole) {
    snap.load_space_role(user, space, role);
}
