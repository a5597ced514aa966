//! Programs, and Program › Members: space roles, adding an existing member,
//! and the inherited-access message (seed `002_…`: "Has not been removed").

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use roster_core::capabilities::SpaceView;
use roster_core::invite::{EmailInput, InviteRequest};
use roster_core::space_roles::authorize_space_roles;
use roster_core::{access, Action, Name, Resource, Role, SpaceId, SpaceRole, UserId};
use serde::Deserialize;

use super::kit::{self, badge, dialog, error, notice};
use super::session::Viewer;
use super::users::ConfirmForm;
use crate::app::RequestId;
use crate::extract::{ApiForm, ApiPath};
use crate::state::AppState;

#[derive(Deserialize, Default)]
pub struct ListQuery {
    notice: Option<String>,
}

pub async fn list(viewer: Viewer, Query(q): Query<ListQuery>) -> Response {
    render_list(&viewer, q.notice.as_deref(), None, StatusCode::OK)
}

fn render_list(
    viewer: &Viewer,
    done: Option<&str>,
    problem: Option<&str>,
    status: StatusCode,
) -> Response {
    let content = html! {
        (notice(done))
        @if viewer.may(Action::SpacesCreate) {
            form.filters method="post" action="/ui/spaces" {
                (viewer.csrf_field())
                div {
                    label for="space-name" { "New program" }
                    input #space-name type="text" name="name" required;
                }
                button type="submit" { "Create program" }
            }
            (error(problem))
        }
        @if viewer.caps.spaces.is_empty() {
            p { "You are not in any program yet." }
        } @else {
            table #programs {
                thead { tr { th { "Program" } th { "Your view" } } }
                tbody {
                    @for s in &viewer.caps.spaces {
                        tr {
                            td { a href={ "/ui/spaces/" (s.space_id) } { (viewer.snap.space(&s.space_id).map(|x| x.name.as_str()).unwrap_or_default()) } }
                            td { (match s.view { SpaceView::Admin => "Admin", SpaceView::Facilitator => "Facilitator", SpaceView::Participant => "Participant", SpaceView::Sponsor => "Sponsor" }) }
                        }
                    }
                }
            }
        }
    };
    kit::render_with(status, kit::page(viewer, "programs", "Programs", content))
}

#[derive(Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
}

pub async fn create(
    State(app): State<AppState>,
    request_id: RequestId,
    viewer: Viewer,
    ApiForm(form): ApiForm<CreateForm>,
) -> Response {
    if let Some(refused) = viewer.csrf_refusal(&form.csrf) {
        return refused;
    }
    let created = match Name::parse("name", &form.name) {
        Ok(name) => {
            app.create_space(&viewer.ctx(request_id), &viewer.org_id, name)
                .await
        }
        Err(e) => Err(e.into()),
    };
    match created {
        Ok(_) => kit::see_other("/ui/spaces?notice=Program+created"),
        Err(e) => render_list(&viewer, None, Some(&e.detail), e.status),
    }
}

#[derive(Deserialize, Default)]
pub struct SpaceQuery {
    notice: Option<String>,
    modal: Option<String>,
    user: Option<String>,
}

pub async fn members(
    viewer: Viewer,
    ApiPath(space): ApiPath<SpaceId>,
    Query(q): Query<SpaceQuery>,
) -> Response {
    render(&viewer, &space, &q, None, StatusCode::OK)
}

fn render(
    viewer: &Viewer,
    space_id: &SpaceId,
    q: &SpaceQuery,
    problem: Option<String>,
    status: StatusCode,
) -> Response {
    let Some(space) = viewer.snap.space(space_id) else {
        return kit::render_with(
            StatusCode::NOT_FOUND,
            kit::page(viewer, "programs", "Program not found", html! {}),
        );
    };
    let actor = viewer.actor();
    let sees = access::allows(
        &viewer.snap,
        &actor,
        Action::MembersView,
        Resource::Space(space_id),
        viewer.now,
    );
    if !sees {
        return kit::render_with(
            StatusCode::FORBIDDEN,
            kit::page(
                viewer,
                "programs",
                "Not available",
                html! { p { "You cannot see this program's members." } },
            ),
        );
    }
    let manages = authorize_space_roles(&viewer.snap, &actor, space_id, viewer.now).is_ok();
    let may_leave = access::allows(
        &viewer.snap,
        &actor,
        Action::SpaceLeave,
        Resource::Space(space_id),
        viewer.now,
    );
    let mut rows: Vec<_> = viewer
        .snap
        .members()
        .filter(|m| m.is_active() && !m.ia_expired(viewer.now))
        .filter_map(|m| {
            match (
                viewer.snap.space_role(m, space_id),
                m.effective_org_role(viewer.now),
            ) {
                (Some(role), _) => Some((m, Some(role), None)),
                (None, Some(org_role)) => Some((m, None, Some(org_role))),
                (None, None) => None,
            }
        })
        .collect();
    rows.sort_by(|a, b| a.0.name.cmp(&b.0.name));
    let addable: Vec<_> = viewer
        .snap
        .members()
        .filter(|m| m.is_active() && viewer.snap.space_role(m, space_id).is_none())
        .collect();
    let back = format!("/ui/spaces/{space_id}");
    let title = format!("{} › Members", space.name);
    let content = html! {
        (notice(q.notice.as_deref()))
        @if q.modal.is_none() { (error(problem.as_deref())) }
        table #space-members {
            thead { tr { th { "Name" } th { "Email" } th { "Role in this program" } th { span.sr { "Actions" } } } }
            tbody {
                @for (m, role, via) in &rows {
                    tr data-user=(m.user_id) {
                        td { (m.name) }
                        td { (m.email.as_str()) }
                        td {
                            @if let Some(role) = role { (badge("space", role.label())) }
                            @if let Some(org_role) = via { (badge(org_role.as_str(), org_role.label())) span.hint { " (through their organization role)" } }
                        }
                        td {
                            @if manages {
                                form.inline method="post" action={ (back) "/members" } {
                                    (viewer.csrf_field())
                                    input type="hidden" name="user_id" value=(m.user_id);
                                    select name="role" aria-label={ "Program role for " (m.name) } {
                                        @for r in SpaceRole::ALL { option value=(r.as_str()) selected[*role == Some(*r)] { (r.label()) } }
                                    }
                                    " "
                                    button.secondary type="submit" aria-label={ "Set role for " (m.name) } { "Set role" }
                                }
                                " "
                                a href={ (back) "?modal=remove&user=" (m.user_id) } aria-label={ "Remove " (m.name) " from this program" } { "Remove" }
                            }
                        }
                    }
                }
            }
        }
        @if manages {
            section aria-labelledby="invite-heading" {
                h2 #invite-heading { "Invite people to this program" }
                form method="post" action={ (back) "/invite" } {
                    (viewer.csrf_field())
                    label for="program-invite-emails" { "Email addresses" }
                    p.hint #program-invite-hint { "Separated by commas, semicolons, spaces or new lines. If one fails, nobody is invited." }
                    textarea #program-invite-emails name="emails" required aria-describedby="program-invite-hint" {}
                    label for="program-invite-role" { "Role" }
                    select #program-invite-role name="role" {
                        @for r in SpaceRole::ALL { option value=(r.as_str()) selected[*r == SpaceRole::Participant] { (r.label()) } }
                    }
                    p { button type="submit" { "Send Invitations" } }
                }
            }
        }
        @if manages && !addable.is_empty() {
            section aria-labelledby="add-heading" {
                h2 #add-heading { "Add an existing member" }
                form method="post" action={ (back) "/members" } {
                    (viewer.csrf_field())
                    label for="add-user" { "Member" }
                    select #add-user name="user_id" {
                        @for m in &addable { option value=(m.user_id) { (m.name) " (" (m.email.as_str()) ")" } }
                    }
                    label for="add-role" { "Role" }
                    select #add-role name="role" {
                        @for r in SpaceRole::ALL { option value=(r.as_str()) { (r.label()) } }
                    }
                    p { button type="submit" { "Add to program" } }
                }
            }
        }
        @if may_leave {
            p { a.button.secondary href={ (back) "?modal=leave" } { "Leave this program" } }
        }
        @if may_leave && q.modal.as_deref() == Some("leave") {
            (dialog("leave-dialog", &format!("Leave {}?", space.name), &back, html! {
                form method="post" action={ (back) "/leave" } {
                    (viewer.csrf_field())
                    (error(problem.as_deref()))
                    p { "You will no longer take part in this program. Someone who runs it can add you again." }
                    p { button.danger type="submit" { "Leave program" } }
                }
            }))
        }
        @if let (Some("remove"), Some(m)) = (q.modal.as_deref(), q.user.as_deref().and_then(|u| viewer.snap.member(&UserId::from(u)))) {
            (dialog("remove-dialog", &format!("Remove {} from {}?", m.name, space.name), &back, html! {
                form method="post" action={ (back) "/members/" (m.user_id) "/remove" } {
                    (viewer.csrf_field())
                    (error(problem.as_deref()))
                    p { "Their role in this program is removed. Access they have through an organization role stays." }
                    p { button.danger type="submit" { "Remove" } }
                }
            }))
        }
    };
    kit::render_with(status, kit::page(viewer, "programs", &title, content))
}

#[derive(Deserialize)]
pub struct AddForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    user_id: String,
    #[serde(default)]
    role: String,
}

/// A participant leaves a program themselves, after confirming (SPEC §7).
pub async fn leave(
    State(app): State<AppState>,
    request_id: RequestId,
    viewer: Viewer,
    ApiPath(space): ApiPath<SpaceId>,
    ApiForm(form): ApiForm<ConfirmForm>,
) -> Response {
    if let Some(refused) = viewer.csrf_refusal(form.csrf()) {
        return refused;
    }
    match app
        .leave_space(&viewer.ctx(request_id), &viewer.org_id, &space, true)
        .await
    {
        Ok(_) => kit::see_other("/ui/spaces?notice=You+left+the+program"),
        Err(e) => {
            let q = SpaceQuery {
                modal: Some("leave".into()),
                user: None,
                notice: None,
            };
            render(&viewer, &space, &q, Some(e.detail.clone()), e.status)
        }
    }
}

#[derive(Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    emails: String,
    #[serde(default)]
    role: String,
}

/// A program form's CSRF token and role, or the page that refuses them.
fn checked_role(
    viewer: &Viewer,
    space: &SpaceId,
    csrf: &str,
    role: &str,
) -> Result<SpaceRole, Box<Response>> {
    if let Some(refused) = viewer.csrf_refusal(csrf) {
        return Err(Box::new(refused));
    }
    role.parse::<SpaceRole>().map_err(|_| {
        let q = SpaceQuery::default();
        Box::new(render(
            viewer,
            space,
            &q,
            Some("Choose a role.".into()),
            StatusCode::BAD_REQUEST,
        ))
    })
}

/// A Program Admin invites new people into their program (SPEC §4).
pub async fn invite(
    State(app): State<AppState>,
    request_id: RequestId,
    viewer: Viewer,
    ApiPath(space): ApiPath<SpaceId>,
    ApiForm(form): ApiForm<InviteForm>,
) -> Response {
    let q = SpaceQuery::default();
    let role = match checked_role(&viewer, &space, &form.csrf, &form.role) {
        Ok(role) => role,
        Err(refused) => return *refused,
    };
    let request = InviteRequest {
        emails: EmailInput::Text(form.emails),
        role: Role::Space(role),
        space_ids: vec![space.clone()],
        duration: None,
        message: None,
    };
    match app
        .invite(&viewer.ctx(request_id), &viewer.org_id, &request)
        .await
    {
        Ok(_) => kit::see_other(&format!("/ui/spaces/{space}?notice=Invitations+sent")),
        Err(e) => {
            let problem = super::users::FormState::from_error(&e);
            let emails: Vec<&str> = problem
                .rejected
                .iter()
                .map(|(email, _)| email.as_str())
                .collect();
            let detail = match (problem.error, emails.is_empty()) {
                (Some(error), false) => format!("{error} ({})", emails.join(", ")),
                (error, _) => error.unwrap_or(e.detail),
            };
            render(&viewer, &space, &q, Some(detail), e.status)
        }
    }
}

pub async fn add(
    State(app): State<AppState>,
    request_id: RequestId,
    viewer: Viewer,
    ApiPath(space): ApiPath<SpaceId>,
    ApiForm(form): ApiForm<AddForm>,
) -> Response {
    let q = SpaceQuery::default();
    let role = match checked_role(&viewer, &space, &form.csrf, &form.role) {
        Ok(role) => role,
        Err(refused) => return *refused,
    };
    let user = UserId::from(form.user_id.as_str());
    match app
        .set_space_role(&viewer.ctx(request_id), &viewer.org_id, &space, &user, role)
        .await
    {
        Ok(_) => kit::see_other(&format!("/ui/spaces/{space}?notice=Program+role+saved")),
        Err(e) => render(&viewer, &space, &q, Some(e.detail.clone()), e.status),
    }
}

pub async fn remove(
    State(app): State<AppState>,
    request_id: RequestId,
    viewer: Viewer,
    ApiPath((space, user)): ApiPath<(SpaceId, UserId)>,
    ApiForm(form): ApiForm<ConfirmForm>,
) -> Response {
    if let Some(refused) = viewer.csrf_refusal(form.csrf()) {
        return refused;
    }
    let name = viewer
        .snap
        .member(&user)
        .map(|m| m.name.clone())
        .unwrap_or_default();
    match app
        .remove_space_role(&viewer.ctx(request_id), &viewer.org_id, &space, &user)
        .await
    {
        Ok(done) => {
            let text = match done.value.retained_access {
                Some(role) => format!(
                    "Removed their program role. {name} keeps access through their {} role.",
                    role.as_str()
                ),
                None => "Removed from the program.".to_owned(),
            };
            kit::see_other(&format!(
                "/ui/spaces/{space}?notice={}",
                urlencoding::encode(&text)
            ))
        }
        Err(e) if e.code == "inherited_access" => {
            let role = e
                .extra
                .get("org_role")
                .and_then(|r| r.as_str())
                .unwrap_or("organization");
            let text = format!(
                "Has not been removed: {name} reaches this program through their {} role. Change that role in Admin Area › Users instead.",
                role.replace('_', " ")
            );
            render(
                &viewer,
                &space,
                &SpaceQuery::default(),
                Some(text),
                e.status,
            )
        }
        Err(e) => {
            let q = SpaceQuery {
                modal: Some("remove".into()),
                user: Some(user.to_string()),
                notice: None,
            };
            render(&viewer, &space, &q, Some(e.detail.clone()), e.status)
        }
    }
}
