//! Invitations (API.md "Invitations"): batches, listing, resend, revoke and
//! acceptance with the token from the email.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use roster_core::invite::{self, EmailInput, InviteRequest, Invitee};
use roster_core::{
    Action, Effect, Email, IaDuration, Invitation, InvitationStatus, OrgRole, OrgSnapshot, Role,
};
use roster_store::{AuditActor, AuditDraft, Row, Write, WriteContext};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{paginate, ApiJson, ApiQuery, Page, RequestId};
use crate::mail;
use crate::routes::{require_name, with_revision};
use crate::secrets::{self, new_id};
use crate::state::{Acting, AppState};
use crate::views;

#[derive(Deserialize)]
#[serde(untagged)]
pub enum Emails {
    List(Vec<String>),
    Text(String),
}

#[derive(Deserialize)]
pub struct CreateBatch {
    pub emails: Emails,
    pub role: Role,
    #[serde(default)]
    pub space_ids: Vec<String>,
    pub duration: Option<IaDuration>,
    pub message: Option<String>,
}

/// The link in an invitation email, with a fresh secret; only its hash is kept.
fn invitation_link(app: &AppState) -> (String, String) {
    let secret = format!("inv_{}", secrets::random_secret());
    let link = format!(
        "{}/invitations/accept?token={secret}",
        app.config.public_url
    );
    (secrets::hash(&secret), link)
}

fn inviter_name<'s>(snap: &'s OrgSnapshot, acting: &Acting) -> Option<&'s str> {
    acting
        .user_id()
        .and_then(|u| snap.member(u))
        .map(|m| m.name.as_str())
}

/// One pending invitation's token row, audit entry and email.
fn send<T>(
    app: &AppState,
    snap: &OrgSnapshot,
    acting: &Acting,
    inv: &Invitation,
    write: Write<T>,
    action: &'static str,
) -> Write<T> {
    let (hash, link) = invitation_link(app);
    write
        .row(Row::InvitationToken {
            invitation_id: inv.id.clone(),
            token_hash: hash,
        })
        .email(mail::invitation(
            &snap.name,
            inv,
            inviter_name(snap, acting),
            &link,
        ))
        .audit(AuditDraft::new(action).details(json!({
            "invitation_id": inv.id,
            "email": inv.email.as_str(),
            "role": inv.role.as_str(),
            "space_ids": inv.space_ids,
            "duration": inv.duration.map(|d| d.as_str()),
            "send_count": inv.send_count,
        })))
}

pub async fn create(
    State(app): State<AppState>,
    caller: Caller,
    request_id: RequestId,
    Path(org): Path<String>,
    ApiJson(body): ApiJson<CreateBatch>,
) -> ApiResult<Response> {
    let acting = caller.acting_in(&org)?;
    if body.message.as_ref().is_some_and(|m| {
        m.chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    }) {
        return Err(ApiError::invalid(
            "message",
            "the message must not contain control characters",
        ));
    }
    if body.message.as_ref().is_some_and(|m| m.len() > 5000) {
        return Err(ApiError::invalid(
            "message",
            "the message is limited to 5000 characters",
        ));
    }
    let request = InviteRequest {
        emails: match body.emails {
            Emails::List(items) => EmailInput::List(items),
            Emails::Text(text) => EmailInput::Text(text),
        },
        role: body.role,
        space_ids: body.space_ids,
        duration: body.duration,
        message: body.message,
    };
    let ttl = app.config.invitation_ttl;
    let ((batch_id, invitations), revision) = app
        .write(&org, &acting, &request_id, |snap, now| {
            let mut first_id = true;
            let plan =
                invite::plan_invitations(snap, acting.core(), &request, now, ttl, &mut || {
                    // The first id is the batch's.
                    new_id(if std::mem::take(&mut first_id) {
                        "bat"
                    } else {
                        "inv"
                    })
                })
                .map_err(|e| batch_problem(e, &request, snap))?;
            let mut write =
                Write::new((plan.batch_id.clone(), plan.invitations.clone())).effects(plan.effects);
            for inv in &plan.invitations {
                write = match inv.status {
                    InvitationStatus::Pending => {
                        send(&app, snap, &acting, inv, write, "invitation.created")
                    }
                    _ => added_to_spaces(snap, inv, write),
                };
            }
            Ok(write)
        })
        .await?;
    let items: Vec<Value> = invitations.iter().map(views::invitation).collect();
    Ok(with_revision(
        StatusCode::CREATED,
        revision,
        json!({"batch_id": batch_id, "invitations": items}),
    ))
}

/// A refused batch names every address (API.md: `rejected`, and
/// `allowed_domains` whenever the allowlist refused one), also when the
/// reason is not about one address in particular.
fn batch_problem(
    e: roster_core::RuleError,
    request: &InviteRequest,
    snap: &OrgSnapshot,
) -> ApiError {
    let whole_batch = matches!(
        e,
        roster_core::RuleError::ImplementationAdminDisabled
            | roster_core::RuleError::SeatLimitReached { .. }
    );
    let code = e.code();
    let outside_allowlist = e.rejected().iter().any(|r| r.code == "domain_not_allowed");
    let mut problem = ApiError::from(e);
    if whole_batch {
        let rejected: Vec<Value> = request
            .emails
            .entries()
            .iter()
            .map(|email| json!({"email": email, "code": code}))
            .collect();
        problem = problem.with("rejected", json!(rejected));
    }
    if outside_allowlist && !problem.extra.contains_key("allowed_domains") {
        problem = problem.with(
            "allowed_domains",
            json!(roster_core::manage::allowed_domains(snap)),
        );
    }
    problem
}

/// An existing member invited into spaces gets the role at once.
fn added_to_spaces<T>(snap: &OrgSnapshot, inv: &Invitation, mut write: Write<T>) -> Write<T> {
    let user = snap
        .member_by_email(&inv.email)
        .map(|m| m.user_id.clone())
        .unwrap_or_default();
    write = write.audit(AuditDraft::new("invitation.accepted").target(&user).details(json!({
        "invitation_id": inv.id, "email": inv.email.as_str(), "role": inv.role.as_str(), "existing_member": true,
    })));
    for space in &inv.space_ids {
        write = write.audit(
            AuditDraft::new("space_role.set")
                .target(&user)
                .space(space)
                .details(json!({"to": inv.role.as_str()})),
        );
    }
    write
}

#[derive(Deserialize)]
pub struct InvitationFilter {
    status: Option<String>,
    #[serde(flatten)]
    page: Page,
}

pub async fn list(
    State(app): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    ApiQuery(filter): ApiQuery<InvitationFilter>,
) -> ApiResult<Json<Value>> {
    app.read_as(&caller, &org, Action::MembersView).await?;
    let status = filter
        .status
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| {
            InvitationStatus::parse(s)
                .ok_or_else(|| ApiError::invalid("status", format!("unknown status `{s}`")))
        })
        .transpose()?;
    let limit = filter.page.limit()?;
    let rows = app
        .store
        .invitations(&org, status, filter.page.cursor("inv")?, limit as i64 + 1)
        .await?;
    let (rows, next_cursor) = paginate(rows, limit, |inv| inv.id.clone());
    let now = app.now();
    let items: Vec<Value> = rows
        .iter()
        .map(|inv| {
            // A pending invitation past its expiry is expired, job or not.
            let mut shown = inv.clone();
            if shown.status == InvitationStatus::Pending && shown.expires_at <= now {
                shown.status = InvitationStatus::Expired;
            }
            views::invitation(&shown)
        })
        .collect();
    Ok(Json(json!({"items": items, "next_cursor": next_cursor})))
}

pub async fn resend(
    State(app): State<AppState>,
    caller: Caller,
    request_id: RequestId,
    Path((org, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let acting = caller.acting_in(&org)?;
    let ttl = app.config.invitation_ttl;
    let (inv, revision) = app
        .write(&org, &acting, &request_id, |snap, now| {
            let inv = invite::resend_invitation(snap, acting.core(), &id, now, ttl)?;
            let write = Write::new(inv.clone()).effects(vec![Effect::PutInvitation(inv.clone())]);
            Ok(send(&app, snap, &acting, &inv, write, "invitation.resent"))
        })
        .await?;
    Ok(with_revision(
        StatusCode::OK,
        revision,
        views::invitation(&inv),
    ))
}

pub async fn revoke(
    State(app): State<AppState>,
    caller: Caller,
    request_id: RequestId,
    Path((org, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let acting = caller.acting_in(&org)?;
    let (_, revision) = app
        .write(&org, &acting, &request_id, |snap, now| {
            let inv = invite::revoke_invitation(snap, acting.core(), &id, now)?;
            Ok(Write::new(())
                .effects(vec![Effect::PutInvitation(inv.clone())])
                .audit(
                    AuditDraft::new("invitation.revoked")
                        .details(json!({"invitation_id": inv.id, "email": inv.email.as_str()})),
                ))
        })
        .await?;
    Ok(with_revision(StatusCode::NO_CONTENT, revision, Value::Null))
}

#[derive(Deserialize)]
pub struct Accept {
    token: String,
    name: Option<String>,
}

pub async fn accept(
    State(app): State<AppState>,
    request_id: RequestId,
    ApiJson(body): ApiJson<Accept>,
) -> ApiResult<Response> {
    let (org_id, user_id, revision) =
        accept_token(&app, &request_id, body.token.trim(), body.name.as_deref()).await?;
    Ok(with_revision(
        StatusCode::OK,
        revision,
        json!({"user_id": user_id, "org_id": org_id}),
    ))
}

/// Accepts the invitation a token names: the account is created when the
/// email is new. Answers the organization, the user and the revision.
pub async fn accept_token(
    app: &AppState,
    request_id: &RequestId,
    token: &str,
    name: Option<&str>,
) -> ApiResult<(String, String, i64)> {
    let invalid = || ApiError::not_found("invitation");
    if !token.starts_with("inv_") || token.len() > 200 {
        return Err(invalid());
    }
    let (org_id, invitation) = app
        .store
        .invitation_by_token(&secrets::hash(token))
        .await?
        .ok_or_else(invalid)?;
    let existing = app.store.user_by_email(&invitation.email).await?;
    let user_id = existing
        .as_ref()
        .map_or_else(|| new_id("usr"), |u| u.id.clone());
    let given = match name.filter(|n| !n.trim().is_empty()) {
        Some(n) => Some(require_name("name", n)?),
        None => None,
    };
    let name = given
        .or_else(|| existing.as_ref().map(|u| u.name.clone()))
        .unwrap_or_else(|| default_name(&invitation.email));
    let now = app.now();
    let ctx = WriteContext {
        now,
        actor: AuditActor::user(&user_id),
        request_id: Some(request_id.0.clone()),
    };
    let invitee = Invitee {
        user_id: user_id.clone(),
        name: name.clone(),
    };
    let (_, revision) = app
        .store
        .write(&org_id, &ctx, |snap| {
            let effects = invite::accept_invitation(snap, &invitation.id, &invitee, now)?;
            let mut write = Write::new(()).effects(effects);
            if existing.is_none() {
                write = write.row(Row::CreateUser { id: user_id.clone(), email: invitation.email.clone(), name: name.clone() });
            }
            write = write.audit(AuditDraft::new("invitation.accepted").target(&user_id).details(json!({
                "invitation_id": invitation.id, "email": invitation.email.as_str(), "role": invitation.role.as_str(),
            })));
            Ok::<_, ApiError>(match invitation.role {
                Role::Org(OrgRole::ImplementationAdmin) => write.audit(
                    AuditDraft::new("implementation_admin.assigned").target(&user_id).details(json!({
                        "duration": invitation.duration.map(|d| d.as_str()),
                        "invited_by": invitation.invited_by,
                    })),
                ),
                Role::Org(role) => write.audit(
                    AuditDraft::new("member.role_changed").target(&user_id).details(json!({"from": null, "to": role.as_str()})),
                ),
                Role::Space(role) => invitation.space_ids.iter().fold(write, |w, space| {
                    w.audit(AuditDraft::new("space_role.set").target(&user_id).space(space).details(json!({"to": role.as_str()})))
                }),
            })
        })
        .await?;
    Ok((org_id, user_id, revision))
}

fn default_name(email: &Email) -> String {
    email
        .as_str()
        .split('@')
        .next()
        .unwrap_or_default()
        .to_owned()
}
