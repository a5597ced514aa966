//! Every answer the tests receive, checked against the OpenAPI document the
//! server serves (`roster_server::http::openapi::document()`): the request's
//! path is matched to one of the document's path templates, the answer's
//! status must be one the operation documents, its media type one that
//! response lists, and a JSON body must match the response's schema (JSON
//! Schema 2020-12, formats asserted). Paths the document does not describe
//! (the admin UI's pages, `/invitations/accept`) are not checked.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use jsonschema::Validator;
use reqwest::{Method, StatusCode};
use serde_json::{json, Map, Value};

static DOCUMENT: LazyLock<Value> =
    LazyLock::new(|| serde_json::to_value(roster_server::http::openapi::document()).unwrap());

/// One validator per (operation, status, media type), built on first use.
static VALIDATORS: LazyLock<Mutex<HashMap<String, Arc<Validator>>>> = LazyLock::new(Mutex::default);

/// The document's path template for a concrete path: the same number of
/// segments, literal segments equal, `{…}` segments anything. Like the
/// router, a literal segment wins over a parameter (`…/members/bulk` is
/// not `…/members/{user}`).
pub fn template(path: &str) -> Option<&'static str> {
    let segments: Vec<&str> = path.split('/').collect();
    DOCUMENT["paths"]
        .as_object()?
        .keys()
        .filter_map(|template| {
            let parts: Vec<&str> = template.split('/').collect();
            if parts.len() != segments.len() {
                return None;
            }
            // Literal segments, left to right: a later literal breaks ties.
            let mut literals = Vec::with_capacity(parts.len());
            for (part, segment) in parts.iter().zip(&segments) {
                let parameter = part.starts_with('{') && part.ends_with('}');
                if parameter {
                    if segment.is_empty() {
                        return None;
                    }
                } else if part != segment {
                    return None;
                }
                literals.push(!parameter);
            }
            Some((literals, template.as_str()))
        })
        .max()
        .map(|(_, template)| template)
}

/// Whether the answer is one the document describes for this request;
/// `Err` says how it is not.
pub fn check(
    method: &Method,
    path: &str,
    status: StatusCode,
    content_type: Option<&str>,
    body: &str,
) -> Result<(), String> {
    let Some(template) = template(path) else {
        return Ok(());
    };
    let method_name = method.as_str().to_ascii_lowercase();
    let operation = &DOCUMENT["paths"][template][&method_name];
    if operation.is_null() {
        // A method the path does not have: no operation to hold it to.
        return Ok(());
    }
    let name = format!("{} {template}", method.as_str());
    check_operation(&name, operation, status, content_type, body).map_err(|why| {
        format!(
            "operation {name} ({}), status {}: {why}",
            operation["operationId"].as_str().unwrap_or("?"),
            status.as_u16()
        )
    })
}

fn check_operation(
    name: &str,
    operation: &Value,
    status: StatusCode,
    content_type: Option<&str>,
    body: &str,
) -> Result<(), String> {
    let responses = &operation["responses"];
    let response = match &responses[status.as_str()] {
        Value::Null => &responses["default"],
        response => response,
    };
    if response.is_null() {
        let documented: Vec<&String> = responses
            .as_object()
            .map(|r| r.keys().collect())
            .unwrap_or_default();
        return Err(format!(
            "the status is not documented (documented: {documented:?})"
        ));
    }
    let content = response["content"].as_object().filter(|c| !c.is_empty());
    let Some(content) = content else {
        return if body.is_empty() {
            Ok(())
        } else {
            Err("documented without a body, but the answer has one".into())
        };
    };
    let media_type = content_type
        .and_then(|c| c.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let Some(documented) = content.get(&media_type) else {
        return Err(format!(
            "answered as `{media_type}`; the document lists {:?}",
            content.keys().collect::<Vec<_>>()
        ));
    };
    let is_json = media_type == "application/json" || media_type.ends_with("+json");
    let schema = &documented["schema"];
    if !is_json || schema.is_null() {
        return Ok(());
    }
    let instance: Value =
        serde_json::from_str(body).map_err(|e| format!("`{media_type}` but not JSON: {e}"))?;
    let validator = validator(&format!("{name} {} {media_type}", status.as_u16()), schema)?;
    let errors: Vec<String> = validator
        .iter_errors(&instance)
        .take(10)
        .map(|e| {
            let at = e.instance_path().to_string();
            format!("at `{}`: {e}", if at.is_empty() { "/" } else { &at })
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the body does not match the schema {}:\n  {}",
            schema,
            errors.join("\n  ")
        ))
    }
}

/// The response schema as a document of its own, with the components its
/// references point into.
fn validator(key: &str, schema: &Value) -> Result<Arc<Validator>, String> {
    let mut cache = VALIDATORS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(validator) = cache.get(key) {
        return Ok(validator.clone());
    }
    let mut root = match schema {
        Value::Object(schema) => schema.clone(),
        other => Map::from_iter([("allOf".to_owned(), json!([other]))]),
    };
    root.insert(
        "$schema".into(),
        json!("https://json-schema.org/draft/2020-12/schema"),
    );
    root.insert("components".into(), DOCUMENT["components"].clone());
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&Value::Object(root))
        .map_err(|e| format!("the schema {schema} does not compile: {e}"))?;
    let validator = Arc::new(validator);
    cache.insert(key.to_owned(), validator.clone());
    Ok(validator)
}

/// The check itself: it must be able to fail.
mod checks {
    use reqwest::{Method, StatusCode};

    use super::{check, template};

    const JSON: Option<&str> = Some("application/json");
    const PROBLEM: Option<&str> = Some("application/problem+json");

    #[test]
    fn an_answer_off_its_schema_or_with_an_undocumented_status_fails_the_check() {
        let seats = "/v1/orgs/org_1/seats";
        let good =
            r#"{"limit": null, "used": 1, "reserved": 0, "available": null, "holders": ["usr_1"]}"#;
        assert_eq!(
            check(&Method::GET, seats, StatusCode::OK, JSON, good),
            Ok(())
        );
        let wrong_type = r#"{"used": "one", "reserved": 0, "holders": []}"#;
        let why = check(&Method::GET, seats, StatusCode::OK, JSON, wrong_type).unwrap_err();
        assert!(why.contains("/used"), "{why}");
        let missing = r#"{"used": 1, "reserved": 0}"#;
        let why = check(&Method::GET, seats, StatusCode::OK, JSON, missing).unwrap_err();
        assert!(why.contains("holders"), "{why}");
        let why = check(
            &Method::GET,
            seats,
            StatusCode::OK,
            Some("text/html"),
            "<p>",
        )
        .unwrap_err();
        assert!(why.contains("text/html"), "{why}");
        let why = check(&Method::GET, seats, StatusCode::IM_A_TEAPOT, PROBLEM, "{}").unwrap_err();
        assert!(why.contains("not documented"), "{why}");
        let no_code =
            r#"{"type": "about:blank", "title": "Forbidden", "status": 403, "detail": "no"}"#;
        let why = check(&Method::GET, seats, StatusCode::FORBIDDEN, PROBLEM, no_code).unwrap_err();
        assert!(why.contains("code"), "{why}");
        let org = "/v1/orgs/org_1";
        assert_eq!(
            check(&Method::DELETE, org, StatusCode::NO_CONTENT, None, ""),
            Ok(())
        );
        let why = check(&Method::DELETE, org, StatusCode::NO_CONTENT, JSON, "{}").unwrap_err();
        assert!(why.contains("without a body"), "{why}");
    }

    #[test]
    fn paths_outside_the_document_are_not_checked_and_literal_segments_win() {
        assert_eq!(
            template("/v1/orgs/org_1/members/bulk"),
            Some("/v1/orgs/{org}/members/bulk")
        );
        assert_eq!(
            template("/v1/orgs/org_1/members/usr_1"),
            Some("/v1/orgs/{org}/members/{user}")
        );
        assert_eq!(template("/v1/orgs//members"), None);
        assert_eq!(template("/ui/sign-in"), None);
        let page = check(
            &Method::POST,
            "/ui/sign-in",
            StatusCode::FORBIDDEN,
            Some("text/html"),
            "<p>no</p>",
        );
        assert_eq!(page, Ok(()));
    }
}
