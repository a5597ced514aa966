//! The Users page's modals: Invite Users, Change role, and the row menu's
//! confirmations. Rendered open by the server; the script makes them modal.

use maud::{html, Markup};
use roster_core::{IaDuration, Member, OrgRole, Role};

use super::{assignable, grantable_roles, FormState, UsersQuery};
use crate::ui::kit::{dialog, error};
use crate::ui::session::Viewer;

pub(super) fn modal(viewer: &Viewer, q: &UsersQuery, form: &FormState, back: &str) -> Markup {
    let target = q
        .user
        .as_deref()
        .and_then(|u| viewer.snap.member(&roster_core::UserId::from(u)));
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
