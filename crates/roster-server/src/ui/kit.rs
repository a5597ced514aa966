//! The page frame and the small pieces every page uses. Markup escapes by
//! default (maud); assets are embedded in the binary.

use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{html, Markup, DOCTYPE};

use super::session::Viewer;

pub const CSS: &str = include_str!("assets/roster.css");
pub const JS: &str = include_str!("assets/roster.js");

pub async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        CSS,
    )
        .into_response()
}

pub async fn js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        JS,
    )
        .into_response()
}

/// A bare page (sign-in, errors).
pub fn bare(title: &str, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Roster" }
                link rel="stylesheet" href="/ui/assets/roster.css";
            }
            body.bare {
                main #main { h1 { (title) } (content) }
            }
        }
    }
}

/// A page of the Admin Area: navigation from the viewer's capabilities.
pub fn page(viewer: &Viewer, current: &str, title: &str, content: Markup) -> Markup {
    let nav: Vec<(&str, &str, &str)> = [
        ("users", "/ui/users", "Users"),
        ("invitations", "/ui/invitations", "Invitations"),
        ("programs", "/ui/spaces", "Programs"),
        ("brand_settings", "/ui/settings", "Brand & Settings"),
        ("integrations", "/ui/integrations", "Integrations"),
        ("audit", "/ui/audit", "Audit log"),
    ]
    .into_iter()
    .filter(|(section, _, _)| viewer.sees(section))
    .collect();
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (viewer.snap.name) " · Roster" }
                link rel="stylesheet" href="/ui/assets/roster.css";
                script src="/ui/assets/roster.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    span.org { (viewer.snap.name) }
                    nav aria-label="Admin Area" {
                        ul {
                            @for (section, href, label) in &nav {
                                li { a href=(href) aria-current=[(*section == current).then_some("page")] { (label) } }
                            }
                        }
                    }
                    form.signout method="post" action="/ui/sign-out" {
                        (viewer.csrf_field())
                        span { (viewer.name) }
                        button.link type="submit" { "Sign out" }
                    }
                }
                main #main {
                    h1 { (title) }
                    (content)
                }
            }
        }
    }
}

pub fn render(markup: Markup) -> Response {
    Html(markup.into_string()).into_response()
}

pub fn render_with(status: StatusCode, markup: Markup) -> Response {
    (status, Html(markup.into_string())).into_response()
}

pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// A notice after a successful action (`?notice=`), announced politely.
pub fn notice(text: Option<&str>) -> Markup {
    html! {
        @if let Some(text) = text.filter(|t| !t.is_empty()) {
            p.notice role="status" { (text) }
        }
    }
}

/// A problem shown next to the control that caused it.
pub fn error(text: Option<&str>) -> Markup {
    html! {
        @if let Some(text) = text {
            p.error role="alert" { (text) }
        }
    }
}

/// A modal dialog. Rendered open by the server, so it works without
/// JavaScript; the script upgrades it to a real modal (focus trapped,
/// Escape closes).
pub fn dialog(id: &str, title: &str, cancel_href: &str, body: Markup) -> Markup {
    let title_id = format!("{id}-title");
    html! {
        div.backdrop {}
        dialog open id=(id) aria-modal="true" aria-labelledby=(title_id) data-cancel=(cancel_href) {
            h2 id=(title_id) { (title) }
            (body)
            p { a.cancel href=(cancel_href) { "Cancel" } }
        }
    }
}

pub fn badge(kind: &str, label: &str) -> Markup {
    html! { span class=(format!("badge badge-{kind}")) { (label) } }
}

/// The date part of an RFC 3339 time, for tables.
pub fn date(t: roster_core::Timestamp) -> String {
    t.format("%Y-%m-%d").to_string()
}

/// The refusal for a form whose CSRF token is missing or wrong (compared
/// in constant time), or `None` when it matches.
pub fn csrf_refusal(expected: &str, submitted: &str) -> Option<Response> {
    if bool::from(subtle::ConstantTimeEq::ct_eq(
        submitted.as_bytes(),
        expected.as_bytes(),
    )) {
        return None;
    }
    Some(render_with(
        StatusCode::FORBIDDEN,
        bare(
            "Request refused",
            html! { p.error role="alert" { "This form was not sent from Roster (its security token is missing or wrong). Nothing was changed." } },
        ),
    ))
}
