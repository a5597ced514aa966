//! Admin Area › Integrations › Webhooks (SPEC §16): the organization's
//! endpoints, adding one (its secret shown once), their recent deliveries
//! with retry, disable/enable, rotate the secret, a test ping, delete.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};
use roster_core::webhooks::WebhookUpdate;
use roster_core::{Action, DeliveryId, EventType, WebhookId};
use serde::Deserialize;

use super::kit::{self, error, notice};
use super::session::Viewer;
use super::users::ConfirmForm;
use crate::app::webhooks::{NewWebhook, Scope};
use crate::app::{PageRequest, RequestId};
use crate::error::ApiError;
use crate::extract::{ApiForm, ApiPath};
use crate::state::AppState;
use crate::views::WebhookView;

#[derive(Deserialize, Default)]
pub struct PageQuery {
    notice: Option<String>,
}

pub async fn page(
    State(app): State<AppState>,
    viewer: Viewer,
    Query(q): Query<PageQuery>,
) -> Response {
    render(
        &app,
        &viewer,
        q.notice.as_deref(),
        None,
        None,
        StatusCode::OK,
    )
    .await
}

fn scope(viewer: &Viewer) -> Scope {
    Scope::Org(viewer.org_id.clone())
}

/// The page; `secret` is a new endpoint's or a rotation's, shown this once.
async fn render(
    app: &AppState,
    viewer: &Viewer,
    done: Option<&str>,
    problem: Option<&str>,
    secret: Option<(&str, &str)>,
    status: StatusCode,
) -> Response {
    if !viewer.may(Action::IntegrationsManage) {
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
    let caller = viewer.caller();
    let all = PageRequest {
        cursor: None,
        limit: PageRequest::MAX,
    };
    let endpoints = match app.webhooks(&caller, &scope(viewer), &all).await {
        Ok(page) => page.items,
        Err(e) => {
            return kit::render_with(
                e.status,
                kit::page(viewer, "integrations", "Webhooks", error(Some(&e.detail))),
            )
        }
    };
    let mut sections = Vec::with_capacity(endpoints.len());
    for endpoint in &endpoints {
        sections.push(endpoint_section(app, viewer, endpoint).await);
    }
    let content = html! {
        (notice(done))
        (error(problem))
        @if let Some((label, secret)) = secret {
            div.notice #new-secret role="status" {
                p { (label) " Copy it now: it is not shown again." }
                p { code #secret { (secret) } }
            }
        }
        p { "Roster sends every change of this organization (role changes, removals, invitations, …) to these URLs, signed with Standard Webhooks." }
        section aria-labelledby="add-heading" {
            h2 #add-heading { "Add an endpoint" }
            form method="post" action="/ui/integrations/webhooks" {
                (viewer.csrf_field())
                label for="webhook-url" { "URL" }
                input #webhook-url type="url" name="url" required placeholder="https://example.com/roster-events";
                label for="webhook-types" { "Event types (optional)" }
                p.hint #webhook-types-hint { "Separated by commas, e.g. member.removed, implementation_admin.removed. Empty: every type." }
                input #webhook-types type="text" name="types" aria-describedby="webhook-types-hint";
                label for="webhook-description" { "Description (optional)" }
                input #webhook-description type="text" name="description" maxlength="500";
                p { button type="submit" { "Add endpoint" } }
            }
        }
        @if endpoints.is_empty() {
            p #no-webhooks { "No endpoints yet." }
        }
        @for section in &sections { (section) }
    };
    kit::render_with(
        status,
        kit::page(viewer, "integrations", "Webhooks", content),
    )
}

async fn endpoint_section(app: &AppState, viewer: &Viewer, endpoint: &WebhookView) -> Markup {
    let recent = PageRequest {
        cursor: None,
        limit: 10,
    };
    let deliveries = app
        .deliveries(
            &viewer.caller(),
            &scope(viewer),
            &endpoint.id,
            None,
            &recent,
        )
        .await
        .map(|page| page.items)
        .unwrap_or_default();
    let base = format!("/ui/integrations/webhooks/{}", endpoint.id);
    let action = |name: &str, label: &str, kind: &str| {
        html! {
            form.inline method="post" action={ (base) "/" (name) } {
                (viewer.csrf_field())
                button class=(kind) type="submit" aria-label={ (label) " " (endpoint.url) } { (label) }
            }
        }
    };
    html! {
        section.webhook data-webhook=(endpoint.id) aria-label={ "Endpoint " (endpoint.url) } {
            h2 { code { (endpoint.url) } }
            p {
                @if endpoint.enabled { span.badge.badge-active { "Enabled" } }
                @else { span.badge.badge-deactivated { "Disabled" } @if let Some(why) = &endpoint.disabled_reason { " (" (why) ")" } }
                " · "
                @if endpoint.types.is_empty() { "every event type" } @else { (endpoint.types.join(", ")) }
                @if !endpoint.description.is_empty() { " · " (endpoint.description) }
            }
            p {
                @if endpoint.enabled { (action("disable", "Disable", "secondary")) } @else { (action("enable", "Enable", "secondary")) }
                " " (action("test", "Send test event", "secondary"))
                " " (action("rotate", "Rotate secret", "secondary"))
                " " (action("delete", "Delete", "danger"))
            }
            table.deliveries {
                caption { "Recent deliveries" }
                thead { tr { th scope="col" { "Event" } th scope="col" { "Type" } th scope="col" { "Status" } th scope="col" { "Attempts" } th scope="col" { "Last answer" } th scope="col" { span.sr { "Actions" } } } }
                tbody {
                    @for d in &deliveries {
                        tr data-delivery=(d.id) {
                            td { code { (d.event_id) } }
                            td { (d.event_type) }
                            td.status { (d.status) }
                            td { (d.attempts) }
                            td { @if let Some(s) = d.last_status { (s) } @if let Some(e) = &d.last_error { " " (e) } }
                            td {
                                @if d.status != "pending" {
                                    form.inline method="post" action={ (base) "/deliveries/" (d.id) "/retry" } {
                                        (viewer.csrf_field())
                                        button.secondary type="submit" aria-label={ "Retry delivery " (d.id) } { "Retry" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize)]
pub struct AddForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    types: String,
    #[serde(default)]
    description: String,
}

pub async fn add(
    State(app): State<AppState>,
    request_id: RequestId,
    viewer: Viewer,
    ApiForm(form): ApiForm<AddForm>,
) -> Response {
    if let Some(refused) = viewer.csrf_refusal(&form.csrf) {
        return refused;
    }
    let types = form
        .types
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            t.parse::<EventType>()
                .map_err(|e| ApiError::invalid("types", e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>();
    let created = match types {
        Ok(types) => {
            let new = NewWebhook {
                url: form.url,
                types,
                org_id: None,
                description: form.description.trim().to_owned(),
            };
            app.create_webhook(&viewer.ctx(request_id), &scope(&viewer), new)
                .await
        }
        Err(e) => Err(e),
    };
    match created {
        Ok(made) => {
            let label = "Endpoint added. Its signing secret:";
            render(
                &app,
                &viewer,
                None,
                None,
                Some((label, &made.secret)),
                StatusCode::CREATED,
            )
            .await
        }
        Err(e) => render(&app, &viewer, None, Some(&e.detail), None, e.status).await,
    }
}

pub async fn act(
    State(app): State<AppState>,
    request_id: RequestId,
    viewer: Viewer,
    ApiPath((id, action)): ApiPath<(WebhookId, String)>,
    ApiForm(form): ApiForm<ConfirmForm>,
) -> Response {
    if let Some(refused) = viewer.csrf_refusal(form.csrf()) {
        return refused;
    }
    let (ctx, scope) = (viewer.ctx(request_id), scope(&viewer));
    let enabled = |on: bool| WebhookUpdate {
        enabled: Some(on),
        ..WebhookUpdate::default()
    };
    let done = match action.as_str() {
        "enable" => app
            .update_webhook(&ctx, &scope, &id, enabled(true))
            .await
            .map(|_| "Endpoint enabled"),
        "disable" => app
            .update_webhook(&ctx, &scope, &id, enabled(false))
            .await
            .map(|_| "Endpoint disabled"),
        "test" => app
            .test_webhook(&ctx, &scope, &id)
            .await
            .map(|_| "Test event queued"),
        "delete" => app
            .delete_webhook(&ctx, &scope, &id)
            .await
            .map(|_| "Endpoint deleted"),
        "rotate" => match app.rotate_webhook_secret(&ctx, &scope, &id).await {
            Ok(rotated) => {
                let label =
                    "Secret rotated: the old one keeps signing for 24 hours. The new secret:";
                return render(
                    &app,
                    &viewer,
                    None,
                    None,
                    Some((label, &rotated.secret)),
                    StatusCode::OK,
                )
                .await;
            }
            Err(e) => Err(e),
        },
        _ => Err(ApiError::not_found("action")),
    };
    finish(&app, &viewer, done).await
}

pub async fn retry(
    State(app): State<AppState>,
    request_id: RequestId,
    viewer: Viewer,
    ApiPath((id, delivery)): ApiPath<(WebhookId, DeliveryId)>,
    ApiForm(form): ApiForm<ConfirmForm>,
) -> Response {
    if let Some(refused) = viewer.csrf_refusal(form.csrf()) {
        return refused;
    }
    let done = app
        .retry_delivery(&viewer.ctx(request_id), &scope(&viewer), &id, &delivery)
        .await
        .map(|_| "Delivery queued again");
    finish(&app, &viewer, done).await
}

async fn finish(app: &AppState, viewer: &Viewer, done: Result<&str, ApiError>) -> Response {
    match done {
        Ok(text) => kit::see_other(&format!(
            "/ui/integrations?notice={}",
            urlencoding::encode(text)
        )),
        Err(e) => render(app, viewer, None, Some(&e.detail), None, e.status).await,
    }
}
