//! What the Users page's forms do: each parses its form and calls one use
//! case, then redirects with a notice or shows the page again with the
//! problem next to the control that caused it.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use roster_core::invite::{EmailInput, InviteRequest};
use roster_core::{IaDuration, OrgRole, Role, SpaceId, UserId};
use serde::Deserialize;

use super::{render, FormState, UsersQuery};
use crate::app::RequestId;
use crate::error::ApiError;
use crate::extract::{ApiForm, ApiPath};
use crate::state::AppState;
use crate::ui::kit;
use crate::ui::session::Viewer;

#[derive(Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    emails: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    space_ids: Vec<String>,
    duration: Option<String>,
    message: Option<String>,
}

pub async fn invite(
    State(app): State<AppState>,
    request_id: RequestId,
    viewer: Viewer,
    ApiForm(form): ApiForm<InviteForm>,
) -> Response {
    if let Some(refused) = viewer.csrf_refusal(&form.csrf) {
        return refused;
    }
    let keep = |mut state: FormState| {
        state.emails = form.emails.clone();
        state.role = form.role.clone();
        state.spaces = form.space_ids.clone();
        state.duration = form.duration.clone().unwrap_or_default();
        state.message = form.message.clone().unwrap_or_default();
        state
    };
    let q = UsersQuery {
        modal: Some("invite".into()),
        ..UsersQuery::default()
    };
    let Ok(role) = form.role.parse::<Role>() else {
        let problem = FormState::problem("Choose a role.".into());
        return render(&viewer, &q, keep(problem), StatusCode::BAD_REQUEST);
    };
    let duration = match role {
        Role::Org(OrgRole::ImplementationAdmin) => form
            .duration
            .as_deref()
            .and_then(|d| d.parse::<IaDuration>().ok()),
        _ => None,
    };
    let space_ids = match role {
        Role::Space(_) => form
            .space_ids
            .iter()
            .map(|s| SpaceId::from(s.as_str()))
            .collect(),
        Role::Org(_) => Vec::new(),
    };
    let request = InviteRequest {
        emails: EmailInput::Text(form.emails.clone()),
        role,
        space_ids,
        duration,
        message: form.message.clone().filter(|m| !m.trim().is_empty()),
    };
    match app
        .invite(&viewer.ctx(request_id), &viewer.org_id, &request)
        .await
    {
        Ok(_) => kit::see_other("/ui/users?notice=Invitations+sent"),
        Err(e) => render(&viewer, &q, keep(FormState::from_error(&e)), e.status),
    }
}

#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    csrf: String,
    org_role: String,
    duration: Option<String>,
}

pub async fn change_role(
    State(app): State<AppState>,
    request_id: RequestId,
    viewer: Viewer,
    ApiPath(user): ApiPath<UserId>,
    ApiForm(form): ApiForm<RoleForm>,
) -> Response {
    if let Some(refused) = viewer.csrf_refusal(&form.csrf) {
        return refused;
    }
    let q = UsersQuery {
        modal: Some("role".into()),
        user: Some(user.to_string()),
        ..UsersQuery::default()
    };
    let role = match form.org_role.as_str() {
        "none" => None,
        other => match other.parse::<OrgRole>() {
            Ok(r) => Some(r),
            Err(e) => {
                let problem = FormState::problem(e.to_string());
                return render(&viewer, &q, problem, StatusCode::BAD_REQUEST);
            }
        },
    };
    let duration = (role == Some(OrgRole::ImplementationAdmin))
        .then(|| form.duration.as_deref().and_then(|d| d.parse().ok()))
        .flatten();
    let ctx = viewer.ctx(request_id);
    match app
        .change_role(&ctx, &viewer.org_id, &user, Some(role), duration)
        .await
    {
        Ok(_) => kit::see_other("/ui/users?notice=Role+changed"),
        Err(e) => render(&viewer, &q, FormState::problem(e.detail.clone()), e.status),
    }
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    csrf: String,
}

impl ConfirmForm {
    pub fn csrf(&self) -> &str {
        &self.csrf
    }
}

pub async fn member_action(
    State(app): State<AppState>,
    request_id: RequestId,
    viewer: Viewer,
    ApiPath((user, action)): ApiPath<(UserId, String)>,
    ApiForm(form): ApiForm<ConfirmForm>,
) -> Response {
    if let Some(refused) = viewer.csrf_refusal(&form.csrf) {
        return refused;
    }
    let (ctx, org) = (viewer.ctx(request_id), &viewer.org_id);
    let result = match action.as_str() {
        "deactivate" => app
            .deactivate(&ctx, org, &user)
            .await
            .map(|_| "Deactivated"),
        "reactivate" => app
            .reactivate(&ctx, org, &user)
            .await
            .map(|_| "Reactivated"),
        "remove" => app
            .remove_member(&ctx, org, &user)
            .await
            .map(|_| "Removed+from+the+organization"),
        "remove-ia" => app
            .remove_implementation_admin(&ctx, org, &user, true)
            .await
            .map(|_| "Implementation+Admin+removed"),
        _ => Err(ApiError::not_found("action")),
    };
    match result {
        Ok(done) => kit::see_other(&format!("/ui/users?notice={done}")),
        Err(e) => {
            let q = UsersQuery {
                modal: Some(action),
                user: Some(user.to_string()),
                ..UsersQuery::default()
            };
            render(&viewer, &q, FormState::problem(e.detail.clone()), e.status)
        }
    }
}
