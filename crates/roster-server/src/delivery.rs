//! Outbox delivery over SMTP with lettre: leased claims, retries with
//! backoff, a dead state after `MAX_ATTEMPTS`, a stable Message-ID.
//!
//! Delivery is at-least-once: a crash after the SMTP server accepted a
//! message but before it was marked sent re-sends it once the lease ends,
//! with the same Message-ID, which receivers use to drop the duplicate.

use chrono::Duration;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use roster_store::{OutboxMessage, StoreError};

use crate::state::AppState;

pub const MAX_ATTEMPTS: i64 = 8;
/// How long a claimed message is reserved for one sender: longer than one
/// send may take (the 15 s SMTP timeout), and renewed before each send.
/// API.md: delivery interrupted by a crash resumes within one minute.
const LEASE_SECONDS: i64 = 30;

type Transport = AsyncSmtpTransport<Tokio1Executor>;

/// The transport for `ROSTER_SMTP_URL`, parsed by lettre: `smtp://host:port`
/// (plain, for local relays) or `smtps://user:pass@host[:port]`.
pub fn transport(url: &str) -> Result<Transport, String> {
    if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
        return Err(format!(
            "ROSTER_SMTP_URL must start with smtp:// or smtps://, not {url:?}"
        ));
    }
    Ok(Transport::from_url(url)
        .map_err(|e| format!("ROSTER_SMTP_URL {url:?}: {e}"))?
        .timeout(Some(std::time::Duration::from_secs(15)))
        .build())
}

fn message(from: &Mailbox, m: &OutboxMessage) -> Result<Message, String> {
    let to: Mailbox = m.recipient.parse().map_err(|e| format!("recipient: {e}"))?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(m.subject.clone())
        .message_id(Some(m.message_id.clone()))
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(readable_body(&m.body_text)),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(readable_body(&m.body_html)),
                ),
        )
        .map_err(|e| e.to_string())
}

/// ASCII bodies go out as written (`Content-Transfer-Encoding: binary`)
/// when every line fits SMTP's 998-byte limit, so links and tokens stay
/// whole on one line for whoever reads the raw message; lettre would
/// otherwise fold lines longer than 76 characters with quoted-printable.
/// Anything else (UTF-8, which needs a server with 8BITMIME, or longer
/// lines) keeps lettre's encoding.
fn readable_body(text: &str) -> Body {
    if text.is_ascii() && text.lines().all(|line| line.len() <= 998) {
        if let Ok(body) = Body::new_with_encoding(text.to_owned(), ContentTransferEncoding::Binary)
        {
            return body;
        }
    }
    Body::new(text.to_owned())
}

/// Backoff after the n-th failed attempt: 10 s, 20 s, 40 s … up to an hour.
fn backoff(attempts: i64) -> Duration {
    let exp = u32::try_from(attempts.clamp(1, 12) - 1).unwrap_or(0);
    Duration::seconds((10i64 << exp).min(3600))
}

/// Sends every due message once; answers (sent, failed). Without SMTP
/// configured messages stay in the outbox.
pub async fn deliver_due(app: &AppState) -> Result<(usize, usize), StoreError> {
    let Some(url) = app.config.smtp_url.as_deref() else {
        return Ok((0, 0));
    };
    let _one_at_a_time = app.delivery.lock().await;
    let transport = match transport(url) {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "SMTP is misconfigured");
            return Ok((0, 0));
        }
    };
    let from: Mailbox = match app.config.mail_from.parse() {
        Ok(from) => from,
        Err(e) => {
            tracing::error!(error = %e, "ROSTER_MAIL_FROM is not a valid mailbox");
            return Ok((0, 0));
        }
    };
    let (mut sent, mut failed) = (0, 0);
    loop {
        let batch = app
            .store
            .claim_outbox(app.now(), Duration::seconds(LEASE_SECONDS), 20)
            .await?;
        if batch.is_empty() {
            return Ok((sent, failed));
        }
        for m in batch {
            // Renewed right before sending: if the lease ran out meanwhile
            // and another worker took the message over, it is theirs to send.
            let now = app.now();
            if !app
                .store
                .renew_email(&m, now + Duration::seconds(LEASE_SECONDS))
                .await?
            {
                continue;
            }
            let result = match message(&from, &m) {
                Ok(msg) => transport
                    .send(msg)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e),
            };
            match result {
                Ok(()) => {
                    if app.store.mark_sent(&m, app.now()).await? {
                        sent += 1;
                    }
                }
                Err(e) => {
                    tracing::warn!(message_id = %m.message_id, attempts = m.attempts, error = %e, "email delivery failed");
                    let retry_at =
                        (m.attempts < MAX_ATTEMPTS).then(|| app.now() + backoff(m.attempts));
                    if app.store.mark_failed(&m, &e, retry_at).await? {
                        failed += 1;
                    }
                }
            }
        }
    }
}
