//! The OpenAPI 3.1 document, generated from the route table below and the
//! core's catalogs (roles, actions, durations), so enums never drift.

use roster_core::{Action, IaDuration, Role};
use serde_json::{json, Map, Value};

/// Every route: method, path, summary, who may call it, request schema.
pub const ROUTES: &[(&str, &str, &str, &str, Option<&str>)] = &[
    (
        "post",
        "/v1/orgs",
        "Create an organization with its first Owner",
        "platform key",
        Some("CreateOrg"),
    ),
    (
        "get",
        "/v1/orgs/{org}",
        "Read an organization",
        "platform key or members.view",
        None,
    ),
    (
        "patch",
        "/v1/orgs/{org}",
        "Rename; seat limit and seat roles (platform only)",
        "settings.manage",
        Some("PatchOrg"),
    ),
    (
        "delete",
        "/v1/orgs/{org}",
        "Delete the organization; every token revoked",
        "org.delete (Owner)",
        None,
    ),
    (
        "put",
        "/v1/orgs/{org}/implementation-admin-domains",
        "Set the Implementation Admin domain allowlist",
        "platform key",
        Some("Domains"),
    ),
    (
        "get",
        "/v1/orgs/{org}/implementation-admin-domains",
        "Read the allowlist",
        "platform key or members.invite",
        None,
    ),
    (
        "put",
        "/v1/orgs/{org}/settings/implementation-admin",
        "Turn the Implementation Admin role on or off",
        "settings.manage",
        Some("ImplementationAdminSetting"),
    ),
    (
        "get",
        "/v1/orgs/{org}/members",
        "List members (role, status, q, cursor, limit)",
        "members.view",
        None,
    ),
    (
        "post",
        "/v1/orgs/{org}/members/bulk",
        "Deactivate, reactivate or remove several members",
        "members.deactivate / members.remove",
        Some("Bulk"),
    ),
    (
        "get",
        "/v1/orgs/{org}/members/{user}",
        "Read a member",
        "the person or members.view",
        None,
    ),
    (
        "patch",
        "/v1/orgs/{org}/members/{user}",
        "Change the org role",
        "members.change_role",
        Some("PatchMember"),
    ),
    (
        "delete",
        "/v1/orgs/{org}/members/{user}",
        "Remove from the organization",
        "members.remove",
        None,
    ),
    (
        "post",
        "/v1/orgs/{org}/members/{user}/deactivate",
        "Deactivate",
        "members.deactivate",
        None,
    ),
    (
        "post",
        "/v1/orgs/{org}/members/{user}/reactivate",
        "Reactivate (needs a free seat)",
        "members.deactivate",
        None,
    ),
    (
        "post",
        "/v1/orgs/{org}/members/{user}/remove-implementation-admin",
        "End an Implementation Admin assignment now",
        "members.remove",
        Some("Confirm"),
    ),
    (
        "get",
        "/v1/orgs/{org}/members/{user}/capabilities",
        "What the Admin Area shows this person",
        "the person or members.view",
        None,
    ),
    (
        "get",
        "/v1/orgs/{org}/seats",
        "Seat usage",
        "seats.view",
        None,
    ),
    (
        "post",
        "/v1/orgs/{org}/spaces",
        "Create a space",
        "spaces.create",
        Some("Space"),
    ),
    (
        "get",
        "/v1/orgs/{org}/spaces",
        "List the spaces the caller can open",
        "member",
        None,
    ),
    (
        "get",
        "/v1/orgs/{org}/spaces/{space}",
        "Read a space",
        "space.view",
        None,
    ),
    (
        "patch",
        "/v1/orgs/{org}/spaces/{space}",
        "Rename a space",
        "spaces.manage",
        Some("Space"),
    ),
    (
        "delete",
        "/v1/orgs/{org}/spaces/{space}",
        "Delete a space",
        "spaces.delete",
        None,
    ),
    (
        "get",
        "/v1/orgs/{org}/spaces/{space}/members",
        "Space members with how they reach it",
        "members.view in the space",
        None,
    ),
    (
        "put",
        "/v1/orgs/{org}/spaces/{space}/members/{user}",
        "Add an existing member or change their space role",
        "org admin or the space's Program Admin",
        Some("SpaceRole"),
    ),
    (
        "delete",
        "/v1/orgs/{org}/spaces/{space}/members/{user}",
        "Remove a space role",
        "org admin or the space's Program Admin",
        None,
    ),
    (
        "post",
        "/v1/orgs/{org}/spaces/{space}/leave",
        "Leave a space (participants)",
        "space.leave",
        Some("Confirm"),
    ),
    (
        "get",
        "/v1/orgs/{org}/spaces/{space}/notification-recipients",
        "Who receives the space's notifications",
        "members.view in the space",
        None,
    ),
    (
        "post",
        "/v1/orgs/{org}/invitations",
        "Invite a batch (all-or-nothing)",
        "members.invite or the space's Program Admin",
        Some("InvitationBatch"),
    ),
    (
        "get",
        "/v1/orgs/{org}/invitations",
        "List invitations (status, cursor, limit)",
        "members.view",
        None,
    ),
    (
        "delete",
        "/v1/orgs/{org}/invitations/{id}",
        "Revoke a pending invitation",
        "members.invite",
        None,
    ),
    (
        "post",
        "/v1/orgs/{org}/invitations/{id}/resend",
        "Resend: a new link and expiry",
        "members.invite",
        None,
    ),
    (
        "post",
        "/v1/invitations/accept",
        "Accept with the token from the email",
        "none",
        Some("Accept"),
    ),
    (
        "post",
        "/v1/orgs/{org}/tokens",
        "Create a token (secret shown once)",
        "an active member",
        Some("CreateToken"),
    ),
    (
        "get",
        "/v1/orgs/{org}/tokens",
        "List tokens (user_id, cursor, limit)",
        "own, or tokens.manage",
        None,
    ),
    (
        "delete",
        "/v1/orgs/{org}/tokens/{id}",
        "Revoke a token",
        "own, or tokens.manage",
        None,
    ),
    (
        "post",
        "/v1/introspect",
        "RFC 7662 token introspection (form token=…)",
        "platform key",
        None,
    ),
    (
        "get",
        "/v1/orgs/{org}/audit",
        "Query the audit log",
        "audit.view",
        None,
    ),
    (
        "get",
        "/v1/orgs/{org}/audit/export",
        "Export as jsonl or csv",
        "audit.view",
        None,
    ),
    (
        "get",
        "/v1/orgs/{org}/audit/verify",
        "Verify the hash chain",
        "audit.view",
        None,
    ),
    (
        "get",
        "/v1/platform/implementation-admins",
        "Forever Implementation Admins to review",
        "platform key",
        None,
    ),
    (
        "post",
        "/v1/platform/implementation-admins/{org}/{user}/review",
        "Record a review",
        "platform key",
        None,
    ),
    (
        "post",
        "/v1/dev/clock",
        "Advance the dev clock (ROSTER_DEV_CLOCK=1 only)",
        "platform key",
        Some("Advance"),
    ),
    (
        "post",
        "/v1/dev/sweep",
        "Run the background jobs once (ROSTER_DEV_CLOCK=1 only)",
        "platform key",
        None,
    ),
    (
        "post",
        "/access/v1/evaluation",
        "AuthZEN: one decision",
        "platform key, or a token about its owner",
        Some("Evaluation"),
    ),
    (
        "post",
        "/access/v1/evaluations",
        "AuthZEN: many decisions",
        "platform key, or a token about its owner",
        Some("Evaluations"),
    ),
    (
        "post",
        "/access/v1/search/resource",
        "AuthZEN: spaces where the subject may act",
        "platform key, or a token about its owner",
        Some("Search"),
    ),
    (
        "get",
        "/.well-known/authzen-configuration",
        "AuthZEN metadata",
        "none",
        None,
    ),
    ("get", "/healthz", "Liveness", "none", None),
    (
        "get",
        "/readyz",
        "Readiness (database reachable)",
        "none",
        None,
    ),
    ("get", "/metrics", "Prometheus metrics", "none", None),
    ("get", "/openapi.json", "This document", "none", None),
    ("get", "/docs", "A page listing the API", "none", None),
];

fn names<T: Copy>(items: &[T], name: impl Fn(T) -> &'static str) -> Vec<&'static str> {
    items.iter().map(|i| name(*i)).collect()
}

fn schemas() -> Value {
    let roles = names(&Role::ALL, Role::as_str);
    let org_roles: Vec<&str> = roles[..3].to_vec();
    let space_roles: Vec<&str> = roles[3..].to_vec();
    let durations = names(&IaDuration::ALL, IaDuration::as_str);
    let actions = names(Action::ALL, Action::as_str);
    json!({
        "Problem": {"type": "object", "required": ["type", "title", "status", "code"], "properties": {
            "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
            "detail": {"type": "string"}, "code": {"type": "string"},
            "rejected": {"type": "array", "items": {"type": "object", "properties": {"email": {"type": "string"}, "code": {"type": "string"}}}},
            "allowed_domains": {"type": "array", "items": {"type": "string"}},
            "affected": {"type": "integer"}, "org_role": {"type": "string"}, "field": {"type": "string"}}},
        "Role": {"type": "string", "enum": roles},
        "OrgRole": {"type": ["string", "null"], "enum": org_roles},
        "SpaceRoleName": {"type": "string", "enum": space_roles},
        "Duration": {"type": "string", "enum": durations},
        "Action": {"type": "string", "enum": actions},
        "CreateOrg": {"type": "object", "required": ["name", "owner_email"], "properties": {
            "name": {"type": "string"}, "owner_email": {"type": "string"}, "owner_name": {"type": "string"},
            "seat_limit": {"type": ["integer", "null"], "minimum": 1}}},
        "PatchOrg": {"type": "object", "properties": {"name": {"type": "string"}, "seat_limit": {"type": ["integer", "null"]},
            "seat_roles": {"type": "array", "items": {"$ref": "#/components/schemas/Role"}}}},
        "Domains": {"type": "object", "required": ["domains"], "properties": {"domains": {"type": "array", "items": {"type": "string"}}}},
        "ImplementationAdminSetting": {"type": "object", "required": ["enabled"], "properties": {"enabled": {"type": "boolean"}, "confirm": {"type": "boolean"}}},
        "PatchMember": {"type": "object", "properties": {"org_role": {"$ref": "#/components/schemas/OrgRole"}, "duration": {"$ref": "#/components/schemas/Duration"}}},
        "Bulk": {"type": "object", "required": ["action", "user_ids"], "properties": {
            "action": {"type": "string", "enum": ["deactivate", "reactivate", "remove"]}, "user_ids": {"type": "array", "items": {"type": "string"}}}},
        "Confirm": {"type": "object", "properties": {"confirm": {"type": "boolean"}}},
        "Space": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}},
        "SpaceRole": {"type": "object", "required": ["role"], "properties": {"role": {"$ref": "#/components/schemas/SpaceRoleName"}}},
        "InvitationBatch": {"type": "object", "required": ["emails", "role"], "properties": {
            "emails": {"oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}]},
            "role": {"$ref": "#/components/schemas/Role"}, "space_ids": {"type": "array", "items": {"type": "string"}},
            "duration": {"$ref": "#/components/schemas/Duration"}, "message": {"type": "string"}}},
        "Accept": {"type": "object", "required": ["token"], "properties": {"token": {"type": "string"}, "name": {"type": "string"}}},
        "CreateToken": {"type": "object", "required": ["kind", "name"], "properties": {
            "kind": {"type": "string", "enum": ["api", "mcp", "oauth"]}, "name": {"type": "string"}, "expires_at": {"type": "string", "format": "date-time"}}},
        "Advance": {"type": "object", "required": ["advance_seconds"], "properties": {"advance_seconds": {"type": "integer", "minimum": 0}}},
        "Evaluation": {"type": "object", "properties": {
            "subject": {"type": "object", "properties": {"type": {"const": "user"}, "id": {"type": "string"}}},
            "action": {"type": "object", "properties": {"name": {"$ref": "#/components/schemas/Action"}}},
            "resource": {"type": "object", "properties": {"type": {"type": "string", "enum": ["organization", "space", "user", "item"]}, "id": {"type": "string"},
                "properties": {"type": "object", "properties": {"org_id": {"type": "string"}, "space_id": {"type": "string"}, "added_by": {"type": "string"}}}}},
            "context": {"type": "object", "properties": {"explain": {"type": "boolean"}, "at_least": {"type": "integer"}}}}},
        "Evaluations": {"allOf": [{"$ref": "#/components/schemas/Evaluation"}, {"type": "object", "properties": {
            "evaluations": {"type": "array", "items": {"$ref": "#/components/schemas/Evaluation"}},
            "options": {"type": "object", "properties": {"evaluations_semantic": {"type": "string", "enum": ["execute_all", "deny_on_first_deny", "permit_on_first_permit"]}}}}}]},
        "Search": {"allOf": [{"$ref": "#/components/schemas/Evaluation"}, {"type": "object", "properties": {
            "page": {"type": "object", "properties": {"token": {"type": "string"}, "limit": {"type": "integer"}}}}}]},
    })
}

/// The document; the dev clock's paths only when it is enabled.
pub fn document(server: &str, dev_clock: bool) -> Value {
    let mut paths = Map::new();
    for (method, path, summary, who, body) in ROUTES {
        if path.starts_with("/v1/dev/") && !dev_clock {
            continue;
        }
        let params: Vec<Value> = path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let mut op = json!({
            "summary": summary,
            "description": format!("Who may call it: {who}."),
            "parameters": params,
            "responses": {
                "200": {"description": "Success"},
                "default": {"description": "A problem", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}},
            },
        });
        if let Some(schema) = body {
            op["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}});
        }
        let entry = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        entry[*method] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Roster", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Roles, seats and access for coaching and training organizations."},
        "servers": [{"url": server}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "The platform key (optionally with X-Roster-Actor) or a user token."}},
            "schemas": schemas(),
        },
    })
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

pub fn docs_page() -> String {
    let rows: String = ROUTES
        .iter()
        .map(|(method, path, summary, who, _)| {
            format!(
                "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>\n",
                method.to_uppercase(),
                escape(path),
                escape(summary),
                escape(who)
            )
        })
        .collect();
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Roster API</title>\
<style>body{{font-family:system-ui,sans-serif;margin:2rem;color:#1a1a1a}}table{{border-collapse:collapse}}td,th{{border-bottom:1px solid #ccc;padding:.3rem .6rem;text-align:left}}</style></head>\
<body><h1>Roster API</h1><p>The machine-readable document is at <a href=\"/openapi.json\">/openapi.json</a>. Errors are RFC 9457 problem documents with a stable <code>code</code>.</p>\
<table><thead><tr><th>Method</th><th>Path</th><th>What it does</th><th>Who may call it</th></tr></thead><tbody>\n{rows}</tbody></table></body></html>"
    )
}
