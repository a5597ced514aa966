//! Organizations (API.md "Organizations"): created by the platform, read by
//! their members, settings and the Implementation Admin toggle.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use roster_core::manage::{authorize, set_implementation_admin_enabled};
use roster_core::{
    Action, DomainAllowlist, DomainPattern, Effect, Email, Member, OrgRole, OrgSettings, Resource,
    Role, SeatPolicy,
};
use roster_store::{AuditDraft, Row, Write, WriteContext};
use serde::Deserialize;
use serde_json::json;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{present, ApiJson, RequestId};
use crate::lifecycle;
use crate::mail::EndReason;
use crate::routes::{require_name, with_revision};
use crate::secrets::new_id;
use crate::state::AppState;
use crate::views;

#[derive(Deserialize)]
pub struct CreateOrg {
    name: String,
    owner_email: String,
    owner_name: Option<String>,
    seat_limit: Option<u32>,
}

pub async fn create(
    State(app): State<AppState>,
    caller: Caller,
    request_id: RequestId,
    ApiJson(body): ApiJson<CreateOrg>,
) -> ApiResult<Response> {
    caller.require_platform()?;
    let name = require_name("name", &body.name)?;
    let email = Email::parse(&body.owner_email)
        .map_err(|e| ApiError::invalid("owner_email", format!("owner_email: {e}")))?;
    let existing = app.store.user_by_email(&email).await?;
    let owner_id = existing
        .as_ref()
        .map_or_else(|| new_id("usr"), |u| u.id.clone());
    let given_name = match body.owner_name.as_deref().filter(|n| !n.trim().is_empty()) {
        Some(n) => Some(require_name("owner_name", n)?),
        None => None,
    };
    let owner_name = given_name
        .or_else(|| existing.as_ref().map(|u| u.name.clone()))
        .unwrap_or_else(|| {
            email
                .as_str()
                .split('@')
                .next()
                .unwrap_or_default()
                .to_owned()
        });
    if body.seat_limit == Some(0) {
        return Err(ApiError::from(roster_core::RuleError::SeatLimitReached {
            limit: 0,
        }));
    }
    let settings = OrgSettings {
        seat_limit: body.seat_limit,
        ia_domains: default_allowlist(&app)?,
        ..OrgSettings::default()
    };
    let org_id = new_id("org");
    let now = app.now();
    let ctx = WriteContext {
        now,
        actor: roster_store::AuditActor::platform(),
        request_id: Some(request_id.0),
    };
    let (_, revision) = app
        .store
        .create_org(&org_id, &name, &settings, &ctx, |_| {
            let mut owner = Member::new(owner_id.clone(), email.clone(), owner_name.clone());
            owner.org_role = Some(OrgRole::Owner);
            let mut write = Write::new(());
            if existing.is_none() {
                write = write.row(Row::CreateUser {
                    id: owner_id.clone(),
                    email: email.clone(),
                    name: owner_name.clone(),
                });
            }
            Ok::<_, ApiError>(
                write
                    .effects(vec![Effect::AddMember(owner)])
                    .audit(
                        AuditDraft::new("org.created")
                            .details(json!({"name": name, "seat_limit": body.seat_limit})),
                    )
                    .audit(
                        AuditDraft::new("member.role_changed")
                            .target(&owner_id)
                            .details(json!({"from": null, "to": "owner"})),
                    ),
            )
        })
        .await?;
    let snap = app.snapshot(&org_id, Some(revision)).await?;
    let body = views::org(&snap, Some((&owner_id, email.as_str())));
    Ok(with_revision(StatusCode::CREATED, revision, body))
}

fn default_allowlist(app: &AppState) -> ApiResult<DomainAllowlist> {
    DomainAllowlist::parse_all(app.config.default_ia_domains.iter().map(String::as_str)).map_err(
        |(entry, e)| ApiError::internal(format!("ROSTER_DEFAULT_IA_DOMAINS entry {entry}: {e}")),
    )
}

/// The first active Owner, for the organization's `owner` field.
fn first_owner(snap: &roster_core::OrgSnapshot) -> Option<(&str, &str)> {
    snap.members()
        .filter(|m| m.org_role == Some(OrgRole::Owner) && m.is_active())
        .min_by(|a, b| a.user_id.cmp(&b.user_id))
        .map(|m| (m.user_id.as_str(), m.email.as_str()))
}

pub async fn get(
    State(app): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
) -> ApiResult<Response> {
    let (_, snap) = app.read_as(&caller, &org, Action::MembersView).await?;
    Ok(Json(views::org(&snap, first_owner(&snap))).into_response())
}

#[derive(Deserialize)]
pub struct PatchOrg {
    name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    seat_limit: Option<Option<u32>>,
    seat_roles: Option<Vec<String>>,
}

pub async fn patch(
    State(app): State<AppState>,
    caller: Caller,
    request_id: RequestId,
    Path(org): Path<String>,
    ApiJson(body): ApiJson<PatchOrg>,
) -> ApiResult<Response> {
    let acting = caller.acting_in(&org)?;
    if (body.seat_limit.is_some() || body.seat_roles.is_some()) && caller != Caller::Platform {
        return Err(ApiError::forbidden(
            "only the platform operator sets seat limits and seat roles",
        ));
    }
    let name = body
        .name
        .as_deref()
        .map(|n| require_name("name", n))
        .transpose()?;
    let seat_policy = body
        .seat_roles
        .as_ref()
        .map(|roles| {
            roles
                .iter()
                .map(|r| {
                    r.parse::<Role>()
                        .map_err(|e| ApiError::invalid("seat_roles", e.to_string()))
                })
                .collect::<ApiResult<Vec<_>>>()
                .map(SeatPolicy::from_roles)
        })
        .transpose()?;
    let (_, revision) = app
        .write(&org, &acting, &request_id, |snap, now| {
            authorize(
                snap,
                acting.core(),
                Action::SettingsManage,
                Resource::Organization,
                now,
            )?;
            let mut write = Write::new(());
            let mut changes = serde_json::Map::new();
            if let Some(name) = name.filter(|n| *n != snap.name) {
                changes.insert("name".into(), json!(name));
                write = write.effects(vec![Effect::SetName(name)]);
            }
            let mut settings = snap.settings.clone();
            if let Some(limit) = body.seat_limit {
                settings.seat_limit = limit;
            }
            if let Some(policy) = seat_policy {
                settings.seat_policy = policy;
            }
            if settings != snap.settings {
                changes.insert("seat_limit".into(), json!(settings.seat_limit));
                changes.insert(
                    "seat_roles".into(),
                    json!(settings
                        .seat_policy
                        .seat_roles()
                        .map(|r| r.as_str())
                        .collect::<Vec<_>>()),
                );
                write = write.effects(vec![Effect::SetSettings(settings)]);
            }
            if !changes.is_empty() {
                write = write.audit(
                    AuditDraft::new("org.updated").details(serde_json::Value::Object(changes)),
                );
            }
            Ok(write)
        })
        .await?;
    let snap = app.snapshot(&org, Some(revision)).await?;
    Ok(with_revision(
        StatusCode::OK,
        revision,
        views::org(&snap, first_owner(&snap)),
    ))
}

pub async fn delete(
    State(app): State<AppState>,
    caller: Caller,
    request_id: RequestId,
    Path(org): Path<String>,
) -> ApiResult<Response> {
    let acting = caller.acting_in(&org)?;
    let (_, revision) = app
        .write(&org, &acting, &request_id, |snap, now| {
            authorize(
                snap,
                acting.core(),
                Action::OrgDelete,
                Resource::Organization,
                now,
            )?;
            Ok(Write::new(())
                .row(Row::DeleteOrg)
                .audit(AuditDraft::new("org.deleted").details(json!({"name": snap.name}))))
        })
        .await?;
    Ok(with_revision(
        StatusCode::NO_CONTENT,
        revision,
        serde_json::Value::Null,
    ))
}

#[derive(Deserialize)]
pub struct Domains {
    pub domains: Vec<String>,
}

pub async fn put_domains(
    State(app): State<AppState>,
    caller: Caller,
    request_id: RequestId,
    Path(org): Path<String>,
    ApiJson(body): ApiJson<Domains>,
) -> ApiResult<Response> {
    caller.require_platform()?;
    if body.domains.len() > 200 {
        return Err(ApiError::invalid("domains", "at most 200 domains"));
    }
    let mut patterns = Vec::with_capacity(body.domains.len());
    for entry in &body.domains {
        let pattern = DomainPattern::parse(entry)
            .map_err(|e| ApiError::invalid("domains", format!("{entry}: {e}")))?;
        patterns.push(pattern);
    }
    let allowlist = DomainAllowlist::new(patterns);
    let (domains, revision) = app
        .write(&org, &caller.acting_in(&org)?, &request_id, |snap, _| {
            let mut settings = snap.settings.clone();
            settings.ia_domains = allowlist;
            let domains: Vec<String> = settings
                .ia_domains
                .patterns()
                .iter()
                .map(ToString::to_string)
                .collect();
            let mut write = Write::new(domains.clone());
            if settings != snap.settings {
                write = write.effects(vec![Effect::SetSettings(settings)]).audit(
                    AuditDraft::new("allowlist.changed").details(json!({"domains": domains})),
                );
            }
            Ok(write)
        })
        .await?;
    Ok(with_revision(
        StatusCode::OK,
        revision,
        json!({"domains": domains}),
    ))
}

pub async fn get_domains(
    State(app): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
) -> ApiResult<Response> {
    let (_, snap) = app.read_as(&caller, &org, Action::MembersInvite).await?;
    let domains = roster_core::manage::allowed_domains(&snap);
    Ok(Json(json!({"domains": domains})).into_response())
}

#[derive(Deserialize)]
pub struct IaSetting {
    pub enabled: bool,
    #[serde(default)]
    pub confirm: bool,
}

pub async fn put_ia_setting(
    State(app): State<AppState>,
    caller: Caller,
    request_id: RequestId,
    Path(org): Path<String>,
    ApiJson(body): ApiJson<IaSetting>,
) -> ApiResult<Response> {
    let acting = caller.acting_in(&org)?;
    let snap = app.snapshot(&org, None).await?;
    let inviters = lifecycle::inviter_emails(&app.store, &snap).await?;
    let (removed, revision) = app
        .write(&org, &acting, &request_id, |snap, now| {
            let outcome = set_implementation_admin_enabled(
                snap,
                acting.core(),
                body.enabled,
                body.confirm,
                now,
            )?;
            let mut write = lifecycle::with_effects(
                Write::new(outcome.removed.clone()),
                outcome.effects,
                "setting_disabled",
            );
            for user_id in &outcome.removed {
                if let Some(member) = snap.member(user_id) {
                    let inviter = lifecycle::inviter_of(&inviters, member);
                    write = lifecycle::ia_ended(
                        write,
                        snap,
                        member,
                        inviter,
                        EndReason::SettingDisabled,
                    );
                }
            }
            if body.enabled != snap.settings.allow_implementation_admin {
                write = write.audit(AuditDraft::new("setting.changed").details(json!({
                    "setting": "allow_implementation_admin",
                    "from": snap.settings.allow_implementation_admin,
                    "to": body.enabled,
                })));
            }
            Ok(write)
        })
        .await?;
    Ok(with_revision(
        StatusCode::OK,
        revision,
        json!({"enabled": body.enabled, "removed": removed}),
    ))
}
