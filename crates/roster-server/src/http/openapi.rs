//! The OpenAPI 3.1 document: generated from the handlers' annotations and
//! the request and response types (enums from the core's catalogs), so the
//! document and the code cannot drift. `docs/openapi.json` is this
//! document, committed; a test keeps the two equal.

use std::sync::LazyLock;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::OpenApi;
use utoipa::{Modify, OpenApi as _};

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The platform key (optionally with X-Roster-Actor: <user_id>), or a user token.",
                    ))
                    .build(),
            ),
        );
    }
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Roster",
        description = "Roles, seats and access for coaching and training organizations. Errors are RFC 9457 problem documents with a stable `code`; every write answers with `X-Roster-Revision`."
    ),
    modifiers(&Bearer),
    security(("bearer" = [])),
    tags(
        (name = "organizations"), (name = "members"), (name = "spaces"),
        (name = "invitations"), (name = "tokens"), (name = "audit"),
        (name = "decisions", description = "AuthZEN Authorization API 1.0"),
        (name = "events"), (name = "webhooks"),
        (name = "platform"), (name = "operations"),
    )
)]
struct ApiDoc;

/// The document's frame, before the routes add their paths.
pub fn base() -> OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.license = None;
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc
}

static DOCUMENT: LazyLock<OpenApi> = LazyLock::new(|| {
    let (_, mut doc) = super::api().split_for_parts();
    let (_, dev) = super::platform::dev_api().split_for_parts();
    doc.merge(dev);
    doc
});

/// The whole document.
pub fn document() -> &'static OpenApi {
    &DOCUMENT
}

/// The document as served at `/openapi.json` and committed in `docs/`.
pub fn json() -> String {
    document().to_pretty_json().unwrap_or_default()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `/docs`: every operation of the document, one line each.
pub fn docs_page() -> String {
    let mut rows = String::new();
    for (path, item) in &document().paths.paths {
        let operations = [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("PATCH", &item.patch),
            ("DELETE", &item.delete),
        ];
        for (method, operation) in operations {
            let Some(op) = operation else { continue };
            rows.push_str(&format!(
                "<tr><td><code>{method}</code></td><td><code>{}</code></td><td>{}</td></tr>\n",
                escape(path),
                escape(op.summary.as_deref().unwrap_or_default()),
            ));
        }
    }
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Roster API</title>\
<style>body{{font-family:system-ui,sans-serif;margin:2rem;color:#1a1a1a}}table{{border-collapse:collapse}}td,th{{border-bottom:1px solid #ccc;padding:.3rem .6rem;text-align:left}}</style></head>\
<body><h1>Roster API</h1><p>The machine-readable document is at <a href=\"/openapi.json\">/openapi.json</a>. Errors are RFC 9457 problem documents with a stable <code>code</code>.</p>\
<table><thead><tr><th>Method</th><th>Path</th><th>What it does</th></tr></thead><tbody>\n{rows}</tbody></table></body></html>"
    )
}
