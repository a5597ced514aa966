//! Background jobs (SPEC §6, §9, §13): Implementation Admin expiry,
//! invitation expiry, outbox delivery. Each effect happens under the
//! organization's write lock on a fresh snapshot, so several replicas (or
//! a run after a crash) find the work already done and do nothing twice.

use roster_core::invite::expire_invitations;
use roster_core::manage::{expire_implementation_admin, expired_implementation_admins};
use roster_core::Effect;
use roster_store::{AuditActor, AuditDraft, StoreError, Write, WriteContext, WriteError};
use serde_json::json;

use crate::delivery;
use crate::lifecycle;
use crate::mail::EndReason;
use crate::state::AppState;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SweepReport {
    pub implementation_admins_expired: usize,
    pub invitations_expired: usize,
    pub emails_sent: usize,
    pub emails_failed: usize,
}

fn system_ctx(app: &AppState) -> WriteContext {
    WriteContext {
        now: app.now(),
        actor: AuditActor {
            kind: "system",
            user_id: None,
        },
        request_id: None,
    }
}

fn ignore_missing_org(e: WriteError<StoreError>) -> Result<usize, StoreError> {
    match e {
        WriteError::OrgNotFound => Ok(0),
        WriteError::Rule(e) | WriteError::Store(e) => Err(e),
    }
}

async fn expire_implementation_admins(app: &AppState) -> Result<usize, StoreError> {
    let mut total = 0;
    for org in app
        .store
        .orgs_with_expired_implementation_admins(app.now())
        .await?
    {
        let Some(snap) = app.store.snapshot(&org, None).await? else {
            continue;
        };
        let inviters = lifecycle::inviter_emails(&app.store, &snap).await?;
        let ctx = system_ctx(app);
        let done = app
            .store
            .write(&org, &ctx, |snap| {
                let expired = expired_implementation_admins(snap, ctx.now);
                let mut write = Write::new(expired.len());
                for member in expired {
                    write = lifecycle::with_effects(
                        write,
                        expire_implementation_admin(snap, &member.user_id),
                        "expiry",
                    );
                    write = lifecycle::ia_ended(
                        write,
                        snap,
                        member,
                        lifecycle::inviter_of(&inviters, member),
                        EndReason::Expired,
                    );
                }
                Ok::<_, StoreError>(write)
            })
            .await
            .map(|(n, _)| n)
            .or_else(ignore_missing_org)?;
        total += done;
    }
    Ok(total)
}

async fn expire_pending_invitations(app: &AppState) -> Result<usize, StoreError> {
    let mut total = 0;
    for org in app.store.orgs_with_expired_invitations(app.now()).await? {
        let ctx = system_ctx(app);
        let done = app
            .store
            .write(&org, &ctx, |snap| {
                let expired = expire_invitations(snap, ctx.now);
                let mut write = Write::new(expired.len());
                for inv in expired {
                    write = write
                        .audit(
                            AuditDraft::new("invitation.expired")
                                .trigger("expiry")
                                .details(
                                    json!({"invitation_id": inv.id, "email": inv.email.as_str()}),
                                ),
                        )
                        .effects(vec![Effect::PutInvitation(inv)]);
                }
                Ok::<_, StoreError>(write)
            })
            .await
            .map(|(n, _)| n)
            .or_else(ignore_missing_org)?;
        total += done;
    }
    Ok(total)
}

/// One pass of every job.
pub async fn run_once(app: &AppState) -> Result<SweepReport, StoreError> {
    let implementation_admins_expired = expire_implementation_admins(app).await?;
    let invitations_expired = expire_pending_invitations(app).await?;
    let (emails_sent, emails_failed) = delivery::deliver_due(app).await?;
    Ok(SweepReport {
        implementation_admins_expired,
        invitations_expired,
        emails_sent,
        emails_failed,
    })
}

/// Runs the jobs every `ROSTER_JOB_INTERVAL_MS` until shutdown.
pub async fn run_forever(app: AppState, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(app.config.job_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            // Email queued by a write goes out now, not at the next tick.
            _ = app.store.email_queued() => {
                if let Err(e) = delivery::deliver_due(&app).await {
                    tracing::warn!(error = %e, "email delivery failed; retrying next interval");
                }
                continue;
            }
            _ = shutdown.changed() => return,
        }
        if let Err(e) = app.clock.refresh(&app.store).await {
            tracing::warn!(error = %e, "could not read the dev clock");
        }
        match run_once(&app).await {
            Ok(report) if report != SweepReport::default() => {
                tracing::info!(?report, "background jobs ran")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "background jobs failed; retrying next interval"),
        }
    }
}
