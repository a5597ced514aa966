//! Organizations the tests of several modules start from.

use roster_core::{OrgId, SpaceId, UserId};

use crate::common::TestApp;

/// One organization with two spaces and every kind of person in S1.
pub struct SpaceWorld {
    pub org: OrgId,
    pub s1: SpaceId,
    pub s2: SpaceId,
    pub owner: UserId,
    /// An org Admin with no space role.
    pub admin: UserId,
    pub pa: UserId,
    pub fac: UserId,
    pub part: UserId,
    pub sponsor: UserId,
    /// An org Admin who is also Facilitator of S1.
    pub admin_fac: UserId,
    /// A Participant of S2 only.
    pub other: UserId,
}

impl SpaceWorld {
    /// `/v1/orgs/{org}`.
    pub fn o(&self) -> String {
        format!("/v1/orgs/{}", self.org)
    }
}

pub async fn space_world(app: &TestApp) -> SpaceWorld {
    let (org, owner) = app.create_org("Acme", "owner@acme.test", None).await;
    let s1 = app.create_space(&org, &owner, "S1").await;
    let s2 = app.create_space(&org, &owner, "S2").await;
    let admin = app
        .add_member(&org, &owner, "admin@acme.test", "admin", &[], None)
        .await;
    let pa = app
        .add_member(&org, &owner, "pa@acme.test", "program_admin", &[&s1], None)
        .await;
    let fac = app
        .add_member(&org, &owner, "fac@acme.test", "facilitator", &[&s1], None)
        .await;
    let part = app
        .add_member(&org, &owner, "part@acme.test", "participant", &[&s1], None)
        .await;
    let sponsor = app
        .add_member(&org, &owner, "sponsor@acme.test", "sponsor", &[&s1], None)
        .await;
    let admin_fac = app
        .add_member(&org, &owner, "admin-fac@acme.test", "admin", &[], None)
        .await;
    app.put_space_member(&org, &s1, &admin_fac, Some(&owner), "facilitator")
        .await
        .ok("an Admin becomes Facilitator of S1");
    let other = app
        .add_member(&org, &owner, "other@acme.test", "participant", &[&s2], None)
        .await;
    SpaceWorld {
        org,
        s1,
        s2,
        owner,
        admin,
        pa,
        fac,
        part,
        sponsor,
        admin_fac,
        other,
    }
}

pub fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}
