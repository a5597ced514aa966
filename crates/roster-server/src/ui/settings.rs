//! Admin Area › Brand & Settings: the "Allow Implementation Admin role"
//! toggle. Turning it off asks for confirmation and says how many people
//! lose access (seed `000_…`).

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use roster_core::OrgRole;
use serde::Deserialize;

use super::kit::{self, dialog, error, notice};
use super::session::Viewer;
use crate::app::RequestId;
use crate::extract::ApiForm;
use crate::state::AppState;

#[derive(Deserialize, Default)]
pub struct SettingsQuery {
    notice: Option<String>,
    modal: Option<String>,
}

pub async fn page(viewer: Viewer, Query(q): Query<SettingsQuery>) -> Response {
    render(&viewer, &q, None, StatusCode::OK)
}

fn active_implementation_admins(viewer: &Viewer) -> usize {
    viewer
        .snap
        .members()
        .filter(|m| m.org_role == Some(OrgRole::ImplementationAdmin) && !m.ia_expired(viewer.now))
        .count()
}

fn render(
    viewer: &Viewer,
    q: &SettingsQuery,
    problem: Option<String>,
    status: StatusCode,
) -> Response {
    if !viewer.sees("brand_settings") {
        return kit::render_with(
            StatusCode::FORBIDDEN,
            kit::page(
                viewer,
                "",
                "Not available",
                html! { p { "Your role does not include this page." } },
            ),
        );
    }
    let enabled = viewer.snap.settings.allow_implementation_admin;
    let affected = active_implementation_admins(viewer);
    let domains: Vec<String> = viewer
        .snap
        .settings
        .ia_domains
        .patterns()
        .iter()
        .map(ToString::to_string)
        .collect();
    let content = html! {
        (notice(q.notice.as_deref()))
        section aria-labelledby="ia-heading" {
            h2 #ia-heading { "Allow Implementation Admin role" }
            p { "A time-limited assistant role for outside experts: same access as an Admin, no seat, never Owner, restricted to allowed email domains." }
            p #ia-state { "Currently: " strong { @if enabled { "On" } @else { "Off" } } }
            p.hint { "Allowed domains (managed by your account team): "
                @if domains.is_empty() { "none yet" } @else { (domains.join(", ")) } }
            (error(problem.as_deref().filter(|_| q.modal.is_none())))
            @if enabled && affected > 0 {
                a.button #ia-toggle href="/ui/settings?modal=disable" { "Turn off" }
            } @else {
                form method="post" action="/ui/settings/implementation-admin" {
                    (viewer.csrf_field())
                    input type="hidden" name="enabled" value=(if enabled { "false" } else { "true" });
                    button #ia-toggle type="submit" { @if enabled { "Turn off" } @else { "Turn on" } }
                }
            }
        }
        @if q.modal.as_deref() == Some("disable") {
            (dialog("disable-dialog", "Turn off the Implementation Admin role?", "/ui/settings", html! {
                form method="post" action="/ui/settings/implementation-admin" {
                    (viewer.csrf_field())
                    (error(problem.as_deref()))
                    input type="hidden" name="enabled" value="false";
                    input type="hidden" name="confirm" value="true";
                    p #affected {
                        (affected) @if affected == 1 { " person loses" } @else { " people lose" }
                        " access now: every active Implementation Admin is removed from the organization, gets an email, and their MCP, API and OAuth tokens are revoked."
                    }
                    p { button.danger type="submit" { "Turn off and remove them" } }
                }
            }))
        }
    };
    kit::render_with(
        status,
        kit::page(viewer, "brand_settings", "Brand & Settings", content),
    )
}

#[derive(Deserialize)]
pub struct ToggleForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    enabled: String,
    #[serde(default)]
    confirm: Option<String>,
}

pub async fn toggle(
    State(app): State<AppState>,
    request_id: RequestId,
    viewer: Viewer,
    ApiForm(form): ApiForm<ToggleForm>,
) -> Response {
    if let Some(refused) = viewer.csrf_refusal(&form.csrf) {
        return refused;
    }
    let enabled = form.enabled == "true";
    let confirm = form.confirm.as_deref() == Some("true");
    match app
        .set_ia_setting(&viewer.ctx(request_id), &viewer.org_id, enabled, confirm)
        .await
    {
        Ok(_) => kit::see_other("/ui/settings?notice=Setting+saved"),
        Err(e) => {
            let q = SettingsQuery {
                modal: (e.code == "confirmation_required").then(|| "disable".into()),
                notice: None,
            };
            render(&viewer, &q, Some(e.detail.clone()), e.status)
        }
    }
}
