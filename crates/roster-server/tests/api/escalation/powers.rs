//! What each kind of person must not do, as requests: the attempts the
//! escalation suite makes.

use reqwest::Method;
use roster_core::{SpaceId, UserId};
use serde_json::{json, Value};

use super::world::World;

/// One attempt: what it is, and the request.
pub(super) struct Try {
    pub(super) what: String,
    pub(super) method: Method,
    pub(super) path: String,
    pub(super) body: Option<Value>,
}

pub(super) fn t(what: &str, method: Method, path: String, body: Option<Value>) -> Try {
    Try {
        what: what.to_owned(),
        method,
        path,
        body,
    }
}

/// Only Owners assign, demote, deactivate, reactivate or remove an Owner,
/// and delete the organization.
pub(super) fn owner_powers(w: &World) -> Vec<Try> {
    let o = w.o();
    let m = |u: &UserId| format!("{o}/members/{u}");
    vec![
        t(
            "make a participant an Owner",
            Method::PATCH,
            m(&w.part2),
            Some(json!({"org_role": "owner"})),
        ),
        t(
            "make a facilitator an Owner",
            Method::PATCH,
            m(&w.fac),
            Some(json!({"org_role": "owner"})),
        ),
        t(
            "demote an Owner to Admin",
            Method::PATCH,
            m(&w.owner2),
            Some(json!({"org_role": "admin"})),
        ),
        t(
            "take away an Owner's org role",
            Method::PATCH,
            m(&w.owner_sponsor),
            Some(json!({"org_role": null})),
        ),
        t(
            "make an Owner an Implementation Admin",
            Method::PATCH,
            m(&w.owner2),
            Some(json!({"org_role": "implementation_admin", "duration": "1_month"})),
        ),
        t(
            "deactivate an Owner",
            Method::POST,
            format!("{}/deactivate", m(&w.owner2)),
            Some(json!({})),
        ),
        t(
            "deactivate the first Owner",
            Method::POST,
            format!("{}/deactivate", m(&w.owner1)),
            Some(json!({})),
        ),
        t("remove an Owner", Method::DELETE, m(&w.owner2), None),
        t(
            "reactivate a deactivated Owner",
            Method::POST,
            format!("{}/reactivate", m(&w.deact_owner)),
            Some(json!({})),
        ),
        t(
            "remove a deactivated Owner",
            Method::DELETE,
            m(&w.deact_owner),
            None,
        ),
        t(
            "demote a deactivated Owner",
            Method::PATCH,
            m(&w.deact_owner),
            Some(json!({"org_role": "admin"})),
        ),
        t(
            "bulk-deactivate Owners",
            Method::POST,
            format!("{o}/members/bulk"),
            Some(json!({"action": "deactivate", "user_ids": [w.owner2, w.owner_sponsor]})),
        ),
        t(
            "bulk-remove Owners",
            Method::POST,
            format!("{o}/members/bulk"),
            Some(json!({"action": "remove", "user_ids": [w.owner1, w.owner2]})),
        ),
        t(
            "bulk-reactivate a deactivated Owner",
            Method::POST,
            format!("{o}/members/bulk"),
            Some(json!({"action": "reactivate", "user_ids": [w.deact_owner]})),
        ),
        t(
            "invite an Owner",
            Method::POST,
            format!("{o}/invitations"),
            Some(json!({"emails": ["owner-by-someone@acme.test"], "role": "owner"})),
        ),
        t(
            "invite Owners in a pasted list",
            Method::POST,
            format!("{o}/invitations"),
            Some(json!({"emails": "x1@acme.test, x2@acme.test", "role": "owner"})),
        ),
        t(
            "resend an Owner invitation",
            Method::POST,
            format!("{o}/invitations/{}/resend", w.owner_invitation),
            Some(json!({})),
        ),
        t("delete the organization", Method::DELETE, o.clone(), None),
    ]
}

/// Only the platform operator, never a person acting through it.
pub(super) fn platform_powers(w: &World) -> Vec<Try> {
    let o = w.o();
    vec![
        t(
            "set the Implementation Admin allowlist",
            Method::PUT,
            format!("{o}/implementation-admin-domains"),
            Some(json!({"domains": ["evil.test"]})),
        ),
        t(
            "empty the Implementation Admin allowlist",
            Method::PUT,
            format!("{o}/implementation-admin-domains"),
            Some(json!({"domains": []})),
        ),
        t(
            "raise the seat limit",
            Method::PATCH,
            o.clone(),
            Some(json!({"seat_limit": 1000})),
        ),
        t(
            "lift the seat limit",
            Method::PATCH,
            o.clone(),
            Some(json!({"seat_limit": null})),
        ),
        t(
            "change the seat-using roles",
            Method::PATCH,
            o.clone(),
            Some(json!({"seat_roles": ["owner"]})),
        ),
        t(
            "create an organization",
            Method::POST,
            "/v1/orgs".into(),
            Some(json!({"name": "Mine", "owner_email": "mine@acme.test"})),
        ),
        t(
            "list Forever Implementation Admins of every organization",
            Method::GET,
            "/v1/platform/implementation-admins?duration=forever".into(),
            None,
        ),
        t(
            "record a Forever review",
            Method::POST,
            format!(
                "/v1/platform/implementation-admins/{}/{}/review",
                w.org, w.ia
            ),
            Some(json!({})),
        ),
        t(
            "move the dev clock",
            Method::POST,
            "/v1/dev/clock".into(),
            Some(json!({"advance_seconds": 0})),
        ),
        t(
            "run the background jobs",
            Method::POST,
            "/v1/dev/sweep".into(),
            Some(json!({})),
        ),
    ]
}

/// The Admin Area: Owner, Admin and Implementation Admin only.
pub(super) fn admin_area_powers(w: &World) -> Vec<Try> {
    let o = w.o();
    let m = |u: &UserId| format!("{o}/members/{u}");
    vec![
        t(
            "list the organization's members",
            Method::GET,
            format!("{o}/members"),
            None,
        ),
        t("view seats", Method::GET, format!("{o}/seats"), None),
        t(
            "view the allowlist",
            Method::GET,
            format!("{o}/implementation-admin-domains"),
            None,
        ),
        t(
            "make a facilitator Admin",
            Method::PATCH,
            m(&w.fac),
            Some(json!({"org_role": "admin"})),
        ),
        t(
            "make a facilitator Implementation Admin",
            Method::PATCH,
            m(&w.fac),
            Some(json!({"org_role": "implementation_admin", "duration": "forever"})),
        ),
        t(
            "take away an Admin's org role",
            Method::PATCH,
            m(&w.admin),
            Some(json!({"org_role": null})),
        ),
        t(
            "demote the Implementation Admin",
            Method::PATCH,
            m(&w.ia),
            Some(json!({"org_role": null})),
        ),
        t(
            "deactivate a facilitator",
            Method::POST,
            format!("{}/deactivate", m(&w.fac)),
            Some(json!({})),
        ),
        t(
            "deactivate an Admin",
            Method::POST,
            format!("{}/deactivate", m(&w.admin)),
            Some(json!({})),
        ),
        t(
            "remove a participant from the organization",
            Method::DELETE,
            m(&w.part),
            None,
        ),
        t(
            "bulk-deactivate members",
            Method::POST,
            format!("{o}/members/bulk"),
            Some(json!({"action": "deactivate", "user_ids": [w.fac, w.admin]})),
        ),
        t(
            "bulk-remove members",
            Method::POST,
            format!("{o}/members/bulk"),
            Some(json!({"action": "remove", "user_ids": [w.part2]})),
        ),
        t(
            "remove the Implementation Admin early",
            Method::POST,
            format!("{}/remove-implementation-admin", m(&w.ia)),
            Some(json!({"confirm": true})),
        ),
        t(
            "invite an Admin",
            Method::POST,
            format!("{o}/invitations"),
            Some(json!({"emails": ["admin-by-someone@acme.test"], "role": "admin"})),
        ),
        t(
            "invite an Implementation Admin",
            Method::POST,
            format!("{o}/invitations"),
            Some(
                json!({"emails": ["ia-by-someone@partner.test"], "role": "implementation_admin", "duration": "forever"}),
            ),
        ),
        t(
            "revoke an Owner invitation",
            Method::DELETE,
            format!("{o}/invitations/{}", w.owner_invitation),
            None,
        ),
        t(
            "list invitations",
            Method::GET,
            format!("{o}/invitations"),
            None,
        ),
        t(
            "turn the Implementation Admin setting off",
            Method::PUT,
            format!("{o}/settings/implementation-admin"),
            Some(json!({"enabled": false, "confirm": true})),
        ),
        t(
            "rename the organization",
            Method::PATCH,
            o.clone(),
            Some(json!({"name": "Hijacked"})),
        ),
        t(
            "view the audit log",
            Method::GET,
            format!("{o}/audit"),
            None,
        ),
        t(
            "export the audit log",
            Method::GET,
            format!("{o}/audit/export?format=jsonl"),
            None,
        ),
        t(
            "verify the audit log",
            Method::GET,
            format!("{o}/audit/verify"),
            None,
        ),
        t(
            "list an Owner's tokens",
            Method::GET,
            format!("{o}/tokens?user_id={}", w.owner1),
            None,
        ),
        t(
            "revoke an Owner's token",
            Method::DELETE,
            format!("{o}/tokens/{}", w.owner1_token),
            None,
        ),
        t(
            "revoke an Admin's token",
            Method::DELETE,
            format!("{o}/tokens/{}", w.admin_token),
            None,
        ),
        t(
            "create a space",
            Method::POST,
            format!("{o}/spaces"),
            Some(json!({"name": "Rogue"})),
        ),
        t(
            "rename S1",
            Method::PATCH,
            format!("{o}/spaces/{}", w.s1),
            Some(json!({"name": "Renamed"})),
        ),
        t(
            "delete S1",
            Method::DELETE,
            format!("{o}/spaces/{}", w.s1),
            None,
        ),
        t(
            "delete S2",
            Method::DELETE,
            format!("{o}/spaces/{}", w.s2),
            None,
        ),
    ]
}

/// Managing roles in S1: its Program Admin and the org admin tier only.
pub(super) fn s1_powers(w: &World) -> Vec<Try> {
    let o = w.o();
    let sm = |u: &UserId| format!("{o}/spaces/{}/members/{u}", w.s1);
    vec![
        t(
            "add a member to S1",
            Method::PUT,
            sm(&w.part2),
            Some(json!({"role": "participant"})),
        ),
        t(
            "make a participant Program Admin of S1",
            Method::PUT,
            sm(&w.part),
            Some(json!({"role": "program_admin"})),
        ),
        t(
            "change the Program Admin of S1 to participant",
            Method::PUT,
            sm(&w.pa),
            Some(json!({"role": "participant"})),
        ),
        t(
            "remove the facilitator from S1",
            Method::DELETE,
            sm(&w.fac),
            None,
        ),
        t(
            "remove the Program Admin from S1",
            Method::DELETE,
            sm(&w.pa),
            None,
        ),
        t(
            "invite a facilitator into S1",
            Method::POST,
            format!("{o}/invitations"),
            Some(
                json!({"emails": ["fac-by-someone@acme.test"], "role": "facilitator", "space_ids": [w.s1]}),
            ),
        ),
        t(
            "invite a participant into S1",
            Method::POST,
            format!("{o}/invitations"),
            Some(
                json!({"emails": ["part-by-someone@acme.test"], "role": "participant", "space_ids": [w.s1]}),
            ),
        ),
        t(
            "invite an existing member into S1",
            Method::POST,
            format!("{o}/invitations"),
            Some(
                json!({"emails": ["part2@acme.test"], "role": "program_admin", "space_ids": [w.s1]}),
            ),
        ),
    ]
}

/// Managing roles in S2: nobody in this organization but the admin tier.
pub(super) fn s2_powers(w: &World) -> Vec<Try> {
    let o = w.o();
    let sm = |u: &UserId| format!("{o}/spaces/{}/members/{u}", w.s2);
    vec![
        t(
            "make the S1 Program Admin Program Admin of S2",
            Method::PUT,
            sm(&w.pa),
            Some(json!({"role": "program_admin"})),
        ),
        t(
            "change a participant of S2 to facilitator",
            Method::PUT,
            sm(&w.part2),
            Some(json!({"role": "facilitator"})),
        ),
        t(
            "remove a participant from S2",
            Method::DELETE,
            sm(&w.part2),
            None,
        ),
        t(
            "invite a participant into S2",
            Method::POST,
            format!("{o}/invitations"),
            Some(
                json!({"emails": ["s2-by-someone@acme.test"], "role": "participant", "space_ids": [w.s2]}),
            ),
        ),
        t(
            "invite a Program Admin into S1 and S2",
            Method::POST,
            format!("{o}/invitations"),
            Some(
                json!({"emails": ["both-by-someone@acme.test"], "role": "program_admin", "space_ids": [w.s1, w.s2]}),
            ),
        ),
        t(
            "revoke an S2 invitation",
            Method::DELETE,
            format!("{o}/invitations/{}", w.s2_invitation),
            None,
        ),
        t(
            "resend an S2 invitation",
            Method::POST,
            format!("{o}/invitations/{}/resend", w.s2_invitation),
            Some(json!({})),
        ),
    ]
}

/// Raising one's own org role.
pub(super) fn self_org_powers(w: &World, me: &UserId, current: Option<&str>) -> Vec<Try> {
    let path = format!("{}/members/{me}", w.o());
    ["owner", "admin"]
        .into_iter()
        .filter(|r| Some(*r) != current)
        .map(|r| {
            t(
                &format!("make oneself {r}"),
                Method::PATCH,
                path.clone(),
                Some(json!({"org_role": r})),
            )
        })
        .collect()
}

/// Giving oneself a role in a space.
pub(super) fn self_space_powers(w: &World, me: &UserId, spaces: &[&SpaceId]) -> Vec<Try> {
    spaces
        .iter()
        .map(|s| {
            t(
                "make oneself Program Admin of a space",
                Method::PUT,
                format!("{}/spaces/{s}/members/{me}", w.o()),
                Some(json!({"role": "program_admin"})),
            )
        })
        .collect()
}
