//! Spaces and their members (API.md "Spaces").

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use roster_core::manage::{self, authorize, target};
use roster_core::{Action, Effect, OrgRole, OrgSnapshot, Resource, Space, SpaceRole};
use roster_store::{AuditDraft, Write};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{paginate, ApiJson, ApiQuery, Page, RequestId};
use crate::routes::{require_name, with_revision};
use crate::secrets::new_id;
use crate::state::{Acting, AppState};

#[derive(Deserialize)]
pub struct SpaceBody {
    pub name: String,
}

fn space_json(space: &Space) -> Value {
    json!({"id": space.id, "name": space.name})
}

pub async fn create(
    State(app): State<AppState>,
    caller: Caller,
    request_id: RequestId,
    Path(org): Path<String>,
    ApiJson(body): ApiJson<SpaceBody>,
) -> ApiResult<Response> {
    let acting = caller.acting_in(&org)?;
    let name = require_name("name", &body.name)?;
    let space = Space {
        id: new_id("spc"),
        name,
    };
    let (_, revision) = app
        .write(&org, &acting, &request_id, |snap, now| {
            authorize(
                snap,
                acting.core(),
                Action::SpacesCreate,
                Resource::Organization,
                now,
            )?;
            Ok(Write::new(())
                .effects(vec![Effect::AddSpace(space.clone())])
                .audit(
                    AuditDraft::new("space.created")
                        .space(&space.id)
                        .details(json!({"name": space.name})),
                ))
        })
        .await?;
    Ok(with_revision(
        StatusCode::CREATED,
        revision,
        space_json(&space),
    ))
}

/// Spaces the caller can open (all of them for org admins and the platform).
pub async fn list(
    State(app): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    ApiQuery(page): ApiQuery<Page>,
) -> ApiResult<Json<Value>> {
    let acting = caller.acting_in(&org)?;
    let snap = app.snapshot(&org, None).await?;
    let now = app.now();
    // SPEC §4 rule 1: no membership, or a deactivated one, sees nothing.
    if let Acting::User(user) = &acting {
        if !manage::holds_access(&snap, user, now) {
            return Err(ApiError::forbidden("no access to this organization"));
        }
    }
    let limit = page.limit()?;
    let cursor = page.cursor("spc")?;
    let mut spaces: Vec<&Space> = snap
        .spaces()
        .filter(|s| cursor.is_none_or(|c| s.id.as_str() > c))
        .filter(|s| {
            authorize(
                &snap,
                acting.core(),
                Action::SpaceView,
                Resource::Space(&s.id),
                now,
            )
            .is_ok()
        })
        .collect();
    spaces.sort_by(|a, b| a.id.cmp(&b.id));
    let (spaces, next_cursor) = paginate(spaces, limit, |s| s.id.clone());
    let items: Vec<Value> = spaces.into_iter().map(space_json).collect();
    Ok(Json(json!({"items": items, "next_cursor": next_cursor})))
}

fn space<'s>(snap: &'s OrgSnapshot, space_id: &str) -> ApiResult<&'s Space> {
    snap.space(space_id)
        .ok_or_else(|| ApiError::not_found("space"))
}

pub async fn get(
    State(app): State<AppState>,
    caller: Caller,
    Path((org, space_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let acting = caller.acting_in(&org)?;
    let snap = app.snapshot(&org, None).await?;
    let found = space(&snap, &space_id)?;
    authorize(
        &snap,
        acting.core(),
        Action::SpaceView,
        Resource::Space(&space_id),
        app.now(),
    )?;
    Ok(Json(space_json(found)))
}

#[derive(Deserialize)]
pub struct PatchSpace {
    name: Option<String>,
}

/// Partial: a missing `name` leaves the space as it is.
pub async fn patch(
    State(app): State<AppState>,
    caller: Caller,
    request_id: RequestId,
    Path((org, space_id)): Path<(String, String)>,
    ApiJson(body): ApiJson<PatchSpace>,
) -> ApiResult<Response> {
    let acting = caller.acting_in(&org)?;
    let name = body
        .name
        .as_deref()
        .map(|n| require_name("name", n))
        .transpose()?;
    let (space, revision) = app
        .write(&org, &acting, &request_id, |snap, now| {
            let current = space(snap, &space_id)?;
            authorize(
                snap,
                acting.core(),
                Action::SpacesManage,
                Resource::Space(&space_id),
                now,
            )?;
            let Some(name) = name.filter(|n| *n != current.name) else {
                return Ok(Write::new(current.clone()));
            };
            let renamed = Space {
                id: space_id.clone(),
                name: name.clone(),
            };
            Ok(Write::new(renamed)
                .effects(vec![Effect::RenameSpace {
                    space_id: space_id.clone(),
                    name: name.clone(),
                }])
                .audit(
                    AuditDraft::new("space.updated")
                        .space(&space_id)
                        .details(json!({"name": name})),
                ))
        })
        .await?;
    Ok(with_revision(StatusCode::OK, revision, space_json(&space)))
}

pub async fn delete(
    State(app): State<AppState>,
    caller: Caller,
    request_id: RequestId,
    Path((org, space_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let acting = caller.acting_in(&org)?;
    let (_, revision) = app
        .write(&org, &acting, &request_id, |snap, now| {
            let found = space(snap, &space_id)?;
            authorize(
                snap,
                acting.core(),
                Action::SpacesDelete,
                Resource::Space(&space_id),
                now,
            )?;
            Ok(Write::new(())
                .effects(vec![Effect::RemoveSpace {
                    space_id: space_id.clone(),
                }])
                .audit(
                    AuditDraft::new("space.deleted")
                        .space(&space_id)
                        .details(json!({"name": found.name})),
                ))
        })
        .await?;
    Ok(with_revision(StatusCode::NO_CONTENT, revision, Value::Null))
}

/// Space member lists: anyone who may `members.view` the space, or the platform.
fn authorize_space_members(
    snap: &OrgSnapshot,
    acting: &Acting,
    space_id: &str,
    app: &AppState,
) -> ApiResult<()> {
    space(snap, space_id)?;
    Ok(authorize(
        snap,
        acting.core(),
        Action::MembersView,
        Resource::Space(space_id),
        app.now(),
    )?)
}

pub async fn members(
    State(app): State<AppState>,
    caller: Caller,
    Path((org, space_id)): Path<(String, String)>,
    ApiQuery(page): ApiQuery<Page>,
) -> ApiResult<Json<Value>> {
    let acting = caller.acting_in(&org)?;
    let snap = app.snapshot(&org, None).await?;
    authorize_space_members(&snap, &acting, &space_id, &app)?;
    let now = app.now();
    let limit = page.limit()?;
    let mut rows: Vec<(String, Option<SpaceRole>, &'static str)> = Vec::new();
    let mut member_total = 0usize;
    for m in snap
        .members()
        .filter(|m| m.is_active() && !m.ia_expired(now))
    {
        match (snap.space_role(m, &space_id), m.effective_org_role(now)) {
            (Some(role), _) => {
                if role != SpaceRole::Sponsor {
                    member_total += 1;
                }
                rows.push((m.user_id.clone(), Some(role), "space"));
            }
            (None, Some(org_role)) => rows.push((m.user_id.clone(), None, org_role.as_str())),
            (None, None) => {}
        }
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    let cursor = page.cursor("usr")?;
    rows.retain(|r| cursor.is_none_or(|c| r.0.as_str() > c));
    let (rows, next_cursor) = paginate(rows, limit, |r| r.0.clone());
    let items: Vec<Value> = rows
        .into_iter()
        .map(|(user_id, role, via)| json!({"user_id": user_id, "role": role.map(|r| r.as_str()), "via": via}))
        .collect();
    Ok(Json(
        json!({"items": items, "member_total": member_total, "next_cursor": next_cursor}),
    ))
}

#[derive(Deserialize)]
pub struct SetRole {
    pub role: SpaceRole,
}

pub async fn set_member(
    State(app): State<AppState>,
    caller: Caller,
    request_id: RequestId,
    Path((org, space_id, user)): Path<(String, String, String)>,
    ApiJson(body): ApiJson<SetRole>,
) -> ApiResult<Response> {
    let acting = caller.acting_in(&org)?;
    let (_, revision) = app
        .write(&org, &acting, &request_id, |snap, now| {
            let previous = target(snap, &user, now)
                .ok()
                .and_then(|m| snap.space_role(m, &space_id));
            let effects =
                manage::set_space_role(snap, acting.core(), &space_id, &user, body.role, now)?;
            if effects.is_empty() {
                return Ok(Write::new(()));
            }
            Ok(Write::new(()).effects(effects).audit(
                AuditDraft::new("space_role.set")
                    .target(&user)
                    .space(&space_id)
                    .details(
                        json!({"from": previous.map(|r| r.as_str()), "to": body.role.as_str()}),
                    ),
            ))
        })
        .await?;
    Ok(with_revision(
        StatusCode::OK,
        revision,
        json!({"user_id": user, "space_id": space_id, "role": body.role.as_str(), "via": "space"}),
    ))
}

pub async fn remove_member(
    State(app): State<AppState>,
    caller: Caller,
    request_id: RequestId,
    Path((org, space_id, user)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    let acting = caller.acting_in(&org)?;
    let (retained, revision) = app
        .write(&org, &acting, &request_id, |snap, now| {
            let removal = manage::remove_space_role(snap, acting.core(), &space_id, &user, now)?;
            let retained: Option<OrgRole> = removal.retained_access;
            Ok(Write::new(retained).effects(removal.effects).audit(
                AuditDraft::new("space_role.removed")
                    .target(&user)
                    .space(&space_id)
                    .details(json!({"retained_access": retained.map(|r| r.as_str())})),
            ))
        })
        .await?;
    let mut response = with_revision(
        StatusCode::OK,
        revision,
        json!({"retained_access": retained.map(|r| r.as_str())}),
    );
    if let Some(role) = retained {
        response.headers_mut().insert(
            "x-roster-retained-access",
            axum::http::HeaderValue::from_static(role.as_str()),
        );
    }
    Ok(response)
}

pub async fn leave(
    State(app): State<AppState>,
    caller: Caller,
    request_id: RequestId,
    Path((org, space_id)): Path<(String, String)>,
    ApiJson(body): ApiJson<crate::routes::members::Confirm>,
) -> ApiResult<Response> {
    let acting = caller.acting_in(&org)?;
    let Acting::User(user) = &acting else {
        return Err(ApiError::forbidden(
            "leaving a space needs a person: send X-Roster-Actor",
        ));
    };
    let (_, revision) = app
        .write(&org, &acting, &request_id, |snap, now| {
            let effects = manage::leave_space(snap, user, &space_id, body.confirm, now)?;
            Ok(Write::new(()).effects(effects).audit(
                AuditDraft::new("member.left_space")
                    .target(user)
                    .space(&space_id),
            ))
        })
        .await?;
    Ok(with_revision(StatusCode::NO_CONTENT, revision, Value::Null))
}

/// Who receives the space's notifications: active members whose column
/// includes `notifications.receive` (never sponsors).
pub async fn notification_recipients(
    State(app): State<AppState>,
    caller: Caller,
    Path((org, space_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let acting = caller.acting_in(&org)?;
    let snap = app.snapshot(&org, None).await?;
    authorize_space_members(&snap, &acting, &space_id, &app)?;
    let now = app.now();
    let mut user_ids: Vec<&str> = snap
        .members()
        .filter(|m| {
            roster_core::decide(
                &snap,
                &m.user_id,
                Action::NotificationsReceive,
                Resource::Space(&space_id),
                now,
            )
            .allowed
        })
        .map(|m| m.user_id.as_str())
        .collect();
    user_ids.sort_unstable();
    Ok(Json(json!({"user_ids": user_ids})))
}
