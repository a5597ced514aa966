//! The admin web UI (SPEC §14): server-rendered pages served by `roster
//! serve`, assets embedded, usable without JavaScript. Every action calls
//! the same handler, and so the same core rules and audit path, as the API.

mod audit;
mod integrations;
mod invitations;
mod kit;
mod platform;
pub mod session;
mod settings;
mod spaces;
mod users;

use axum::http::{header, HeaderName, HeaderValue};
use axum::routing::{get, post};
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;

use axum::extract::{Query, State};
use axum::response::Response;
use maud::html;
use roster_core::Name;
use serde::Deserialize;

use crate::app::RequestId;
use crate::extract::ApiForm;
use crate::state::AppState;

/// What every page answers with (SPEC §19): no inline script, no framing,
/// no sniffing, no referrer (sign-in links carry tokens), no caching.
const PAGE_HEADERS: [(HeaderName, &str); 5] = [
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
    ),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, "no-referrer"),
    (header::CACHE_CONTROL, "no-store"),
];

/// The UI's routes, merged into the server's router.
pub fn routes() -> Router<AppState> {
    PAGE_HEADERS
        .into_iter()
        .fold(pages(), |router, (name, value)| {
            // Assets set their own caching; everything else is a page's.
            router.layer(SetResponseHeaderLayer::if_not_present(
                name,
                HeaderValue::from_static(value),
            ))
        })
}

fn pages() -> Router<AppState> {
    Router::new()
        .route("/invitations/accept", get(accept_form).post(accept_submit))
        .route("/ui/assets/roster.css", get(kit::css))
        .route("/ui/assets/roster.js", get(kit::js))
        .route("/ui", get(session::home))
        .route(
            "/ui/sign-in",
            get(session::sign_in_page).post(session::request_link),
        )
        .route(
            "/ui/sign-in/link",
            get(session::link_page).post(session::use_link),
        )
        .route("/ui/sign-out", post(session::sign_out))
        .route("/ui/users", get(users::page))
        .route("/ui/users/invite", post(users::invite))
        .route("/ui/users/{user}/role", post(users::change_role))
        .route("/ui/users/{user}/{action}", post(users::member_action))
        .route("/ui/invitations", get(invitations::page))
        .route("/ui/invitations/{id}/{action}", post(invitations::act))
        .route("/ui/settings", get(settings::page))
        .route("/ui/settings/implementation-admin", post(settings::toggle))
        .route("/ui/spaces", get(spaces::list).post(spaces::create))
        .route("/ui/spaces/{space}", get(spaces::members))
        .route("/ui/spaces/{space}/members", post(spaces::add))
        .route("/ui/spaces/{space}/invite", post(spaces::invite))
        .route("/ui/spaces/{space}/leave", post(spaces::leave))
        .route(
            "/ui/spaces/{space}/members/{user}/remove",
            post(spaces::remove),
        )
        .route("/ui/integrations", get(integrations::page))
        .route("/ui/integrations/webhooks", post(integrations::add))
        .route(
            "/ui/integrations/webhooks/{id}/{action}",
            post(integrations::act),
        )
        .route(
            "/ui/integrations/webhooks/{id}/deliveries/{delivery}/retry",
            post(integrations::retry),
        )
        .route("/ui/audit", get(audit::page))
        .route("/ui/audit/export", get(audit::export))
        .route("/ui/platform", get(platform::page))
        .route(
            "/ui/platform/sign-in",
            get(platform::sign_in_page).post(platform::sign_in),
        )
        .route("/ui/platform/allowlist", post(platform::save_allowlist))
        .route("/ui/platform/sign-out", post(platform::sign_out))
        .route("/ui/platform/review/{org}/{user}", post(platform::review))
}

#[derive(Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

pub async fn accept_form(Query(q): Query<TokenQuery>) -> Response {
    kit::render(kit::bare(
        "Accept your invitation",
        html! {
            form method="post" action="/invitations/accept" {
                input type="hidden" name="token" value=(q.token.unwrap_or_default());
                label for="name" { "Your name" }
                input #name type="text" name="name" autocomplete="name";
                p { button type="submit" { "Accept invitation" } }
            }
        },
    ))
}

#[derive(Deserialize)]
pub struct AcceptForm {
    #[serde(default)]
    token: String,
    name: Option<String>,
}

pub async fn accept_submit(
    State(app): State<AppState>,
    request_id: RequestId,
    ApiForm(form): ApiForm<AcceptForm>,
) -> Response {
    let accepted = match Name::parse_optional("name", form.name.as_deref()) {
        Ok(name) => {
            app.accept_invitation(&request_id, form.token.trim(), name)
                .await
        }
        Err(e) => Err(e.into()),
    };
    match accepted {
        Ok(done) => {
            let name = app
                .store
                .snapshot(&done.value.org_id, None)
                .await
                .ok()
                .flatten()
                .map(|s| s.name.clone())
                .unwrap_or_default();
            kit::render(kit::bare(
                "You're in",
                html! {
                    p { "You joined " strong { (name) } " on Roster." }
                    p { a href="/ui/sign-in" { "Sign in to the Admin Area" } }
                },
            ))
        }
        Err(e) => kit::render_with(
            e.status,
            kit::bare(
                "This invitation cannot be accepted",
                html! { p.error role="alert" { (e.detail) } },
            ),
        ),
    }
}
