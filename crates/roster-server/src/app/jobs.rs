//! Background work on an organization's own schedule (SPEC §6, §5): ending
//! Implementation Admin assignments whose time ran out and expiring
//! invitations. Each runs its core rule under the organization's lock on a
//! fresh snapshot, so several replicas (or a run after a crash) find the
//! work done and do nothing twice.

use roster_core::implementation_admin::expire_due;
use roster_core::invite::expire_invitations;
use roster_core::{Change, OrgId, OrgSnapshot, Outcome, Timestamp};

use crate::error::ApiResult;
use crate::state::AppState;

impl AppState {
    /// Runs `rule` in each organization; answers how many things it ended.
    async fn sweep_orgs(
        &self,
        orgs: Vec<OrgId>,
        rule: fn(&OrgSnapshot, Timestamp) -> Change,
        counts: fn(&Outcome) -> bool,
    ) -> ApiResult<usize> {
        let mut total = 0;
        for org in orgs {
            let done = self
                .change(&org, None, &Default::default(), |snap, _, now| {
                    let change = rule(snap, now);
                    let n = change.outcomes().iter().filter(|o| counts(o)).count();
                    Ok((change, n))
                })
                .await;
            match done {
                Ok(done) => total += done.value,
                // Deleted since it was listed: nothing to do there.
                Err(e) if e.code == "not_found" => {}
                Err(e) => return Err(e),
            }
        }
        Ok(total)
    }

    pub async fn expire_implementation_admins(&self) -> ApiResult<usize> {
        let orgs = self
            .store
            .orgs_with_expired_implementation_admins(self.now())
            .await?;
        self.sweep_orgs(orgs, expire_due, |o| {
            matches!(o, Outcome::ImplementationAdminEnded { .. })
        })
        .await
    }

    pub async fn expire_invitations(&self) -> ApiResult<usize> {
        let orgs = self.store.orgs_with_expired_invitations(self.now()).await?;
        self.sweep_orgs(orgs, expire_invitations, |o| {
            matches!(o, Outcome::InvitationExpired { .. })
        })
        .await
    }
}
