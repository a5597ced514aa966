//! AuthZEN Authorization API 1.0 (API.md "Decisions"): single and batch
//! evaluations, resource search, and the metadata document. Every answer
//! comes from `roster_core::decide` on the organization's snapshot.

use std::sync::Arc;

use rustc_hash::FxHashMap;

use axum::extract::State;
use axum::Json;
use roster_core::{decide, Action, Decision, OrgSnapshot, Resource};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{checked_cursor, ApiJson};
use crate::state::AppState;

#[derive(Deserialize, Clone, Default)]
pub struct Subject {
    #[serde(rename = "type")]
    kind: String,
    id: String,
}

#[derive(Deserialize, Clone)]
pub struct ActionBody {
    name: String,
}

#[derive(Deserialize, Clone, Default)]
pub struct Properties {
    org_id: Option<String>,
    space_id: Option<String>,
    added_by: Option<String>,
}

#[derive(Deserialize, Clone)]
pub struct ResourceBody {
    #[serde(rename = "type")]
    kind: String,
    id: Option<String>,
    #[serde(default)]
    properties: Properties,
}

#[derive(Deserialize, Clone, Default)]
pub struct Context {
    explain: Option<bool>,
    at_least: Option<i64>,
}

#[derive(Deserialize, Clone)]
pub struct Evaluation {
    subject: Option<Subject>,
    action: Option<ActionBody>,
    resource: Option<ResourceBody>,
    context: Option<Context>,
}

/// A request parsed at the edge: the organization, who, what, on what.
struct Question {
    org_id: String,
    subject: String,
    action: Action,
    resource: ResourceBody,
    explain: bool,
    at_least: Option<i64>,
}

impl Question {
    fn parse(e: Evaluation, caller: &Caller) -> ApiResult<Question> {
        let subject = e
            .subject
            .ok_or_else(|| ApiError::invalid("subject", "subject is required"))?;
        if subject.kind != "user" {
            return Err(ApiError::invalid(
                "subject.type",
                "subject.type must be user",
            ));
        }
        let action = e
            .action
            .ok_or_else(|| ApiError::invalid("action", "action is required"))?;
        let action: Action =
            action
                .name
                .parse()
                .map_err(|err: roster_core::action::UnknownAction| {
                    ApiError::invalid("action.name", err.to_string())
                })?;
        let resource = e
            .resource
            .ok_or_else(|| ApiError::invalid("resource", "resource is required"))?;
        let org_id = match resource.kind.as_str() {
            "organization" => resource
                .id
                .clone()
                .or_else(|| resource.properties.org_id.clone()),
            "space" | "user" | "item" => resource.properties.org_id.clone(),
            other => {
                return Err(ApiError::invalid(
                    "resource.type",
                    format!(
                        "unknown resource type `{other}`: use organization, space, user or item"
                    ),
                ))
            }
        }
        .ok_or_else(|| {
            ApiError::invalid("resource.properties.org_id", "the organization is required")
        })?;
        if matches!(resource.kind.as_str(), "space" | "user") && resource.id.is_none() {
            return Err(ApiError::invalid("resource.id", "resource.id is required"));
        }
        if resource.kind == "item" && resource.properties.space_id.is_none() {
            return Err(ApiError::invalid(
                "resource.properties.space_id",
                "an item needs its space_id",
            ));
        }
        // Someone acting as a user asks only about themselves, in their organization.
        match caller {
            Caller::Platform => {}
            Caller::PlatformAs(user) if *user == subject.id => {}
            Caller::Token {
                user_id,
                org_id: own,
                ..
            } if *user_id == subject.id && *own == org_id => {}
            _ => {
                return Err(ApiError::forbidden(
                    "a user may ask only about their own access",
                ))
            }
        }
        let context = e.context.unwrap_or_default();
        Ok(Question {
            org_id,
            subject: subject.id,
            action,
            resource,
            explain: context.explain.unwrap_or(false),
            at_least: context.at_least,
        })
    }

    fn resource(&self) -> Resource<'_> {
        let id = self.resource.id.as_deref().unwrap_or_default();
        match self.resource.kind.as_str() {
            "space" => Resource::Space(id),
            "user" => Resource::User(id),
            "item" => Resource::Item {
                space_id: self
                    .resource
                    .properties
                    .space_id
                    .as_deref()
                    .unwrap_or_default(),
                added_by: self.resource.properties.added_by.as_deref(),
            },
            _ => Resource::Organization,
        }
    }
}

fn answer(app: &AppState, snap: Option<&OrgSnapshot>, q: &Question) -> Value {
    let decision = snap.map(|snap| decide(snap, &q.subject, q.action, q.resource(), app.now()));
    app.metrics
        .record_decision(decision.is_some_and(|d| d.allowed));
    let mut body = json!({"decision": decision.is_some_and(|d| d.allowed)});
    if q.explain {
        body["context"] = match decision {
            Some(Decision { rule, role, .. }) => json!({
                "reason": rule.as_str(),
                "description": rule.describe(),
                "role": role.map(|r| r.as_str()),
                "revision": snap.map(|s| s.revision),
            }),
            None => {
                json!({"reason": "unknown_organization", "description": "there is no such organization"})
            }
        };
    }
    body
}

async fn snapshot_for(app: &AppState, q: &Question) -> ApiResult<Option<Arc<OrgSnapshot>>> {
    Ok(app.store.snapshot(&q.org_id, q.at_least).await?)
}

pub async fn evaluation(
    State(app): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<Evaluation>,
) -> ApiResult<Json<Value>> {
    let q = Question::parse(body, &caller)?;
    let snap = snapshot_for(&app, &q).await?;
    Ok(Json(answer(&app, snap.as_deref(), &q)))
}

#[derive(Deserialize, Default)]
pub struct Options {
    evaluations_semantic: Option<String>,
}

#[derive(Deserialize)]
pub struct Batch {
    subject: Option<Subject>,
    action: Option<ActionBody>,
    resource: Option<ResourceBody>,
    context: Option<Context>,
    #[serde(default)]
    evaluations: Vec<Evaluation>,
    #[serde(default)]
    options: Options,
}

#[derive(PartialEq, Eq)]
enum Semantic {
    ExecuteAll,
    DenyOnFirstDeny,
    PermitOnFirstPermit,
}

pub async fn evaluations(
    State(app): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<Batch>,
) -> ApiResult<Json<Value>> {
    let semantic = match body.options.evaluations_semantic.as_deref() {
        None | Some("execute_all") => Semantic::ExecuteAll,
        Some("deny_on_first_deny") => Semantic::DenyOnFirstDeny,
        Some("permit_on_first_permit") => Semantic::PermitOnFirstPermit,
        Some(other) => {
            return Err(ApiError::invalid(
                "options.evaluations_semantic",
                format!("unknown semantic `{other}`"),
            ))
        }
    };
    if body.evaluations.len() > 1000 {
        return Err(ApiError::invalid(
            "evaluations",
            "at most 1000 evaluations per request",
        ));
    }
    let defaults = Evaluation {
        subject: body.subject,
        action: body.action,
        resource: body.resource,
        context: body.context,
    };
    // AuthZEN: without `evaluations`, the request is one evaluation and the
    // answer is one decision.
    if body.evaluations.is_empty() {
        let q = Question::parse(defaults, &caller)?;
        let snap = snapshot_for(&app, &q).await?;
        return Ok(Json(answer(&app, snap.as_deref(), &q)));
    }
    let items = body.evaluations;
    let questions = items
        .into_iter()
        .map(|e| {
            Question::parse(
                Evaluation {
                    subject: e.subject.or_else(|| defaults.subject.clone()),
                    action: e.action.or_else(|| defaults.action.clone()),
                    resource: e.resource.or_else(|| defaults.resource.clone()),
                    context: e.context.or_else(|| defaults.context.clone()),
                },
                &caller,
            )
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let mut results = Vec::with_capacity(questions.len());
    // One snapshot per organization for the whole batch, as fresh as the
    // freshest `at_least` asked for it.
    let mut snapshots: FxHashMap<&str, Option<Arc<OrgSnapshot>>> = FxHashMap::default();
    for q in &questions {
        if !snapshots.contains_key(q.org_id.as_str()) {
            let at_least = questions
                .iter()
                .filter(|o| o.org_id == q.org_id)
                .filter_map(|o| o.at_least)
                .max();
            let snap = app.store.snapshot(&q.org_id, at_least).await?;
            snapshots.insert(q.org_id.as_str(), snap);
        }
    }
    for q in &questions {
        let snap = snapshots.get(q.org_id.as_str()).cloned().flatten();
        let result = answer(&app, snap.as_deref(), q);
        let allowed = result["decision"] == json!(true);
        results.push(result);
        let stop = match semantic {
            Semantic::ExecuteAll => false,
            Semantic::DenyOnFirstDeny => !allowed,
            Semantic::PermitOnFirstPermit => allowed,
        };
        if stop {
            break;
        }
    }
    Ok(Json(json!({"evaluations": results})))
}

#[derive(Deserialize, Default)]
pub struct PageRequest {
    token: Option<String>,
    limit: Option<u32>,
}

#[derive(Deserialize)]
pub struct Search {
    subject: Subject,
    action: ActionBody,
    resource: ResourceBody,
    #[serde(default)]
    page: PageRequest,
    context: Option<Context>,
}

/// Which spaces may this subject do the action in?
pub async fn search_resource(
    State(app): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<Search>,
) -> ApiResult<Json<Value>> {
    if body.resource.kind != "space" {
        return Err(ApiError::invalid(
            "resource.type",
            "resource search covers spaces: resource.type must be space",
        ));
    }
    let limit = match body.page.limit {
        None => 100,
        Some(l) if (1..=1000).contains(&l) => l as usize,
        Some(_) => {
            return Err(ApiError::invalid(
                "page.limit",
                "page.limit must be 1 to 1000",
            ))
        }
    };
    let mut resource = body.resource;
    resource.id = Some(String::new());
    let q = Question::parse(
        Evaluation {
            subject: Some(body.subject),
            action: Some(body.action),
            resource: Some(resource),
            context: body.context,
        },
        &caller,
    )?;
    let after = checked_cursor("page.token", body.page.token.as_deref(), "spc")?
        .unwrap_or_default()
        .to_owned();
    let Some(snap) = snapshot_for(&app, &q).await? else {
        return Ok(Json(json!({"results": [], "page": {"next_token": ""}})));
    };
    let now = app.now();
    let mut ids: Vec<&str> = snap
        .spaces()
        .map(|s| s.id.as_str())
        .filter(|id| after.is_empty() || *id > after.as_str())
        .filter(|id| decide(&snap, &q.subject, q.action, Resource::Space(id), now).allowed)
        .collect();
    ids.sort_unstable();
    let next_token = if ids.len() > limit {
        ids[limit - 1].to_owned()
    } else {
        String::new()
    };
    let results: Vec<Value> = ids
        .into_iter()
        .take(limit)
        .map(|id| json!({"type": "space", "id": id}))
        .collect();
    Ok(Json(
        json!({"results": results, "page": {"next_token": next_token}}),
    ))
}

pub async fn configuration(State(app): State<AppState>) -> Json<Value> {
    let base = &app.config.public_url;
    Json(json!({
        "policy_decision_point": base,
        "access_evaluation_endpoint": format!("{base}/access/v1/evaluation"),
        "access_evaluations_endpoint": format!("{base}/access/v1/evaluations"),
        "search_resource_endpoint": format!("{base}/access/v1/search/resource"),
    }))
}
