//! Admin Area › Users: the member list with role badges, filters and seat
//! usage; the Invite Users modal; the three-dot row menu with its
//! confirmations. Every control is shown only when the core's rules allow
//! it for this viewer and this row (checked by dry-running the same rule
//! the action will run).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use maud::{html, Markup};
use roster_core::manage::{self, authorize_space_roles};
use roster_core::{Action, IaDuration, Member, OrgRole, Role};
use serde::Deserialize;

use super::kit::{self, badge, dialog, error, notice};
use super::session::Viewer;
use crate::error::ApiError;
use crate::extract::{ApiJson, Page, RequestId};
use crate::routes::{invitations, members};
use crate::state::AppState;

#[derive(Deserialize, Default)]
pub struct UsersQuery {
    role: Option<String>,
    status: Option<String>,
    q: Option<String>,
    cursor: Option<String>,
    notice: Option<String>,
    modal: Option<String>,
    user: Option<String>,
}

/// What an open modal shows after a failed submit: the problem and what
/// was typed.
#[derive(Default)]
pub struct FormState {
    pub error: Option<String>,
    pub rejected: Vec<(String, String)>,
    pub emails: String,
    pub role: String,
    pub spaces: Vec<String>,
    pub duration: String,
    pub message: String,
}

impl FormState {
    pub fn from_error(e: &ApiError) -> Self {
        let rejected = e
            .extra
            .get("rejected")
            .and_then(|r| r.as_array())
            .map_or_else(Vec::new, |items| {
                items
                    .iter()
                    .map(|item| {
                        let email = item["email"].as_str().unwrap_or_default().to_owned();
                        let reason = item["reason"]
                            .as_str()
                            .or(item["code"].as_str())
                            .unwrap_or_default()
                            .to_owned();
                        (email, reason)
                    })
                    .collect()
            });
        let mut detail = e.detail.clone();
        if let Some(domains) = e.extra.get("allowed_domains").and_then(|d| d.as_array()) {
            let list: Vec<&str> = domains.iter().filter_map(|d| d.as_str()).collect();
            detail = format!(
                "{detail}. Your account can use: {}",
                if list.is_empty() {
                    "no domains yet — ask your account team".to_owned()
                } else {
                    list.join(", ")
                }
            );
        }
        FormState {
            error: Some(detail),
            rejected,
            ..FormState::default()
        }
    }
}

fn forbidden(viewer: &Viewer) -> Response {
    kit::render_with(
        StatusCode::FORBIDDEN,
        kit::page(
            viewer,
            "",
            "Not available",
            html! { p { "Your role does not include this page." } },
        ),
    )
}

pub async fn page(viewer: Viewer, Query(q): Query<UsersQuery>) -> Response {
    render(&viewer, &q, FormState::default(), StatusCode::OK)
}

/// The roles this viewer may put in an invitation, and the spaces for
/// space roles.
fn grantable_roles(viewer: &Viewer) -> (Vec<Role>, Vec<(String, String)>) {
    let actor = viewer.acting();
    let spaces: Vec<(String, String)> = viewer
        .snap
        .spaces()
        .filter(|s| authorize_space_roles(&viewer.snap, actor.core(), &s.id, viewer.now).is_ok())
        .map(|s| (s.id.clone(), s.name.clone()))
        .collect();
    let roles = Role::ALL
        .into_iter()
        .filter(|role| match role {
            Role::Org(OrgRole::Owner) => viewer.may(Action::OwnerAssign),
            Role::Org(OrgRole::ImplementationAdmin) => {
                viewer.may(Action::MembersInvite) && viewer.snap.settings.allow_implementation_admin
            }
            Role::Org(OrgRole::Admin) => viewer.may(Action::MembersInvite),
            Role::Space(_) => !spaces.is_empty(),
        })
        .collect();
    (roles, spaces)
}

/// The org roles this viewer may set on this member (dry-run of the rule).
fn assignable(viewer: &Viewer, member: &Member) -> Vec<Option<OrgRole>> {
    let actor = viewer.acting();
    [
        None,
        Some(OrgRole::Admin),
        Some(OrgRole::ImplementationAdmin),
        Some(OrgRole::Owner),
    ]
    .into_iter()
    .filter(|role| *role != member.org_role)
    .filter(|role| {
        let duration =
            (*role == Some(OrgRole::ImplementationAdmin)).then_some(IaDuration::OneMonth);
        manage::change_org_role(
            &viewer.snap,
            actor.core(),
            &member.user_id,
            *role,
            duration,
            viewer.now,
        )
        .is_ok()
    })
    .collect()
}

/// The row menu: each item only when its rule would pass.
fn menu_items(viewer: &Viewer, m: &Member) -> Vec<(&'static str, &'static str)> {
    let (snap, actor, now, id) = (
        &viewer.snap,
        viewer.acting(),
        viewer.now,
        m.user_id.as_str(),
    );
    let mut items = Vec::new();
    if viewer.caps.role_management && !assignable(viewer, m).is_empty() {
        items.push(("role", "Change role"));
    }
    if m.is_active() && manage::deactivate(snap, actor.core(), id, now).is_ok() {
        items.push(("deactivate", "Deactivate"));
    }
    if !m.is_active() && viewer.may(Action::MembersDeactivate) {
        items.push(("reactivate", "Reactivate"));
    }
    if m.org_role == Some(OrgRole::ImplementationAdmin)
        && manage::remove_implementation_admin(snap, actor.core(), id, now).is_ok()
    {
        items.push(("remove-ia", "Remove Implementation Admin role"));
    }
    if manage::remove_member(snap, actor.core(), id, now).is_ok() {
        items.push(("remove", "Remove from organization"));
    }
    items
}

fn role_badges(viewer: &Viewer, m: &Member) -> Markup {
    html! {
        @if let Some(role) = m.org_role {
            (badge(role.as_str(), role.label()))
        }
        @for (space_id, role) in viewer.snap.space_roles_of(m) {
            @let space = viewer.snap.space(space_id).map(|s| s.name.as_str()).unwrap_or(space_id);
            (badge("space", &format!("{} · {space}", role.label())))
        }
    }
}

fn query_string(q: &UsersQuery) -> String {
    let mut parts = Vec::new();
    for (k, v) in [("role", &q.role), ("status", &q.status), ("q", &q.q)] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            parts.push(format!("{k}={}", urlencoding::encode(v)));
        }
    }
    parts.join("&")
}

fn render(viewer: &Viewer, q: &UsersQuery, form: FormState, status: StatusCode) -> Response {
    if !viewer.sees("users") {
        return forbidden(viewer);
    }
    let filter = members::MemberFilter {
        role: q.role.clone().filter(|_| viewer.caps.role_management),
        status: q.status.clone(),
        q: q.q.clone(),
        page: Page {
            cursor: q.cursor.clone(),
            limit: Some("50".into()),
        },
    };
    let (rows, next) = match members::select(&viewer.snap, &filter, 50, viewer.now) {
        Ok(found) => found,
        Err(e) => {
            return kit::render_with(
                e.status,
                kit::page(viewer, "users", "Users", error(Some(&e.detail))),
            )
        }
    };
    let usage = viewer.snap.seat_usage(viewer.now);
    let base_query = query_string(q);
    let back = if base_query.is_empty() {
        "/ui/users".to_owned()
    } else {
        format!("/ui/users?{base_query}")
    };
    let (grantable, _) = grantable_roles(viewer);
    let role_management = viewer.caps.role_management;
    let content = html! {
        (notice(q.notice.as_deref()))
        div.toolbar {
            @if viewer.may(Action::SeatsView) {
                p.seats #seat-usage {
                    @match usage.limit {
                        Some(limit) => { (usage.used) " of " (limit) " seats used" }
                        None => { (usage.used) " seats used (no limit)" }
                    }
                    @if usage.reserved > 0 { ", " (usage.reserved) " reserved by pending invitations" }
                }
            }
            @if !grantable.is_empty() {
                a.button #invite-users href={ "/ui/users?modal=invite" } { "Invite Users" }
            }
        }
        form.filters method="get" action="/ui/users" role="search" {
            @if role_management {
                div {
                    label for="filter-role" { "Role" }
                    select #filter-role name="role" {
                        option value="" { "All roles" }
                        @for role in Role::ALL {
                            option value=(role.as_str()) selected[q.role.as_deref() == Some(role.as_str())] { (role.label()) }
                        }
                    }
                }
            }
            div {
                label for="filter-status" { "Status" }
                select #filter-status name="status" {
                    option value="" { "Any status" }
                    option value="active" selected[q.status.as_deref() == Some("active")] { "Active" }
                    option value="deactivated" selected[q.status.as_deref() == Some("deactivated")] { "Deactivated" }
                }
            }
            div {
                label for="filter-q" { "Search" }
                input #filter-q type="search" name="q" value=(q.q.clone().unwrap_or_default()) placeholder="Name or email";
            }
            button.secondary type="submit" { "Filter" }
        }
        table #users {
            caption.hint { (rows.len()) " shown" }
            thead { tr {
                th scope="col" { "Name" } th scope="col" { "Email" }
                @if role_management { th scope="col" { "Roles" } }
                th scope="col" { "Status" } th scope="col" { "Seat" } th scope="col" { "Implementation Admin until" }
                th scope="col" { span.sr { "Actions" } }
            } }
            tbody {
                @for m in &rows {
                    tr data-user=(m.user_id) {
                        td { (m.name) }
                        td { (m.email.as_str()) }
                        @if role_management { td.roles { (role_badges(viewer, m)) } }
                        td { (badge(m.status.as_str(), if m.is_active() { "Active" } else { "Deactivated" })) }
                        td { @if viewer.snap.uses_seat(m, viewer.now) { "Uses a seat" } @else { "No seat" } }
                        td.ia-end {
                            @if let Some(ia) = &m.ia {
                                @match ia.expires_at { Some(at) => { "Ends " (kit::date(at)) } None => { "Forever" } }
                            }
                        }
                        td {
                            @let items = menu_items(viewer, m);
                            @if !items.is_empty() {
                                details.menu {
                                    summary aria-label={ "Actions for " (m.name) } { "⋯" }
                                    ul {
                                        @for (modal, label) in items {
                                            li { a href={ "/ui/users?modal=" (modal) "&user=" (m.user_id) } { (label) } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(cursor) = next {
            p.pager { a href={ "/ui/users?" (base_query) "&cursor=" (cursor) } { "Next page" } }
        }
        (modal(viewer, q, &form, &back))
    };
    kit::render_with(status, kit::page(viewer, "users", "Users", content))
}

fn modal(viewer: &Viewer, q: &UsersQuery, form: &FormState, back: &str) -> Markup {
    let target = q.user.as_deref().and_then(|u| viewer.snap.member(u));
    match (q.modal.as_deref(), target) {
        (Some("invite"), _) => invite_modal(viewer, form, back),
        (Some("role"), Some(m)) => role_modal(viewer, m, form, back),
        (Some(action @ ("deactivate" | "reactivate" | "remove" | "remove-ia")), Some(m)) => {
            confirm_modal(viewer, action, m, form, back)
        }
        _ => html! {},
    }
}

fn invite_modal(viewer: &Viewer, form: &FormState, back: &str) -> Markup {
    let (roles, spaces) = grantable_roles(viewer);
    // The default is the least powerful role on offer, never Owner.
    let least = [
        "participant",
        "facilitator",
        "program_admin",
        "sponsor",
        "admin",
        "implementation_admin",
        "owner",
    ];
    let chosen = if form.role.is_empty() {
        least
            .into_iter()
            .find(|r| roles.iter().any(|role| role.as_str() == *r))
            .unwrap_or_default()
    } else {
        form.role.as_str()
    };
    dialog(
        "invite-dialog",
        "Invite Users",
        back,
        html! {
            form method="post" action="/ui/users/invite" novalidate {
                (viewer.csrf_field())
                (error(form.error.as_deref()))
                @if !form.rejected.is_empty() {
                    ul.rejected #rejected aria-label="Addresses that failed" {
                        @for (email, reason) in &form.rejected { li { strong { (email) } ": " (reason) } }
                    }
                }
                label for="invite-emails" { "Email addresses" }
                p.hint #invite-emails-hint { "Paste one or more, separated by commas, semicolons, spaces or new lines. If one fails, nobody is invited." }
                textarea #invite-emails name="emails" required aria-describedby="invite-emails-hint" aria-invalid=[form.error.as_ref().map(|_| "true")] { (form.emails) }
                label for="invite-role" { "Role" }
                select #invite-role name="role" {
                    @for role in &roles {
                        option value=(role.as_str()) selected[role.as_str() == chosen] { (role.label()) }
                    }
                }
                @if !spaces.is_empty() {
                    fieldset #invite-spaces-field {
                        legend { "Programs (for program roles)" }
                        @for (id, name) in &spaces {
                            label { input type="checkbox" name="space_ids" value=(id) checked[form.spaces.contains(id)]; (name) }
                        }
                    }
                }
                @if roles.contains(&Role::Org(OrgRole::ImplementationAdmin)) {
                    div #invite-duration-field {
                        label for="invite-duration" { "Duration (Implementation Admin only)" }
                        select #invite-duration name="duration" {
                            @for d in IaDuration::ALL {
                                option value=(d.as_str()) selected[form.duration == d.as_str()] { (d.label()) }
                            }
                        }
                    }
                }
                label for="invite-message" { "Message (optional)" }
                textarea #invite-message name="message" { (form.message) }
                p { button type="submit" { "Send Invitations" } }
            }
        },
    )
}

fn role_modal(viewer: &Viewer, m: &Member, form: &FormState, back: &str) -> Markup {
    let options = assignable(viewer, m);
    dialog(
        "role-dialog",
        &format!("Change role for {}", m.name),
        back,
        html! {
            form method="post" action={ "/ui/users/" (m.user_id) "/role" } {
                (viewer.csrf_field())
                (error(form.error.as_deref()))
                label for="new-role" { "Organization role" }
                select #new-role name="org_role" {
                    @for role in &options {
                        option value=(role.map_or("none", |r| r.as_str())) { (role.map_or("No organization role", |r| r.label())) }
                    }
                }
                @if options.contains(&Some(OrgRole::ImplementationAdmin)) {
                    label for="role-duration" { "Duration (Implementation Admin only)" }
                    select #role-duration name="duration" {
                        @for d in IaDuration::ALL { option value=(d.as_str()) { (d.label()) } }
                    }
                }
                p.hint { "Program roles stay as they are; change them in Programs." }
                p { button type="submit" { "Change role" } }
            }
        },
    )
}

fn confirm_modal(
    viewer: &Viewer,
    action: &str,
    m: &Member,
    form: &FormState,
    back: &str,
) -> Markup {
    let (title, text, button) = match action {
        "deactivate" => ("Deactivate", "They keep their roles and history but lose all access, their seat is freed and their tokens are revoked.", "Deactivate"),
        "reactivate" => ("Reactivate", "They get their roles back. This needs a free seat if their roles use one.", "Reactivate"),
        "remove-ia" => ("Remove Implementation Admin role", "They lose access to this organization now, their MCP, API and OAuth tokens are revoked, and they and their inviter get an email.", "Remove Implementation Admin"),
        _ => ("Remove from organization", "Their membership and program roles are deleted and their tokens revoked. Their account and the audit history stay.", "Remove"),
    };
    dialog(
        "confirm-dialog",
        &format!("{title}: {}", m.name),
        back,
        html! {
            form method="post" action={ "/ui/users/" (m.user_id) "/" (action) } {
                (viewer.csrf_field())
                (error(form.error.as_deref()))
                p { (text) }
                p { button.danger type="submit" { (button) } }
            }
        },
    )
}

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
    body: axum::body::Bytes,
) -> Response {
    let form: InviteForm = match serde_html_form(&body) {
        Ok(f) => f,
        Err(e) => {
            return kit::render_with(
                StatusCode::BAD_REQUEST,
                kit::bare("Bad request", error(Some(&e))),
            )
        }
    };
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
    let role: Role = match form.role.parse() {
        Ok(role) => role,
        Err(_) => {
            return render(
                &viewer,
                &q,
                keep(FormState {
                    error: Some("Choose a role.".into()),
                    ..FormState::default()
                }),
                StatusCode::BAD_REQUEST,
            )
        }
    };
    let duration = match role {
        Role::Org(OrgRole::ImplementationAdmin) => {
            form.duration.as_deref().and_then(|d| d.parse().ok())
        }
        _ => None,
    };
    let space_ids = if matches!(role, Role::Space(_)) {
        form.space_ids.clone()
    } else {
        Vec::new()
    };
    let batch = invitations::CreateBatch {
        emails: invitations::Emails::Text(form.emails.clone()),
        role,
        space_ids,
        duration,
        message: form.message.clone().filter(|m| !m.trim().is_empty()),
    };
    match invitations::create(
        State(app),
        viewer.caller(),
        request_id,
        Path(viewer.org_id.clone()),
        ApiJson(batch),
    )
    .await
    {
        Ok(_) => kit::see_other("/ui/users?notice=Invitations+sent"),
        Err(e) => render(&viewer, &q, keep(FormState::from_error(&e)), e.status),
    }
}

/// Form bodies with repeated keys (`space_ids`) as lists.
fn serde_html_form<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    let mut map = serde_json::Map::new();
    for (k, v) in form_urlencoded::parse(body) {
        let entry = map.entry(k.into_owned());
        match entry {
            serde_json::map::Entry::Vacant(slot) => {
                let value = if k_is_list(slot.key()) {
                    serde_json::json!([v])
                } else {
                    serde_json::json!(v)
                };
                slot.insert(value);
            }
            serde_json::map::Entry::Occupied(mut slot) => {
                if let Some(list) = slot.get_mut().as_array_mut() {
                    list.push(serde_json::json!(v));
                }
            }
        }
    }
    serde_json::from_value(serde_json::Value::Object(map)).map_err(|e| e.to_string())
}

fn k_is_list(key: &str) -> bool {
    key == "space_ids"
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
    Path(user): Path<String>,
    Form(form): Form<RoleForm>,
) -> Response {
    if let Some(refused) = viewer.csrf_refusal(&form.csrf) {
        return refused;
    }
    let q = UsersQuery {
        modal: Some("role".into()),
        user: Some(user.clone()),
        ..UsersQuery::default()
    };
    let role = match form.org_role.as_str() {
        "none" => None,
        other => match other.parse::<OrgRole>() {
            Ok(r) => Some(r),
            Err(e) => {
                return render(
                    &viewer,
                    &q,
                    FormState {
                        error: Some(e.to_string()),
                        ..FormState::default()
                    },
                    StatusCode::BAD_REQUEST,
                )
            }
        },
    };
    let duration = (role == Some(OrgRole::ImplementationAdmin))
        .then(|| form.duration.as_deref().and_then(|d| d.parse().ok()))
        .flatten();
    let body = members::PatchMember {
        org_role: Some(role),
        duration,
    };
    match members::patch(
        State(app),
        viewer.caller(),
        request_id,
        Path((viewer.org_id.clone(), user)),
        ApiJson(body),
    )
    .await
    {
        Ok(_) => kit::see_other("/ui/users?notice=Role+changed"),
        Err(e) => render(
            &viewer,
            &q,
            FormState {
                error: Some(e.detail.clone()),
                ..FormState::default()
            },
            e.status,
        ),
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
    Path((user, action)): Path<(String, String)>,
    Form(form): Form<ConfirmForm>,
) -> Response {
    if let Some(refused) = viewer.csrf_refusal(&form.csrf) {
        return refused;
    }
    let org = viewer.org_id.clone();
    let caller = viewer.caller();
    let path = Path((org, user.clone()));
    let (result, done) = match action.as_str() {
        "deactivate" => (
            members::deactivate(State(app), caller, request_id, path).await,
            "Deactivated",
        ),
        "reactivate" => (
            members::reactivate(State(app), caller, request_id, path).await,
            "Reactivated",
        ),
        "remove" => (
            members::remove(State(app), caller, request_id, path).await,
            "Removed+from+the+organization",
        ),
        "remove-ia" => (
            members::remove_implementation_admin(
                State(app),
                caller,
                request_id,
                path,
                ApiJson(members::Confirm { confirm: true }),
            )
            .await,
            "Implementation+Admin+removed",
        ),
        _ => (Err(ApiError::not_found("action")), ""),
    };
    match result {
        Ok(_) => kit::see_other(&format!("/ui/users?notice={done}")),
        Err(e) => {
            let q = UsersQuery {
                modal: Some(action),
                user: Some(user),
                ..UsersQuery::default()
            };
            render(
                &viewer,
                &q,
                FormState {
                    error: Some(e.detail.clone()),
                    ..FormState::default()
                },
                e.status,
            )
        }
    }
}
