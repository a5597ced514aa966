//! The platform operator's views (API.md "Platform operator") and the dev
//! clock (API.md "Time").

use roster_core::implementation_admin::record_forever_review;
use roster_core::{OrgId, Timestamp, UserId};
use roster_store::OutboxMessage;

use super::Ctx;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::views::{opt_time, time, ForeverAssignmentView, ForeverListView};

impl AppState {
    /// Forever Implementation Admin assignments, with their age and reviews.
    pub async fn forever_implementation_admins(
        &self,
        caller: &Caller,
    ) -> ApiResult<ForeverListView> {
        caller.require_platform()?;
        let now = self.now();
        let items = self
            .store
            .forever_implementation_admins()
            .await?
            .into_iter()
            .map(|a| ForeverAssignmentView {
                age_days: (now - a.since).num_days(),
                since: time(a.since),
                last_reviewed_at: opt_time(a.last_reviewed_at),
                reviews: a.reviews,
                org_id: a.org_id,
                user_id: a.user_id,
                email: a.email,
            })
            .collect();
        Ok(ForeverListView { items })
    }

    pub async fn review_forever(&self, ctx: &Ctx, org: &OrgId, user: &UserId) -> ApiResult<i64> {
        ctx.caller.require_platform()?;
        self.act(ctx, org, |snap, actor, now| {
            record_forever_review(snap, actor, user, now)
        })
        .await
    }

    /// Moves the dev clock forward (platform key, dev clock only).
    pub async fn advance_clock(&self, caller: &Caller, seconds: i64) -> ApiResult<Timestamp> {
        caller.require_platform()?;
        if !(0..=20 * 365 * 86_400).contains(&seconds) {
            return Err(ApiError::invalid(
                "advance_seconds",
                "advance_seconds must be 0 to 20 years, forward only",
            ));
        }
        Ok(self.clock.advance(&self.store, seconds).await?)
    }

    /// The newest outbox messages (dev clock only, for tests and demos).
    pub async fn outbox(&self, caller: &Caller) -> ApiResult<Vec<OutboxMessage>> {
        caller.require_platform()?;
        Ok(self.store.outbox(None, 200).await?)
    }
}
