//! The email outbox: messages written with the change that causes them,
//! claimed under a lease so no two workers send one at once.

use std::collections::BTreeSet;

use roster_core::{AuditAction, OrgRole, Role};
use roster_store::{EmailDraft, Lookups};
use roster_testkit::{on_both_backends, TestDb};

use crate::fixtures::*;

fn email_draft(n: usize) -> EmailDraft {
    EmailDraft {
        recipient: format!("person{n}@example.com"),
        template: "invitation",
        subject: format!("Invitation {n}"),
        body_text: "text".to_owned(),
        body_html: "<p>html</p>".to_owned(),
    }
}

on_both_backends!(outbox_claims_are_exclusive_and_leased,);

async fn outbox_claims_are_exclusive_and_leased(db: TestDb) {
    let store = migrated(&db).await;
    new_org(&store, "org-1").await;
    // Emails come with the write that causes them (a batch of fifteen
    // invitations) ...
    let people: Vec<String> = (0..15).map(|n| format!("person{n}")).collect();
    let names: Vec<&str> = people.iter().map(String::as_str).collect();
    write(&store, "org-1", t0(), &Lookups::default(), |snap, _| {
        let request = invitation_request(&names, Role::Org(OrgRole::Admin), &[]);
        let mut planned = audited(
            invite_rule(snap, &request, t0())?,
            AuditAction::InvitationCreated,
            None,
        );
        planned.emails.extend((0..15).map(email_draft));
        Ok(planned)
    })
    .await;
    // ... or alone (sign-in links).
    for n in 15..20 {
        store
            .enqueue_email(None, &email_draft(n), t0())
            .await
            .unwrap();
    }
    let all = store.outbox(None, 100).await.unwrap();
    assert_eq!(all.len(), 20);
    assert!(all.iter().all(|m| m.status == "pending" && m.attempts == 0));
    assert_eq!(
        all.iter()
            .filter(|m| m.org_id.as_deref() == Some("org-1"))
            .count(),
        15
    );
    let message_ids: BTreeSet<&str> = all.iter().map(|m| m.message_id.as_str()).collect();
    assert_eq!(
        message_ids.len(),
        20,
        "every message has its own Message-ID"
    );

    // Four workers on two replicas claim at the same time, three at a time.
    let other = connect(&db).await;
    let lease = chrono::Duration::seconds(60);
    let mut workers = Vec::new();
    for worker in 0..4 {
        let store = if worker % 2 == 0 {
            store.clone()
        } else {
            other.clone()
        };
        workers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let batch = store.claim_outbox(t0(), lease, 3).await.unwrap();
                if batch.is_empty() {
                    break;
                }
                mine.extend(batch);
            }
            mine
        }));
    }
    let mut claimed = Vec::new();
    for worker in workers {
        claimed.extend(worker.await.unwrap());
    }
    let distinct: BTreeSet<&String> = claimed.iter().map(|m| &m.id).collect();
    assert_eq!(distinct.len(), claimed.len(), "no message claimed twice");
    assert_eq!(claimed.len(), 20, "every message claimed once");

    // Not again while the lease runs, by anyone.
    let half = t0() + chrono::Duration::seconds(30);
    assert!(store
        .claim_outbox(half, lease, 100)
        .await
        .unwrap()
        .is_empty());
    assert!(other
        .claim_outbox(half, lease, 100)
        .await
        .unwrap()
        .is_empty());

    // Once it ends (a worker that crashed), the messages come back, with
    // the same Message-ID, counting the attempt.
    let later = t0() + lease;
    let again = other.claim_outbox(later, lease, 100).await.unwrap();
    assert_eq!(again.len(), 20);
    assert!(again.iter().all(|m| m.attempts == 2));
    let again_ids: BTreeSet<&str> = again.iter().map(|m| m.message_id.as_str()).collect();
    assert_eq!(again_ids, message_ids);

    // The first worker, back from a long pause, no longer holds its lease:
    // it cannot mark what another worker now sends.
    let stale = claimed
        .iter()
        .find(|m| m.id == again[0].id)
        .expect("claimed in the first round");
    assert!(!store.mark_sent(stale, later).await.unwrap());
    assert!(!store.mark_failed(stale, "timeout", None).await.unwrap());

    let sent = &again[0].id;
    let dead = &again[1].id;
    let retried = &again[2].id;
    assert!(store.mark_sent(&again[0], later).await.unwrap());
    assert!(store
        .mark_failed(&again[1], "550 no such user", None)
        .await
        .unwrap());
    let retry_at = t0() + chrono::Duration::minutes(10);
    assert!(store
        .mark_failed(&again[2], "connection refused", Some(retry_at))
        .await
        .unwrap());

    // After the second lease: everything but those three.
    let third = t0() + chrono::Duration::minutes(2);
    let batch = store
        .claim_outbox(third, chrono::Duration::minutes(30), 100)
        .await
        .unwrap();
    assert_eq!(batch.len(), 17);
    assert!(batch
        .iter()
        .all(|m| m.id != *sent && m.id != *dead && m.id != *retried));
    // The retry is due at its time, not before.
    assert!(store
        .claim_outbox(retry_at - chrono::Duration::milliseconds(1), lease, 100)
        .await
        .unwrap()
        .is_empty());
    let due = store.claim_outbox(retry_at, lease, 100).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].id, *retried);
    assert_eq!(due[0].last_error.as_deref(), Some("connection refused"));

    // Sent and dead messages are never claimed again.
    let much_later = t0() + chrono::Duration::days(30);
    let last = store.claim_outbox(much_later, lease, 100).await.unwrap();
    assert_eq!(last.len(), 18);
    assert!(last.iter().all(|m| m.id != *sent && m.id != *dead));
    let everything = store.outbox(None, 1000).await.unwrap();
    let by_id = |id: &str| everything.iter().find(|m| m.id == id).unwrap();
    assert_eq!(by_id(dead).status, "dead");
    assert_eq!(by_id(dead).last_error.as_deref(), Some("550 no such user"));
    assert_eq!(by_id(sent).status, "sent");
    other.close().await;
}
