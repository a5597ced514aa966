//! The JSON shapes of API.md, built from core types.

use roster_core::{Invitation, Member, OrgSnapshot, Timestamp};
use roster_store::TokenRecord;
use serde_json::{json, Value};

/// RFC 3339 UTC with second precision, as API.md promises.
pub fn time(t: Timestamp) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub fn opt_time(t: Option<Timestamp>) -> Value {
    t.map_or(Value::Null, |t| json!(time(t)))
}

pub fn member(snap: &OrgSnapshot, m: &Member, now: Timestamp) -> Value {
    let space_roles: Vec<Value> = snap
        .space_roles_of(m)
        .map(|(space_id, role)| json!({"space_id": space_id, "role": role.as_str()}))
        .collect();
    let ia = m.ia.as_ref().map_or(Value::Null, |ia| {
        json!({
            "expires_at": opt_time(ia.expires_at),
            "duration": ia.duration.as_str(),
            "invited_by": ia.invited_by,
            "assigned_at": time(ia.assigned_at),
        })
    });
    json!({
        "user_id": m.user_id,
        "email": m.email.as_str(),
        "name": m.name,
        "status": m.status.as_str(),
        "org_role": m.org_role.map(|r| r.as_str()),
        "uses_seat": snap.uses_seat(m, now),
        "implementation_admin": ia,
        "space_roles": space_roles,
    })
}

pub fn invitation(inv: &Invitation) -> Value {
    json!({
        "id": inv.id,
        "batch_id": inv.batch_id,
        "email": inv.email.as_str(),
        "role": inv.role.as_str(),
        "space_ids": inv.space_ids,
        "duration": inv.duration.map(|d| d.as_str()),
        "message": inv.message,
        "status": inv.status.as_str(),
        "expires_at": time(inv.expires_at),
        "invited_by": inv.invited_by,
        "send_count": inv.send_count,
        "created_at": time(inv.created_at),
    })
}

pub fn token(t: &TokenRecord) -> Value {
    json!({
        "id": t.id,
        "org_id": t.org_id,
        "user_id": t.user_id,
        "kind": t.kind,
        "name": t.name,
        "created_at": time(t.created_at),
        "expires_at": opt_time(t.expires_at),
        "revoked_at": opt_time(t.revoked_at),
        "revoked_reason": t.revoked_reason,
    })
}

pub fn org(snap: &OrgSnapshot, owner: Option<(&str, &str)>) -> Value {
    let mut body = json!({
        "id": snap.org_id,
        "name": snap.name,
        "seat_limit": snap.settings.seat_limit,
        "settings": {"allow_implementation_admin": snap.settings.allow_implementation_admin},
        "seat_roles": snap.settings.seat_policy.seat_roles().map(|r| r.as_str()).collect::<Vec<_>>(),
        "revision": snap.revision,
    });
    if let Some((user_id, email)) = owner {
        body["owner"] = json!({"user_id": user_id, "email": email});
    }
    body
}
