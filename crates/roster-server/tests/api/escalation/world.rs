//! The organization the escalation suite acts in, and what a refusal
//! must leave as it was.

use reqwest::StatusCode;
use roster_core::{InvitationId, OrgId, SpaceId, TokenId, UserId};
use roster_server::views::{
    DomainsView, InvitationView, MemberView, OrgView, SeatsView, SpaceMembersView, SpaceView,
    TokenView,
};
use serde_json::{json, Value};

use crate::common::TestApp;

/// Everyone the suite acts as, in one organization (`org`), plus a member
/// of another organization (`outsider`, in `org_b`).
pub(super) struct World {
    pub(super) org: OrgId,
    pub(super) org_b: OrgId,
    pub(super) s1: SpaceId,
    pub(super) s2: SpaceId,
    pub(super) owner1: UserId,
    pub(super) owner2: UserId,
    pub(super) admin: UserId,
    pub(super) ia: UserId,
    pub(super) pa: UserId,
    pub(super) fac: UserId,
    pub(super) part: UserId,
    pub(super) sponsor: UserId,
    /// An Admin who is Participant of S1 (participant-locked there).
    pub(super) admin_part: UserId,
    /// An Owner who is Sponsor of S1 (read-only there).
    pub(super) owner_sponsor: UserId,
    /// A Participant of S2 only: a spare member for the space tests.
    pub(super) part2: UserId,
    /// An Implementation Admin whose month ran out (no sweep ran yet).
    pub(super) expired_ia: UserId,
    /// An Owner whose membership is deactivated.
    pub(super) deact_owner: UserId,
    /// A member (the Owner) of another organization.
    pub(super) outsider: UserId,
    pub(super) owner1_token: TokenId,
    pub(super) admin_token: TokenId,
    pub(super) part_secret: String,
    pub(super) pa_secret: String,
    pub(super) admin_secret: String,
    pub(super) deact_owner_secret: String,
    pub(super) outsider_secret: String,
    /// A pending invitation of an Owner, made by `owner1`.
    pub(super) owner_invitation: InvitationId,
    /// A pending invitation of a Facilitator into S2, made by `owner1`.
    pub(super) s2_invitation: InvitationId,
}

impl World {
    pub(super) fn o(&self) -> String {
        format!("/v1/orgs/{}", self.org)
    }
}

async fn invite(app: &TestApp, org: &OrgId, actor: &UserId, body: Value) -> InvitationId {
    let batch = app
        .post_invitations(org, Some(actor), body)
        .await
        .ok("invite");
    batch.invitations[0].id.clone()
}

/// Builds the organization. The expired Implementation Admin is assigned
/// first, then the shared dev clock moves 40 days on, then everyone else
/// joins (so the current Implementation Admin's month has just begun).
pub(super) async fn world(app: &TestApp) -> World {
    let (org, owner1) = app.create_org("Acme", "owner1@acme.test", None).await;
    app.put_ia_setting(&org, Some(&owner1), json!({"enabled": true}))
        .await
        .ok("enable implementation admins");
    app.put_domains(&org, None, &["partner.test"])
        .await
        .ok("set the allowlist");
    let expired_ia = app
        .add_member(
            &org,
            &owner1,
            "old-ia@partner.test",
            "implementation_admin",
            &[],
            Some("1_month"),
        )
        .await;
    app.advance(40 * 86_400).await;

    let s1 = app.create_space(&org, &owner1, "S1").await;
    let s2 = app.create_space(&org, &owner1, "S2").await;
    let add = |email: &'static str, role: &'static str, spaces: Vec<SpaceId>| {
        let org = org.clone();
        let owner1 = owner1.clone();
        async move {
            let spaces: Vec<&SpaceId> = spaces.iter().collect();
            app.add_member(&org, &owner1, email, role, &spaces, None)
                .await
        }
    };
    let owner2 = add("owner2@acme.test", "owner", vec![]).await;
    let admin = add("admin@acme.test", "admin", vec![]).await;
    let ia = app
        .add_member(
            &org,
            &owner1,
            "ia@partner.test",
            "implementation_admin",
            &[],
            Some("1_month"),
        )
        .await;
    let pa = add("pa@acme.test", "program_admin", vec![s1.clone()]).await;
    let fac = add("fac@acme.test", "facilitator", vec![s1.clone()]).await;
    let part = add("part@acme.test", "participant", vec![s1.clone()]).await;
    let sponsor = add("sponsor@acme.test", "sponsor", vec![s1.clone()]).await;
    let part2 = add("part2@acme.test", "participant", vec![s2.clone()]).await;
    let admin_part = add("admin-part@acme.test", "admin", vec![]).await;
    app.put_space_member(&org, &s1, &admin_part, Some(&owner1), "participant")
        .await
        .ok("admin becomes participant of S1");
    let owner_sponsor = add("owner-sponsor@acme.test", "owner", vec![]).await;
    app.put_space_member(&org, &s1, &owner_sponsor, Some(&owner1), "sponsor")
        .await
        .ok("owner becomes sponsor of S1");
    let deact_owner = add("gone-owner@acme.test", "owner", vec![]).await;
    let deact_owner_secret = app.token(&org, &deact_owner).await.secret;
    app.deactivate(&org, &deact_owner, Some(&owner1))
        .await
        .ok("deactivate an owner");

    let (org_b, outsider) = app
        .create_org("Elsewhere", "outsider@elsewhere.test", None)
        .await;
    let outsider_secret = app.token(&org_b, &outsider).await.secret;

    let owner1_token = app.token(&org, &owner1).await.id;
    let admin_token = app.token(&org, &admin).await;
    let part_secret = app.token(&org, &part).await.secret;
    let pa_secret = app.token(&org, &pa).await.secret;
    let owner_invitation = invite(
        app,
        &org,
        &owner1,
        json!({"emails": ["future-owner@acme.test"], "role": "owner"}),
    )
    .await;
    let s2_invitation = invite(
        app,
        &org,
        &owner1,
        json!({"emails": ["future-fac@acme.test"], "role": "facilitator", "space_ids": [s2]}),
    )
    .await;

    // The world is what it claims to be.
    let org_res = json!({"type": "organization", "id": org});
    assert!(
        !app.decide(&org, &expired_ia, "members.view", org_res.clone())
            .await,
        "the old Implementation Admin has expired"
    );
    assert!(
        app.decide(&org, &ia, "members.change_role", org_res.clone())
            .await,
        "the new Implementation Admin is in force"
    );
    assert!(
        !app.decide(&org, &deact_owner, "members.view", org_res)
            .await,
        "the deactivated Owner has no access"
    );

    World {
        org,
        org_b,
        s1,
        s2,
        owner1,
        owner2,
        admin,
        ia,
        pa,
        fac,
        part,
        sponsor,
        admin_part,
        owner_sponsor,
        part2,
        expired_ia,
        deact_owner,
        outsider,
        owner1_token,
        admin_token: admin_token.id,
        part_secret,
        pa_secret,
        admin_secret: admin_token.secret,
        deact_owner_secret,
        outsider_secret,
        owner_invitation,
        s2_invitation,
    }
}

/// Everything a refusal must leave as it was, read with the platform key.
#[derive(Debug, PartialEq)]
pub(super) struct OrgState {
    pub(super) org: OrgView,
    pub(super) members: Vec<MemberView>,
    pub(super) seats: SeatsView,
    pub(super) invitations: Vec<InvitationView>,
    pub(super) tokens: Vec<TokenView>,
    pub(super) spaces: Vec<SpaceView>,
    pub(super) s1: SpaceMembersView,
    pub(super) s2: SpaceMembersView,
    pub(super) domains: DomainsView,
    pub(super) audit_count: usize,
    pub(super) other_org: OrgView,
    pub(super) other_org_members: Vec<MemberView>,
    pub(super) other_org_audit_count: usize,
}

pub(super) async fn state(app: &TestApp, w: &World) -> OrgState {
    OrgState {
        org: app.org(&w.org).await,
        members: app.members(&w.org, "").await,
        seats: app.seats(&w.org).await,
        invitations: app.invitations(&w.org, "").await,
        tokens: app
            .get_tokens(&w.org, None, "?limit=500")
            .await
            .ok("list tokens")
            .items,
        spaces: app.get_spaces(&w.org, None).await.ok("list spaces").items,
        s1: app
            .get_space_members(&w.org, &w.s1, None)
            .await
            .ok("list S1's members"),
        s2: app
            .get_space_members(&w.org, &w.s2, None)
            .await
            .ok("list S2's members"),
        domains: app.get_domains(&w.org, None).await.ok("read the allowlist"),
        audit_count: app.audit(&w.org).await.len(),
        other_org: app.org(&w.org_b).await,
        other_org_members: app.members(&w.org_b, "").await,
        other_org_audit_count: app.audit(&w.org_b).await.len(),
    }
}

/// The organization's revision (any committed write moves it), or the
/// status reading it answered.
pub(super) async fn revision(app: &TestApp, org: &OrgId) -> Result<i64, StatusCode> {
    let read = app.get_org(org, None).await;
    if read.status == StatusCode::OK {
        Ok(read.ok("read the organization").revision)
    } else {
        Err(read.status)
    }
}
