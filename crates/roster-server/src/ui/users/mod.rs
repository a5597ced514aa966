//! Admin Area › Users: the member list with role badges, filters and seat
//! usage (this file); the Invite Users modal and the row menu's
//! confirmations ([`modals`]); what their forms do ([`actions`]). Every
//! control is shown only when the core's rules allow it for this viewer and
//! this row (checked by dry-running the same rule the action will run).

mod actions;
mod modals;

pub use actions::{change_role, invite, member_action, ConfirmForm};

use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};
use roster_core::space_roles::authorize_space_roles;
use roster_core::{
    implementation_admin, org_roles, status, Action, IaDuration, Member, OrgRole, Role, RuleError,
};
use serde::Deserialize;

use super::kit::{self, badge, notice};
use super::session::Viewer;
use crate::app::members::{select, MemberFilter};
use crate::app::PageRequest;
use crate::error::ApiError;

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
    /// A problem with nothing typed to keep.
    pub fn problem(error: String) -> Self {
        FormState {
            error: Some(error),
            ..FormState::default()
        }
    }

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
    let actor = viewer.actor();
    let spaces: Vec<(String, String)> = viewer
        .snap
        .spaces()
        .filter(|s| authorize_space_roles(&viewer.snap, &actor, &s.id, viewer.now).is_ok())
        .map(|s| (s.id.to_string(), s.name.clone()))
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
    let actor = viewer.actor();
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
        org_roles::change_org_role(
            &viewer.snap,
            &actor,
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
    let (snap, actor, now, id) = (&viewer.snap, viewer.actor(), viewer.now, &m.user_id);
    let mut items = Vec::new();
    if viewer.caps.role_management && !assignable(viewer, m).is_empty() {
        items.push(("role", "Change role"));
    }
    if m.is_active() && status::deactivate(snap, &actor, id, now).is_ok() {
        items.push(("deactivate", "Deactivate"));
    }
    // Offered when the rule would pass, or fails only for want of a seat
    // (the confirmation explains that).
    let reactivate = status::reactivate(snap, &actor, id, now);
    if !m.is_active() && matches!(reactivate, Ok(_) | Err(RuleError::SeatLimitReached { .. })) {
        items.push(("reactivate", "Reactivate"));
    }
    if m.org_role == Some(OrgRole::ImplementationAdmin)
        && implementation_admin::remove_implementation_admin(snap, &actor, id, true, now).is_ok()
    {
        items.push(("remove-ia", "Remove Implementation Admin role"));
    }
    if status::remove_member(snap, &actor, id, now).is_ok() {
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
            @let space = viewer.snap.space(space_id).map(|s| s.name.as_str()).unwrap_or(space_id.as_str());
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
    let filter = MemberFilter {
        role: q
            .role
            .as_deref()
            .filter(|_| viewer.caps.role_management)
            .and_then(|r| r.parse().ok()),
        status: q.status.as_deref().and_then(|s| s.parse().ok()),
        q: q.q.clone(),
    };
    let page = PageRequest {
        cursor: q.cursor.clone(),
        limit: PageRequest::DEFAULT,
    };
    let (rows, next) = select(&viewer.snap, &filter, &page, viewer.now);
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
        (modals::modal(viewer, q, &form, &back))
    };
    kit::render_with(status, kit::page(viewer, "users", "Users", content))
}
