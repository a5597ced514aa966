//! Members (API.md "Members"): listing, role changes, deactivation,
//! removal, bulk actions, seats and capabilities.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use roster_core::capabilities::capabilities;
use roster_core::manage::{self, authorize, target};
use roster_core::{
    Action, IaDuration, Member, MemberStatus, OrgRole, OrgSnapshot, Resource, Role, RuleError,
    Timestamp,
};
use roster_store::{AuditDraft, Write};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{paginate, present, ApiJson, ApiQuery, Page, RequestId};
use crate::lifecycle;
use crate::mail::EndReason;
use crate::routes::with_revision;
use crate::state::{Acting, AppState};
use crate::views;

#[derive(Deserialize, Default)]
pub struct MemberFilter {
    pub role: Option<String>,
    pub status: Option<String>,
    pub q: Option<String>,
    #[serde(flatten)]
    pub page: Page,
}

/// Members matching the filter, a page of them in id order, and the cursor
/// of the next page. Expired Implementation Admins have left already.
pub fn select<'s>(
    snap: &'s OrgSnapshot,
    filter: &MemberFilter,
    limit: usize,
    now: Timestamp,
) -> ApiResult<(Vec<&'s Member>, Option<String>)> {
    let role = filter
        .role
        .as_deref()
        .filter(|r| !r.is_empty())
        .map(|r| {
            r.parse::<Role>()
                .map_err(|e| ApiError::invalid("role", e.to_string()))
        })
        .transpose()?;
    let status = match filter.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some("active") => Some(MemberStatus::Active),
        Some("deactivated") => Some(MemberStatus::Deactivated),
        Some(other) => {
            return Err(ApiError::invalid(
                "status",
                format!("unknown status `{other}`: use active or deactivated"),
            ))
        }
    };
    let q = filter
        .q
        .as_deref()
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(str::to_lowercase);
    let cursor = filter.page.cursor("usr")?;
    let mut items: Vec<&Member> = snap
        .members()
        .filter(|m| !m.ia_expired(now))
        .filter(|m| status.is_none_or(|s| m.status == s))
        .filter(|m| match role {
            None => true,
            Some(Role::Org(r)) => m.org_role == Some(r),
            Some(Role::Space(r)) => snap.space_roles_of(m).any(|(_, held)| held == r),
        })
        .filter(|m| {
            q.as_ref().is_none_or(|q| {
                m.email.as_str().contains(q.as_str()) || m.name.to_lowercase().contains(q.as_str())
            })
        })
        .filter(|m| cursor.is_none_or(|c| m.user_id.as_str() > c))
        .collect();
    items.sort_by(|a, b| a.user_id.cmp(&b.user_id));
    Ok(paginate(items, limit, |m| m.user_id.clone()))
}

pub async fn list(
    State(app): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    ApiQuery(filter): ApiQuery<MemberFilter>,
) -> ApiResult<Json<Value>> {
    let (_, snap) = app.read_as(&caller, &org, Action::MembersView).await?;
    let now = app.now();
    let limit = filter.page.limit()?;
    let (items, next_cursor) = select(&snap, &filter, limit, now)?;
    let items: Vec<Value> = items.iter().map(|m| views::member(&snap, m, now)).collect();
    Ok(Json(json!({"items": items, "next_cursor": next_cursor})))
}

/// The person themselves, or someone with `members.view`.
fn authorize_view(
    snap: &OrgSnapshot,
    acting: &Acting,
    user: &str,
    now: Timestamp,
) -> ApiResult<()> {
    Ok(manage::authorize_self_or(
        snap,
        acting.core(),
        user,
        Action::MembersView,
        now,
    )?)
}

pub async fn get(
    State(app): State<AppState>,
    caller: Caller,
    Path((org, user)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let acting = caller.acting_in(&org)?;
    let snap = app.snapshot(&org, None).await?;
    let now = app.now();
    authorize_view(&snap, &acting, &user, now)?;
    let member = target(&snap, &user, now)?;
    Ok(Json(views::member(&snap, member, now)))
}

/// Answers the member as they are after a write.
async fn member_after(
    app: &AppState,
    org: &str,
    user: &str,
    revision: i64,
    extra: Option<(&str, Value)>,
) -> ApiResult<Response> {
    let snap = app.snapshot(org, Some(revision)).await?;
    let now = app.now();
    let member = target(&snap, user, now)?;
    let mut body = views::member(&snap, member, now);
    if let Some((key, value)) = extra {
        body[key] = value;
    }
    Ok(with_revision(StatusCode::OK, revision, body))
}

#[derive(Deserialize)]
pub struct PatchMember {
    #[serde(default, deserialize_with = "present")]
    pub org_role: Option<Option<OrgRole>>,
    pub duration: Option<IaDuration>,
}

pub async fn patch(
    State(app): State<AppState>,
    caller: Caller,
    request_id: RequestId,
    Path((org, user)): Path<(String, String)>,
    ApiJson(body): ApiJson<PatchMember>,
) -> ApiResult<Response> {
    let acting = caller.acting_in(&org)?;
    let Some(role) = body.org_role else {
        if body.duration.is_some() {
            return Err(ApiError::invalid(
                "duration",
                "a duration goes with org_role implementation_admin",
            ));
        }
        let snap = app.snapshot(&org, None).await?;
        let now = app.now();
        authorize(
            &snap,
            acting.core(),
            Action::MembersChangeRole,
            Resource::Organization,
            now,
        )?;
        return member_after(&app, &org, &user, snap.revision, None).await;
    };
    let snap = app.snapshot(&org, None).await?;
    let inviters = lifecycle::inviter_emails(&app.store, &snap).await?;
    let ((kept, left), revision) = app
        .write(&org, &acting, &request_id, |snap, now| {
            // The rule authorizes before it looks the person up.
            let effects =
                manage::change_org_role(snap, acting.core(), &user, role, body.duration, now)?;
            let before = target(snap, &user, now)?;
            let from = before.org_role;
            let kept: Option<Value> = (from.is_some() && role.is_none()).then(|| {
                snap.space_roles_of(before)
                    .map(|(space_id, r)| json!({"space_id": space_id, "role": r.as_str()}))
                    .collect()
            });
            // An Implementation Admin whose role ends leaves the organization.
            if from == Some(OrgRole::ImplementationAdmin) && role.is_none() {
                let left = json!({
                    "user_id": before.user_id, "email": before.email.as_str(), "name": before.name,
                    "status": before.status.as_str(), "org_role": null, "uses_seat": false,
                    "implementation_admin": null, "space_roles": [], "left_organization": true,
                });
                let write =
                    lifecycle::with_effects(Write::new((kept, Some(left))), effects, "request");
                let inviter = lifecycle::inviter_of(&inviters, before);
                return Ok(lifecycle::ia_ended(
                    write,
                    snap,
                    before,
                    inviter,
                    EndReason::Removed,
                ));
            }
            let mut write = Write::new((kept, None));
            if effects.is_empty() {
                return Ok(write);
            }
            write = lifecycle::with_effects(write, effects, "request").audit(
                AuditDraft::new("member.role_changed")
                    .target(&user)
                    .details(
                        json!({"from": from.map(|r| r.as_str()), "to": role.map(|r| r.as_str())}),
                    ),
            );
            if role == Some(OrgRole::ImplementationAdmin) {
                let duration = body.duration.map(|d| d.as_str());
                write = write.audit(
                    AuditDraft::new("implementation_admin.assigned")
                        .target(&user)
                        .details(json!({"duration": duration})),
                );
            }
            Ok(write)
        })
        .await?;
    if let Some(mut left) = left {
        if let Some(kept) = kept {
            left["kept_space_roles"] = kept;
        }
        return Ok(with_revision(StatusCode::OK, revision, left));
    }
    member_after(
        &app,
        &org,
        &user,
        revision,
        kept.map(|k| ("kept_space_roles", k)),
    )
    .await
}

type Rule = fn(
    &OrgSnapshot,
    roster_core::Actor<'_>,
    &str,
    Timestamp,
) -> Result<Vec<roster_core::Effect>, RuleError>;

/// Deactivate, reactivate and remove: one rule, one audit action each.
fn status_action(action: &str) -> Option<(Rule, &'static str)> {
    match action {
        "deactivate" => Some((manage::deactivate, "member.deactivated")),
        "reactivate" => Some((manage::reactivate, "member.reactivated")),
        "remove" => Some((manage::remove_member, "member.removed")),
        _ => None,
    }
}

async fn run_status_action(
    app: &AppState,
    caller: &Caller,
    request_id: &RequestId,
    org: &str,
    user: &str,
    action: &str,
) -> ApiResult<i64> {
    let acting = caller.acting_in(org)?;
    let (rule, audit) = status_action(action).ok_or_else(|| ApiError::not_found("action"))?;
    let snap = app.snapshot(org, None).await?;
    let inviters = lifecycle::inviter_emails(&app.store, &snap).await?;
    let (_, revision) = app
        .write(org, &acting, request_id, |snap, now| {
            let effects = rule(snap, acting.core(), user, now)?;
            Ok(record_status_change(
                Write::new(()),
                snap,
                user,
                audit,
                effects,
                &inviters,
            ))
        })
        .await?;
    Ok(revision)
}

/// The audit entry of a deactivation, reactivation or removal; removing an
/// Implementation Admin also ends their assignment, with its emails.
fn record_status_change<T>(
    write: Write<T>,
    snap: &OrgSnapshot,
    user: &str,
    audit: &'static str,
    effects: Vec<roster_core::Effect>,
    inviters: &rustc_hash::FxHashMap<String, String>,
) -> Write<T> {
    if effects.is_empty() {
        return write;
    }
    let removed_ia = snap
        .member(user)
        .filter(|m| audit == "member.removed" && m.org_role == Some(OrgRole::ImplementationAdmin));
    let write = lifecycle::with_effects(write, effects, "request")
        .audit(AuditDraft::new(audit).target(user));
    match removed_ia {
        Some(member) => lifecycle::ia_ended(
            write,
            snap,
            member,
            lifecycle::inviter_of(inviters, member),
            EndReason::Removed,
        ),
        None => write,
    }
}

pub async fn deactivate(
    State(app): State<AppState>,
    caller: Caller,
    request_id: RequestId,
    Path((org, user)): Path<(String, String)>,
) -> ApiResult<Response> {
    let revision = run_status_action(&app, &caller, &request_id, &org, &user, "deactivate").await?;
    member_after(&app, &org, &user, revision, None).await
}

pub async fn reactivate(
    State(app): State<AppState>,
    caller: Caller,
    request_id: RequestId,
    Path((org, user)): Path<(String, String)>,
) -> ApiResult<Response> {
    let revision = run_status_action(&app, &caller, &request_id, &org, &user, "reactivate").await?;
    member_after(&app, &org, &user, revision, None).await
}

pub async fn remove(
    State(app): State<AppState>,
    caller: Caller,
    request_id: RequestId,
    Path((org, user)): Path<(String, String)>,
) -> ApiResult<Response> {
    let revision = run_status_action(&app, &caller, &request_id, &org, &user, "remove").await?;
    Ok(with_revision(StatusCode::NO_CONTENT, revision, Value::Null))
}

#[derive(Deserialize)]
pub struct Confirm {
    #[serde(default)]
    pub confirm: bool,
}

pub async fn remove_implementation_admin(
    State(app): State<AppState>,
    caller: Caller,
    request_id: RequestId,
    Path((org, user)): Path<(String, String)>,
    ApiJson(body): ApiJson<Confirm>,
) -> ApiResult<Response> {
    let acting = caller.acting_in(&org)?;
    let snap = app.snapshot(&org, None).await?;
    let inviters = lifecycle::inviter_emails(&app.store, &snap).await?;
    let (_, revision) = app
        .write(&org, &acting, &request_id, |snap, now| {
            let effects = manage::remove_implementation_admin(snap, acting.core(), &user, now)?;
            if !body.confirm {
                return Err(RuleError::ConfirmationRequired { affected: 1 }.into());
            }
            let member = target(snap, &user, now)?;
            let write = lifecycle::with_effects(Write::new(()), effects, "request");
            Ok(lifecycle::ia_ended(
                write,
                snap,
                member,
                lifecycle::inviter_of(&inviters, member),
                EndReason::Removed,
            ))
        })
        .await?;
    Ok(with_revision(StatusCode::NO_CONTENT, revision, Value::Null))
}

#[derive(Deserialize)]
pub struct Bulk {
    action: String,
    user_ids: Vec<String>,
}

/// One transaction; each user's result is decided on the state the
/// previous ones left (two Owners deactivated together: the second is the
/// last one).
pub async fn bulk(
    State(app): State<AppState>,
    caller: Caller,
    request_id: RequestId,
    Path(org): Path<String>,
    ApiJson(body): ApiJson<Bulk>,
) -> ApiResult<Response> {
    let acting = caller.acting_in(&org)?;
    let (rule, audit) = status_action(&body.action).ok_or_else(|| {
        ApiError::invalid("action", "action must be deactivate, reactivate or remove")
    })?;
    if body.user_ids.is_empty() || body.user_ids.len() > 500 {
        return Err(ApiError::invalid(
            "user_ids",
            "user_ids must hold 1 to 500 ids",
        ));
    }
    let snap = app.snapshot(&org, None).await?;
    let inviters = lifecycle::inviter_emails(&app.store, &snap).await?;
    let (results, revision) = app
        .write(&org, &acting, &request_id, |snap, now| {
            let mut working = snap.clone();
            let mut write = Write::new(Vec::new());
            let mut results = Vec::with_capacity(body.user_ids.len());
            for user in &body.user_ids {
                match rule(&working, acting.core(), user, now) {
                    Ok(effects) => {
                        write = record_status_change(write, &working, user, audit, effects.clone(), &inviters);
                        for e in &effects {
                            working.apply(e);
                        }
                        results.push(json!({"user_id": user, "ok": true}));
                    }
                    Err(e) => results.push(json!({"user_id": user, "ok": false, "code": e.code(), "detail": e.to_string()})),
                }
            }
            write.value = results;
            Ok(write)
        })
        .await?;
    Ok(with_revision(
        StatusCode::OK,
        revision,
        json!({"results": results}),
    ))
}

pub async fn seats(
    State(app): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
) -> ApiResult<Json<Value>> {
    let (_, snap) = app.read_as(&caller, &org, Action::SeatsView).await?;
    let now = app.now();
    let usage = snap.seat_usage(now);
    Ok(Json(json!({
        "limit": usage.limit,
        "used": usage.used,
        "reserved": usage.reserved,
        "available": usage.available(),
        "holders": usage.holders,
    })))
}

pub async fn capabilities_of(
    State(app): State<AppState>,
    caller: Caller,
    Path((org, user)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let acting = caller.acting_in(&org)?;
    let snap = app.snapshot(&org, None).await?;
    let now = app.now();
    authorize_view(&snap, &acting, &user, now)?;
    target(&snap, &user, now)?;
    let caps = capabilities(&snap, &user, now);
    Ok(Json(json!({
        "role_management": caps.role_management,
        "admin_area": {"sections": caps.sections},
        "spaces": caps.spaces,
    })))
}
