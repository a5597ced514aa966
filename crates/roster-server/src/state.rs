//! What every handler shares, and the one path writes take through it.

use std::sync::Arc;

use roster_core::{Actor, OrgSnapshot, Timestamp};
use roster_store::{AuditActor, Store, Write, WriteContext};

use crate::clock::Clock;
use crate::config::Config;
use crate::error::{ApiError, ApiResult};
use crate::extract::RequestId;
use crate::metrics::Metrics;

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub store: Store,
    pub clock: Clock,
    pub config: Config,
    pub platform_key_hash: String,
    pub metrics: Metrics,
    /// One delivery run at a time in this process, so a sweep waits for a
    /// run already under way and then finds everything sent.
    pub delivery: tokio::sync::Mutex<()>,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// Who a request acts as inside one organization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Acting {
    Platform,
    User(String),
}

impl Acting {
    pub fn core(&self) -> Actor<'_> {
        match self {
            Acting::Platform => Actor::Platform,
            Acting::User(id) => Actor::User(id),
        }
    }

    pub fn audit(&self) -> AuditActor {
        match self {
            Acting::Platform => AuditActor::platform(),
            Acting::User(id) => AuditActor::user(id),
        }
    }

    pub fn user_id(&self) -> Option<&str> {
        match self {
            Acting::Platform => None,
            Acting::User(id) => Some(id),
        }
    }
}

impl AppState {
    pub fn new(store: Store, config: Config, platform_key_hash: String) -> Self {
        AppState(Arc::new(Inner {
            store,
            clock: Clock::new(config.dev_clock),
            config,
            platform_key_hash,
            metrics: Metrics::default(),
            delivery: tokio::sync::Mutex::new(()),
        }))
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The organization's snapshot, at least as fresh as `at_least`; 404 if
    /// there is no such organization.
    pub async fn snapshot(
        &self,
        org_id: &str,
        at_least: Option<i64>,
    ) -> ApiResult<Arc<OrgSnapshot>> {
        self.store
            .snapshot(org_id, at_least)
            .await?
            .ok_or_else(|| ApiError::not_found("organization"))
    }

    /// For reads that need an organization action: who the caller acts as
    /// and the organization's snapshot, once the core allowed `action`.
    pub async fn read_as(
        &self,
        caller: &crate::auth::Caller,
        org_id: &str,
        action: roster_core::Action,
    ) -> ApiResult<(Acting, Arc<OrgSnapshot>)> {
        let acting = caller.acting_in(org_id)?;
        let snap = self.snapshot(org_id, None).await?;
        roster_core::manage::authorize(
            &snap,
            acting.core(),
            action,
            roster_core::Resource::Organization,
            self.now(),
        )?;
        Ok((acting, snap))
    }

    /// Runs `rules` against the organization's current state and persists
    /// what it returns in one transaction; answers the value and revision.
    pub async fn write<T>(
        &self,
        org_id: &str,
        acting: &Acting,
        request_id: &RequestId,
        rules: impl FnOnce(&OrgSnapshot, Timestamp) -> Result<Write<T>, ApiError>,
    ) -> ApiResult<(T, i64)> {
        let now = self.now();
        let ctx = WriteContext {
            now,
            actor: acting.audit(),
            request_id: Some(request_id.0.clone()),
        };
        Ok(self
            .store
            .write(org_id, &ctx, |snap| rules(snap, now))
            .await?)
    }
}
