//! The application layer: one function per use case, owning *authorize →
//! rule → write → outcome*. HTTP routes, admin UI pages, background jobs
//! and the command line all call these and only translate: parse the
//! request, render the answer. Nothing here knows about HTTP or HTML.
//!
//! ```text
//!  HTTP route ─┐                                    ┌─► audit entry ┐
//!  UI page  ───┼─► app use case ─► core rule ─► Change ─► email      ├ one transaction
//!  job, CLI ───┘  (lock, lookups)  (authorizes, (grant +  ─► event     │ (Store::write)
//!                                   decides)    outcomes) ─► rows      ┘
//! ```

pub mod audit;
pub mod events;
pub mod import;
pub mod invitations;
pub mod jobs;
pub mod members;
pub mod orgs;
pub mod platform;
pub mod sessions;
pub mod spaces;
pub mod tokens;
pub mod webhooks;

use std::sync::Arc;

use roster_core::{Action, Actor, Change, OrgId, OrgSnapshot, Resource, RuleError, Timestamp};
use roster_store::{Found, Lookups, WriteContext, Written};

use crate::auth::Caller;
use crate::effects;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The request id: the caller's `X-Request-ID` when sensible, else a new one.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

impl RequestId {
    /// The header a request id comes in and goes out on.
    pub const HEADER: axum::http::HeaderName = axum::http::HeaderName::from_static("x-request-id");
}

/// Who asks, and as which request: what every use case that writes takes.
#[derive(Clone, Debug)]
pub struct Ctx {
    pub caller: Caller,
    pub request_id: RequestId,
}

impl Ctx {
    /// Who the caller acts as in `org` (404 for another organization's token).
    pub fn actor(&self, org: &OrgId) -> ApiResult<Actor> {
        self.caller.acting_in(org)
    }
}

impl AppState {
    /// The organization's snapshot, at least as fresh as `at_least`; 404 if
    /// there is no such organization.
    pub async fn snapshot(
        &self,
        org_id: &OrgId,
        at_least: Option<i64>,
    ) -> ApiResult<Arc<OrgSnapshot>> {
        self.store
            .snapshot(org_id, at_least)
            .await?
            .ok_or_else(|| ApiError::not_found("organization"))
    }

    /// For reads that need an organization action: who the caller acts as
    /// and the organization's snapshot, once the core allowed `action`.
    pub(crate) async fn read_as(
        &self,
        caller: &Caller,
        org_id: &OrgId,
        action: Action,
    ) -> ApiResult<(Actor, Arc<OrgSnapshot>)> {
        let actor = caller.acting_in(org_id)?;
        let snap = self.snapshot(org_id, None).await?;
        roster_core::access::authorize(&snap, &actor, action, Resource::Organization, self.now())?;
        Ok((actor, snap))
    }

    /// Runs a core rule on the organization's current state under its write
    /// lock, turns its change into effects (audit, events, emails) and
    /// persists everything in one transaction.
    pub(crate) async fn change<T>(
        &self,
        org_id: &OrgId,
        request_id: Option<&RequestId>,
        lookups: &Lookups,
        rule: impl FnOnce(&OrgSnapshot, &Found, Timestamp) -> Result<(Change, T), ApiError>,
    ) -> ApiResult<Written<T>> {
        self.run_change(org_id, request_id, lookups, false, rule)
            .await
    }

    /// [`AppState::change`], or with `dry_run` only what it would do:
    /// the rule runs under the lock and nothing is kept.
    pub(crate) async fn run_change<T>(
        &self,
        org_id: &OrgId,
        request_id: Option<&RequestId>,
        lookups: &Lookups,
        dry_run: bool,
        rule: impl FnOnce(&OrgSnapshot, &Found, Timestamp) -> Result<(Change, T), ApiError>,
    ) -> ApiResult<Written<T>> {
        self.change_as_of(self.now(), org_id, request_id, lookups, dry_run, rule)
            .await
    }

    /// A change as of another time (the demo's history; every other change
    /// happens now).
    pub(crate) async fn change_as_of<T>(
        &self,
        now: Timestamp,
        org_id: &OrgId,
        request_id: Option<&RequestId>,
        lookups: &Lookups,
        dry_run: bool,
        rule: impl FnOnce(&OrgSnapshot, &Found, Timestamp) -> Result<(Change, T), ApiError>,
    ) -> ApiResult<Written<T>> {
        let ctx = WriteContext {
            now,
            request_id: request_id.map(|r| r.0.clone()),
            dry_run,
        };
        let effects = &self.effects;
        Ok(self
            .store
            .write(org_id, &ctx, lookups, |snap, found| {
                let (change, value) = rule(snap, found, now)?;
                Ok::<_, ApiError>(effects::plan(change, snap, effects, value))
            })
            .await?)
    }

    /// A use case that is one core rule run by the caller: who they act as
    /// in `org`, the rule, the revision it produced.
    pub(crate) async fn act(
        &self,
        ctx: &Ctx,
        org_id: &OrgId,
        rule: impl FnOnce(&OrgSnapshot, &Actor, Timestamp) -> Result<Change, RuleError>,
    ) -> ApiResult<i64> {
        let actor = ctx.actor(org_id)?;
        self.apply(org_id, Some(&ctx.request_id), |snap, now| {
            Ok(rule(snap, &actor, now)?)
        })
        .await
    }

    /// [`AppState::change`] for a rule that answers only its change.
    pub(crate) async fn apply(
        &self,
        org_id: &OrgId,
        request_id: Option<&RequestId>,
        rule: impl FnOnce(&OrgSnapshot, Timestamp) -> Result<Change, ApiError>,
    ) -> ApiResult<i64> {
        self.change(org_id, request_id, &Lookups::default(), |snap, _, now| {
            rule(snap, now).map(|change| (change, ()))
        })
        .await
        .map(|done| done.revision)
    }
}

/// Cursor pagination shared by every list: `cursor` is the key of the last
/// item of the previous page.
#[derive(Clone, Debug, Default)]
pub struct PageRequest {
    pub cursor: Option<String>,
    pub limit: usize,
}

impl PageRequest {
    pub const DEFAULT: usize = 50;
    pub const MAX: usize = 500;
}

/// One page of `rows` (already sorted by `key` and past the cursor) and the
/// cursor of the next page.
pub fn paginate<T>(
    mut rows: Vec<T>,
    limit: usize,
    key: impl Fn(&T) -> String,
) -> (Vec<T>, Option<String>) {
    let next = (rows.len() > limit)
        .then(|| rows.get(limit.saturating_sub(1)).map(&key))
        .flatten();
    rows.truncate(limit);
    (rows, next)
}
