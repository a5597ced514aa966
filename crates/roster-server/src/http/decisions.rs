//! AuthZEN Authorization API 1.0 (API.md "Decisions"): single and batch
//! evaluations, resource search, and the metadata document. Every answer
//! comes from `roster_core::decide` on the organization's snapshot.

use std::sync::Arc;

use rustc_hash::FxHashMap;

use axum::extract::State;
use axum::Json;
use roster_core::capabilities::{allowed_actions, allowed_subjects};
use roster_core::page::first_in_order;
use roster_core::{
    decide, Action, Decision, OrgId, OrgSnapshot, Resource, ShortText, SpaceId, Timestamp, UserId,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Problems;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{checked_cursor, ApiJson};
use crate::state::AppState;

#[derive(Deserialize, Clone, Default, ToSchema)]
pub struct Subject {
    /// `user`.
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    kind: ShortText,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    id: Option<UserId>,
}

#[derive(Deserialize, Clone, ToSchema)]
pub struct ActionBody {
    /// An action of the SPEC §4 catalog.
    #[schema(value_type = Action)]
    name: ShortText,
}

#[derive(Deserialize, Clone, Default, ToSchema)]
pub struct Properties {
    #[schema(value_type = Option<String>)]
    org_id: Option<OrgId>,
    #[schema(value_type = Option<String>)]
    space_id: Option<SpaceId>,
    #[schema(value_type = Option<String>)]
    added_by: Option<UserId>,
}

#[derive(Deserialize, Clone, ToSchema)]
pub struct ResourceBody {
    /// `organization`, `space`, `user` or `item`.
    #[serde(rename = "type")]
    #[schema(value_type = roster_core::ResourceType)]
    kind: ShortText,
    #[schema(value_type = Option<String>)]
    id: Option<ShortText>,
    #[serde(default)]
    properties: Properties,
}

#[derive(Deserialize, Clone, Default, ToSchema)]
pub struct Context {
    /// Answer with the rule that decided.
    explain: Option<bool>,
    /// A revision (`X-Roster-Revision` of a write): decide at least that fresh.
    at_least: Option<i64>,
}

#[derive(Deserialize, Clone, ToSchema)]
pub struct Evaluation {
    subject: Option<Subject>,
    action: Option<ActionBody>,
    resource: Option<ResourceBody>,
    context: Option<Context>,
}

/// Why a decision was made (with `context.explain`).
#[derive(Serialize, Deserialize, Clone, Debug, ToSchema)]
pub struct Explanation {
    /// The rule that decided (stable name).
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<roster_core::Role>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<i64>,
}

#[derive(Serialize, Deserialize, Clone, Debug, ToSchema)]
pub struct DecisionView {
    pub decision: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Explanation>,
}

#[derive(Serialize, Deserialize, Clone, Debug, ToSchema)]
pub struct DecisionsView {
    pub evaluations: Vec<DecisionView>,
}

/// `evaluations` answers a list; a request without a list is one evaluation.
#[derive(Serialize, Deserialize, Clone, Debug, ToSchema)]
#[serde(untagged)]
pub enum BatchAnswer {
    Many(DecisionsView),
    One(DecisionView),
}

/// What a question is about, typed.
enum Target {
    Organization,
    Space(SpaceId),
    User(UserId),
    Item {
        space_id: SpaceId,
        added_by: Option<UserId>,
    },
}

/// A request parsed at the edge: the organization, who, what, on what.
struct Question {
    org_id: OrgId,
    subject: UserId,
    action: Action,
    target: Target,
    explain: bool,
    at_least: Option<i64>,
}

impl Subject {
    /// Only people are subjects.
    fn check_user(&self) -> ApiResult<()> {
        if self.kind != "user" {
            return Err(ApiError::invalid(
                "subject.type",
                "subject.type must be user",
            ));
        }
        Ok(())
    }
}

impl ActionBody {
    /// The catalog action named.
    fn action(&self) -> ApiResult<Action> {
        self.name
            .as_str()
            .parse()
            .map_err(|err: roster_core::UnknownName| {
                ApiError::invalid("action.name", err.to_string())
            })
    }
}

fn required<T>(value: Option<T>, field: &str) -> ApiResult<T> {
    value.ok_or_else(|| ApiError::invalid(field, format!("{field} is required")))
}

impl Question {
    fn parse(e: Evaluation, caller: &Caller) -> ApiResult<Question> {
        let subject = required(e.subject, "subject")?;
        subject.check_user()?;
        let subject = required(subject.id, "subject.id")?;
        let action = required(e.action, "action")?.action()?;
        let resource = required(e.resource, "resource")?;
        let (org_id, target) = target(resource)?;
        // Someone acting as a user asks only about themselves, in their organization.
        match caller {
            Caller::Platform => {}
            Caller::PlatformAs(user) if *user == subject => {}
            Caller::Token {
                user_id,
                org_id: own,
                ..
            } if *user_id == subject && *own == org_id => {}
            _ => {
                return Err(ApiError::forbidden(
                    "a user may ask only about their own access",
                ))
            }
        }
        let at_least = checked_at_least(e.context.as_ref())?;
        Ok(Question {
            org_id,
            subject,
            action,
            target,
            explain: e.context.and_then(|c| c.explain).unwrap_or(false),
            at_least,
        })
    }

    fn resource(&self) -> Resource<'_> {
        self.target.resource()
    }
}

/// `context.at_least`: a revision, 0 or more.
fn checked_at_least(context: Option<&Context>) -> ApiResult<Option<i64>> {
    match context.and_then(|c| c.at_least) {
        Some(r) if r < 0 => Err(ApiError::invalid(
            "context.at_least",
            "context.at_least is a revision: 0 or more",
        )),
        at_least => Ok(at_least),
    }
}

impl Target {
    fn resource(&self) -> Resource<'_> {
        match self {
            Target::Organization => Resource::Organization,
            Target::Space(id) => Resource::Space(id),
            Target::User(id) => Resource::User(id),
            Target::Item { space_id, added_by } => Resource::Item {
                space_id,
                added_by: added_by.as_ref(),
            },
        }
    }
}

/// The organization a resource belongs to, and what it is.
fn target(resource: ResourceBody) -> ApiResult<(OrgId, Target)> {
    let ResourceBody {
        kind,
        id,
        properties,
    } = resource;
    let org = |org: Option<OrgId>| {
        org.ok_or_else(|| {
            ApiError::invalid("resource.properties.org_id", "the organization is required")
        })
    };
    Ok(match kind.as_str() {
        "organization" => (
            org(id.map(OrgId::from).or(properties.org_id))?,
            Target::Organization,
        ),
        "space" => (
            org(properties.org_id)?,
            Target::Space(required(id, "resource.id")?.into()),
        ),
        "user" => (
            org(properties.org_id)?,
            Target::User(required(id, "resource.id")?.into()),
        ),
        "item" => (
            org(properties.org_id)?,
            Target::Item {
                space_id: required(properties.space_id, "resource.properties.space_id")?,
                added_by: properties.added_by,
            },
        ),
        other => {
            return Err(ApiError::invalid(
                "resource.type",
                format!("unknown resource type `{other}`: use organization, space, user or item"),
            ))
        }
    })
}

/// The answer to one question at `now` (a batch reads the clock once, so
/// all its questions are decided at one instant).
fn answer(
    app: &AppState,
    snap: Option<&OrgSnapshot>,
    q: &Question,
    now: Timestamp,
) -> DecisionView {
    let decision = snap.map(|snap| decide(snap, &q.subject, q.action, q.resource(), now));
    let allowed = decision.is_some_and(|d| d.allowed);
    app.metrics.record_decision(allowed);
    let context = q.explain.then(|| match decision {
        Some(Decision { rule, role, .. }) => Explanation {
            reason: rule.as_str().to_owned(),
            description: Some(rule.describe().to_owned()),
            role,
            revision: snap.map(|s| s.revision),
        },
        None => Explanation {
            reason: "unknown_organization".into(),
            description: Some("there is no such organization".into()),
            role: None,
            revision: None,
        },
    });
    DecisionView {
        decision: allowed,
        context,
    }
}

async fn snapshot_for(app: &AppState, q: &Question) -> ApiResult<Option<Arc<OrgSnapshot>>> {
    Ok(app.store.snapshot(&q.org_id, q.at_least).await?)
}

/// May this subject do this action on this resource? (AuthZEN 1.0)
#[utoipa::path(post, path = "/access/v1/evaluation", tag = "decisions",
    request_body = Evaluation,
    responses((status = 200, body = DecisionView), Problems))]
pub async fn evaluation(
    State(app): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<Evaluation>,
) -> ApiResult<Json<DecisionView>> {
    let q = Question::parse(body, &caller)?;
    let snap = snapshot_for(&app, &q).await?;
    Ok(Json(answer(&app, snap.as_deref(), &q, app.now())))
}

#[derive(Deserialize, Default, ToSchema)]
pub struct Options {
    /// `execute_all` (default), `deny_on_first_deny` or `permit_on_first_permit`.
    evaluations_semantic: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct Batch {
    subject: Option<Subject>,
    action: Option<ActionBody>,
    resource: Option<ResourceBody>,
    context: Option<Context>,
    /// Up to 1000; each takes the top-level values it leaves out.
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

/// Many questions at once (AuthZEN 1.0 batch).
#[utoipa::path(post, path = "/access/v1/evaluations", tag = "decisions",
    request_body = Batch,
    responses((status = 200, body = BatchAnswer), Problems))]
pub async fn evaluations(
    State(app): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<Batch>,
) -> ApiResult<Json<BatchAnswer>> {
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
        return Ok(Json(BatchAnswer::One(answer(
            &app,
            snap.as_deref(),
            &q,
            app.now(),
        ))));
    }
    let questions = body
        .evaluations
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
    // One snapshot per organization for the whole batch, as fresh as the
    // freshest `at_least` asked for it.
    let mut snapshots: FxHashMap<&OrgId, Option<Arc<OrgSnapshot>>> = FxHashMap::default();
    for q in &questions {
        if !snapshots.contains_key(&q.org_id) {
            let at_least = questions
                .iter()
                .filter(|o| o.org_id == q.org_id)
                .filter_map(|o| o.at_least)
                .max();
            let snap = app.store.snapshot(&q.org_id, at_least).await?;
            snapshots.insert(&q.org_id, snap);
        }
    }
    let mut results = Vec::with_capacity(questions.len());
    let now = app.now();
    for q in &questions {
        let snap = snapshots.get(&q.org_id).and_then(Option::as_deref);
        let result = answer(&app, snap, q, now);
        let stop = match semantic {
            Semantic::ExecuteAll => false,
            Semantic::DenyOnFirstDeny => !result.decision,
            Semantic::PermitOnFirstPermit => result.decision,
        };
        results.push(result);
        if stop {
            break;
        }
    }
    Ok(Json(BatchAnswer::Many(DecisionsView {
        evaluations: results,
    })))
}

#[derive(Deserialize, Default, ToSchema)]
pub struct PageRequest {
    /// The `next_token` of the previous page.
    token: Option<String>,
    /// 1 to 1000; 100 when absent.
    limit: Option<u32>,
}

#[derive(Deserialize, ToSchema)]
pub struct Search {
    subject: Subject,
    action: ActionBody,
    resource: ResourceBody,
    #[serde(default)]
    page: PageRequest,
    context: Option<Context>,
}

#[derive(Serialize, Deserialize, Clone, Debug, ToSchema)]
pub struct FoundResource {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: SpaceId,
}

#[derive(Serialize, Deserialize, Clone, Debug, ToSchema)]
pub struct PageToken {
    /// Empty on the last page.
    pub next_token: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, ToSchema)]
pub struct SearchAnswer<T> {
    pub results: Vec<T>,
    pub page: PageToken,
}

/// Which spaces may this subject do this action in? (AuthZEN resource search)
#[utoipa::path(post, path = "/access/v1/search/resource", tag = "decisions",
    request_body = Search,
    responses((status = 200, body = SearchAnswer<FoundResource>), Problems))]
pub async fn search_resource(
    State(app): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<Search>,
) -> ApiResult<Json<SearchAnswer<FoundResource>>> {
    if body.resource.kind != "space" {
        return Err(ApiError::invalid(
            "resource.type",
            "resource search covers spaces: resource.type must be space",
        ));
    }
    let mut resource = body.resource;
    resource.id = Some(ShortText::default());
    let q = Question::parse(
        Evaluation {
            subject: Some(body.subject),
            action: Some(body.action),
            resource: Some(resource),
            context: body.context,
        },
        &caller,
    )?;
    let page = body.page.parse(|t| id_token(t, "spc"))?;
    let Some(snap) = snapshot_for(&app, &q).await? else {
        return Ok(Json(page_of(Vec::new(), &page)));
    };
    let now = app.now();
    let after_token = snap
        .spaces()
        .map(|s| &s.id)
        .filter(|id| page.after(id.as_str()));
    let allowed =
        |id: &&SpaceId| decide(&snap, &q.subject, q.action, Resource::Space(id), now).allowed;
    let found = first_in_order(after_token, page.limit, |a, b| a.cmp(b), allowed)
        .into_iter()
        .map(|id| FoundResource {
            kind: "space".into(),
            id: id.clone(),
        })
        .collect();
    Ok(Json(page_of(found, &page)))
}

/// A page asked for, checked.
struct PageAsked {
    /// Results come after this id ("" from the start).
    after: String,
    limit: usize,
}

impl PageRequest {
    /// Checks the limit (1 to 1000) and the token: the last result of a
    /// page, which `given_out` recognizes.
    fn parse(self, given_out: fn(&str) -> bool) -> ApiResult<PageAsked> {
        let limit = match self.limit {
            None => 100,
            Some(l) if (1..=1000).contains(&l) => l as usize,
            Some(_) => {
                return Err(ApiError::invalid(
                    "page.limit",
                    "page.limit must be 1 to 1000",
                ))
            }
        };
        let after = self.token.unwrap_or_default();
        if !after.is_empty() && !given_out(&after) {
            return Err(ApiError::invalid(
                "page.token",
                "page.token is not one this server gave out",
            ));
        }
        Ok(PageAsked { after, limit })
    }
}

/// An id with `prefix`, as search pages end with.
fn id_token(token: &str, prefix: &str) -> bool {
    checked_cursor("page.token", Some(token), prefix).is_ok()
}

impl PageAsked {
    fn after(&self, id: &str) -> bool {
        self.after.is_empty() || id > self.after.as_str()
    }
}

/// A result of a search, with the id the next page starts after.
trait Found {
    fn id(&self) -> &str;
}

impl Found for FoundResource {
    fn id(&self) -> &str {
        self.id.as_str()
    }
}

impl Found for FoundSubject {
    fn id(&self) -> &str {
        self.id.as_str()
    }
}

impl Found for FoundAction {
    fn id(&self) -> &str {
        &self.name
    }
}

/// One page of `found` (in id order, all after the token).
fn page_of<T: Found>(mut found: Vec<T>, page: &PageAsked) -> SearchAnswer<T> {
    let next_token = if found.len() > page.limit {
        found.truncate(page.limit);
        found.last().map(|f| f.id().to_owned()).unwrap_or_default()
    } else {
        String::new()
    };
    SearchAnswer {
        results: found,
        page: PageToken { next_token },
    }
}

#[derive(Deserialize, ToSchema)]
pub struct SubjectSearch {
    /// `{type: "user"}`: the kind of subject looked for.
    subject: Subject,
    action: ActionBody,
    resource: ResourceBody,
    #[serde(default)]
    page: PageRequest,
    context: Option<Context>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, ToSchema)]
pub struct FoundSubject {
    /// `user`.
    #[serde(rename = "type")]
    pub kind: String,
    pub id: UserId,
}

/// Who may do this action on this resource? The active members, in id
/// order (AuthZEN subject search; the platform key only: it lists people).
#[utoipa::path(post, path = "/access/v1/search/subject", tag = "decisions",
    request_body = SubjectSearch,
    responses((status = 200, body = SearchAnswer<FoundSubject>), Problems))]
pub async fn search_subject(
    State(app): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<SubjectSearch>,
) -> ApiResult<Json<SearchAnswer<FoundSubject>>> {
    if !matches!(caller, Caller::Platform) {
        return Err(ApiError::forbidden(
            "subject search lists other people: it takes the platform key",
        ));
    }
    body.subject.check_user()?;
    let action = body.action.action()?;
    let (org_id, target) = target(body.resource)?;
    let at_least = checked_at_least(body.context.as_ref())?;
    let page = body.page.parse(|t| id_token(t, "usr"))?;
    let Some(snap) = app.store.snapshot(&org_id, at_least).await? else {
        return Ok(Json(page_of(Vec::new(), &page)));
    };
    let found = allowed_subjects(
        &snap,
        action,
        target.resource(),
        app.now(),
        &page.after,
        page.limit,
    )
    .into_iter()
    .map(|id| FoundSubject {
        kind: "user".into(),
        id: id.clone(),
    })
    .collect();
    Ok(Json(page_of(found, &page)))
}

#[derive(Deserialize, ToSchema)]
pub struct ActionSearch {
    subject: Subject,
    resource: ResourceBody,
    #[serde(default)]
    page: PageRequest,
    context: Option<Context>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, ToSchema)]
pub struct FoundAction {
    #[schema(value_type = Action)]
    pub name: String,
}

/// What may this subject do on this resource? Every action of the catalog
/// allowed, in name order (AuthZEN action search); on a space, the same
/// list as that space's capabilities.
#[utoipa::path(post, path = "/access/v1/search/action", tag = "decisions",
    request_body = ActionSearch,
    responses((status = 200, body = SearchAnswer<FoundAction>), Problems))]
pub async fn search_action(
    State(app): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ActionSearch>,
) -> ApiResult<Json<SearchAnswer<FoundAction>>> {
    let q = Question::parse(
        Evaluation {
            subject: Some(body.subject),
            // Any action: the question is which.
            action: Some(ActionBody {
                name: ShortText::from(Action::SpaceView.as_str()),
            }),
            resource: Some(body.resource),
            context: body.context,
        },
        &caller,
    )?;
    let page = body.page.parse(|t| t.parse::<Action>().is_ok())?;
    let Some(snap) = snapshot_for(&app, &q).await? else {
        return Ok(Json(page_of(Vec::new(), &page)));
    };
    let mut names: Vec<&str> = allowed_actions(&snap, &q.subject, q.resource(), app.now())
        .into_iter()
        .map(Action::as_str)
        .filter(|name| page.after(name))
        .collect();
    names.sort_unstable();
    let found = names
        .into_iter()
        .map(|name| FoundAction {
            name: name.to_owned(),
        })
        .collect();
    Ok(Json(page_of(found, &page)))
}

#[derive(Serialize, Deserialize, Clone, Debug, ToSchema)]
pub struct Configuration {
    pub policy_decision_point: String,
    pub access_evaluation_endpoint: String,
    pub access_evaluations_endpoint: String,
    pub search_resource_endpoint: String,
    pub search_subject_endpoint: String,
    pub search_action_endpoint: String,
}

/// The AuthZEN metadata document.
#[utoipa::path(get, path = "/.well-known/authzen-configuration", tag = "decisions",
    responses((status = 200, body = Configuration)), security(()))]
pub async fn configuration(State(app): State<AppState>) -> Json<Configuration> {
    let base = &app.config.public_url;
    Json(Configuration {
        policy_decision_point: base.clone(),
        access_evaluation_endpoint: format!("{base}/access/v1/evaluation"),
        access_evaluations_endpoint: format!("{base}/access/v1/evaluations"),
        search_resource_endpoint: format!("{base}/access/v1/search/resource"),
        search_subject_endpoint: format!("{base}/access/v1/search/subject"),
        search_action_endpoint: format!("{base}/access/v1/search/action"),
    })
}
