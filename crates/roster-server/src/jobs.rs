//! Background jobs (SPEC §6, §9, §13): Implementation Admin expiry,
//! invitation expiry and outbox delivery, every `ROSTER_JOB_INTERVAL_MS`
//! and on `POST /v1/dev/sweep`.

use crate::delivery;
use crate::error::ApiResult;
use crate::state::AppState;
use crate::webhook::deliver;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SweepReport {
    pub implementation_admins_expired: usize,
    pub invitations_expired: usize,
    pub emails_sent: usize,
    pub emails_failed: usize,
    pub webhooks_delivered: usize,
    pub webhooks_failed: usize,
    pub sessions_ended: usize,
}

/// One pass of every job.
pub async fn run_once(app: &AppState) -> ApiResult<SweepReport> {
    // Sign-in links asked for before this run are made first, so their
    // emails go out with it.
    drop(app.sign_in_pending.write().await);
    let implementation_admins_expired = app.expire_implementation_admins().await?;
    let invitations_expired = app.expire_invitations().await?;
    let sessions_ended = app.end_finished_sessions().await?;
    app.store.prune(app.now()).await?;
    app.store.sequence_events().await?;
    let (emails_sent, emails_failed) = delivery::deliver_due(app).await?;
    let webhooks = deliver::deliver_due(app).await?;
    Ok(SweepReport {
        implementation_admins_expired,
        invitations_expired,
        emails_sent,
        emails_failed,
        webhooks_delivered: webhooks.delivered,
        webhooks_failed: webhooks.failed,
        sessions_ended,
    })
}

/// Sends webhook deliveries as soon as a write queues them, and retries
/// when they fall due (checked every second: retries start 5 s apart).
pub async fn deliver_webhooks_forever(
    app: AppState,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = app.store.delivery_queued() => {}
            _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
            _ = shutdown.changed() => return,
        }
        if let Err(e) = deliver::deliver_due(&app).await {
            tracing::warn!(error = %e, "webhook delivery failed; retrying shortly");
        }
    }
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
            Err(e) => {
                tracing::warn!(error = ?e, "background jobs failed; retrying next interval")
            }
        }
    }
}
