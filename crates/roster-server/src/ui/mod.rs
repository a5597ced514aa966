//! Server-rendered pages. For now: accepting an invitation from the link
//! in its email.

use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Response};
use axum::Form;
use serde::Deserialize;

use crate::extract::RequestId;
use crate::routes::invitations::accept_token;
use crate::state::AppState;

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The page frame: a title and already-escaped content.
pub fn page(title: &str, content: &str) -> Html<String> {
    Html(format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{} · Roster</title><style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#1a1a1a}}\
label{{display:block;margin:.8rem 0 .3rem}}input{{font:inherit;padding:.4rem;width:100%;box-sizing:border-box}}\
button{{font:inherit;margin-top:1rem;padding:.5rem 1rem;background:#1d4ed8;color:#fff;border:0;border-radius:4px}}\
button:focus,input:focus{{outline:3px solid #f59e0b;outline-offset:2px}}.error{{color:#b91c1c}}</style></head>\
<body><main><h1>{}</h1>\n{content}\n</main></body></html>\n",
        escape(title),
        escape(title)
    ))
}

#[derive(Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

pub async fn accept_form(Query(q): Query<TokenQuery>) -> Html<String> {
    let token = q.token.unwrap_or_default();
    page(
        "Accept your invitation",
        &format!(
            "<form method=\"post\" action=\"/invitations/accept\">\
<input type=\"hidden\" name=\"token\" value=\"{}\">\
<label for=\"name\">Your name</label><input id=\"name\" name=\"name\" autocomplete=\"name\">\
<button type=\"submit\">Accept invitation</button></form>",
            escape(&token)
        ),
    )
}

#[derive(Deserialize)]
pub struct AcceptForm {
    token: String,
    name: Option<String>,
}

pub async fn accept_submit(
    State(app): State<AppState>,
    request_id: RequestId,
    Form(form): Form<AcceptForm>,
) -> Response {
    match accept_token(&app, &request_id, form.token.trim(), form.name.as_deref()).await {
        Ok((org_id, _, _)) => {
            let name = app
                .store
                .snapshot(&org_id, None)
                .await
                .ok()
                .flatten()
                .map(|s| s.name.clone())
                .unwrap_or_default();
            page(
                "You're in",
                &format!(
                    "<p>You joined <strong>{}</strong> on Roster.</p>",
                    escape(&name)
                ),
            )
            .into_response()
        }
        Err(e) => (
            e.status,
            page(
                "This invitation cannot be accepted",
                &format!(
                    "<p class=\"error\" role=\"alert\">{}</p>",
                    escape(&e.detail)
                ),
            ),
        )
            .into_response(),
    }
}
