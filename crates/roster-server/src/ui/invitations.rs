//! Admin Area › Invitations: status, resend, revoke (seed `002_…`).

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use roster_core::{Action, InvitationId, InvitationStatus, SpaceId};
use serde::Deserialize;

use super::kit::{self, dialog, error, notice};
use super::session::Viewer;
use super::users::ConfirmForm;
use crate::app::RequestId;
use crate::extract::{ApiForm, ApiPath};
use crate::state::AppState;

#[derive(Deserialize, Default)]
pub struct InvitationsQuery {
    status: Option<String>,
    notice: Option<String>,
    modal: Option<String>,
    id: Option<String>,
}

pub async fn page(
    State(app): State<AppState>,
    viewer: Viewer,
    Query(q): Query<InvitationsQuery>,
) -> Response {
    render(&app, &viewer, &q, None, StatusCode::OK).await
}

async fn render(
    app: &AppState,
    viewer: &Viewer,
    q: &InvitationsQuery,
    problem: Option<String>,
    status: StatusCode,
) -> Response {
    if !viewer.may(Action::MembersInvite) || !viewer.may(Action::MembersView) {
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
    let filter = q.status.as_deref().and_then(|s| s.parse().ok());
    let rows = match app
        .store
        .invitations(&viewer.org_id, filter, None, 200)
        .await
    {
        Ok(rows) => rows,
        Err(e) => {
            let e = crate::error::ApiError::from(e);
            return kit::render_with(
                e.status,
                kit::page(viewer, "invitations", "Invitations", error(Some(&e.detail))),
            );
        }
    };
    let space_name = |id: &SpaceId| {
        viewer
            .snap
            .space(id)
            .map_or_else(|| "(deleted program)".to_owned(), |s| s.name.clone())
    };
    let content = html! {
        (notice(q.notice.as_deref()))
        form.filters method="get" action="/ui/invitations" {
            div {
                label for="inv-status" { "Invitation status" }
                select #inv-status name="status" {
                    option value="" { "Any status" }
                    @for s in InvitationStatus::ALL {
                        option value=(s.as_str()) selected[q.status.as_deref() == Some(s.as_str())] { (s.as_str()) }
                    }
                }
            }
            button.secondary type="submit" { "Filter" }
        }
        table #invitations {
            thead { tr { th { "Email" } th { "Role" } th { "Programs" } th { "Status" } th { "Sent" } th { "Expires" } th { span.sr { "Actions" } } } }
            tbody {
                @for inv in &rows {
                    @let shown = if inv.status == InvitationStatus::Pending && inv.expires_at <= viewer.now { InvitationStatus::Expired } else { inv.status };
                    tr data-invitation=(inv.id) {
                        td { (inv.email.as_str()) }
                        td { (inv.role.label()) @if let Some(d) = inv.duration { " (" (d.label()) ")" } }
                        td { (inv.space_ids.iter().map(&space_name).collect::<Vec<_>>().join(", ")) }
                        td.status { (shown.as_str()) }
                        td { (inv.send_count) "×" }
                        td { (kit::date(inv.expires_at)) }
                        td {
                            @if inv.status == InvitationStatus::Pending {
                                form.inline method="post" action={ "/ui/invitations/" (inv.id) "/resend" } {
                                    (viewer.csrf_field())
                                    button.secondary type="submit" aria-label={ "Resend to " (inv.email.as_str()) } { "Resend" }
                                }
                                " "
                                a href={ "/ui/invitations?modal=revoke&id=" (inv.id) } aria-label={ "Revoke the invitation to " (inv.email.as_str()) } { "Revoke" }
                            }
                        }
                    }
                }
            }
        }
        @if let (Some("revoke"), Some(inv)) = (q.modal.as_deref(), q.id.as_deref().and_then(|id| rows.iter().find(|i| i.id.as_str() == id))) {
            (dialog("revoke-dialog", &format!("Revoke the invitation to {}", inv.email.as_str()), "/ui/invitations", html! {
                form method="post" action={ "/ui/invitations/" (inv.id) "/revoke" } {
                    (viewer.csrf_field())
                    (error(problem.as_deref()))
                    p { "The link in their email stops working. You can invite them again later." }
                    p { button.danger type="submit" { "Revoke invitation" } }
                }
            }))
        } @else {
            (error(problem.as_deref()))
        }
    };
    kit::render_with(
        status,
        kit::page(viewer, "invitations", "Invitations", content),
    )
}

pub async fn act(
    State(app): State<AppState>,
    request_id: RequestId,
    viewer: Viewer,
    ApiPath((id, action)): ApiPath<(InvitationId, String)>,
    ApiForm(form): ApiForm<ConfirmForm>,
) -> Response {
    if let Some(refused) = viewer.csrf_refusal(form.csrf()) {
        return refused;
    }
    let (ctx, org) = (viewer.ctx(request_id), &viewer.org_id);
    let result = match action.as_str() {
        "resend" => app
            .resend_invitation(&ctx, org, &id)
            .await
            .map(|_| "Invitation+sent+again"),
        "revoke" => app
            .revoke_invitation(&ctx, org, &id)
            .await
            .map(|_| "Invitation+revoked"),
        _ => Err(crate::error::ApiError::not_found("action")),
    };
    match result {
        Ok(done) => kit::see_other(&format!("/ui/invitations?notice={done}")),
        Err(e) => {
            let q = InvitationsQuery {
                modal: (action == "revoke").then(|| "revoke".into()),
                id: Some(id.to_string()),
                ..InvitationsQuery::default()
            };
            render(&app, &viewer, &q, Some(e.detail.clone()), e.status).await
        }
    }
}
