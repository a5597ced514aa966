//! The audit chain: entries appended in the write they record, actors from
//! the change's grant, and any edit or deletion named by verification.

use chrono::Duration;
use roster_core::invite::expire_invitations;
use roster_core::org::set_allowlist;
use roster_core::{Actor, ActorKind, AuditAction, DomainAllowlist, OrgRole, Role, Trigger, UserId};
use roster_store::{AuditActor, AuditDraft, AuditFilter, Lookups, Store, WriteContext};
use roster_testkit::{on_both_backends, TestDb};
use sqlx::Row as _;

use crate::fixtures::*;

/// An organization with eight audit entries:
///
/// | seq | action                         | actor                          |
/// |-----|--------------------------------|--------------------------------|
/// | 1   | org.created                    | platform                       |
/// | 2   | invitation.created             | the Owner                      |
/// | 3–5 | invitation.accepted (a, b, c)  | each newcomer                  |
/// | 6   | space.created (with details)   | the Owner                      |
/// | 7   | implementation_admin.removed   | system on behalf of the Owner  |
/// | 8   | allowlist.changed (no request) | platform                       |
async fn org_with_history(store: &Store, org: &str) {
    new_org(store, org).await;
    let people: Vec<String> = ["u-a", "u-b", "u-c"]
        .iter()
        .map(|u| format!("{org}-{u}"))
        .collect();
    let names: Vec<&str> = people.iter().map(String::as_str).collect();
    let ids = invite(store, org, t0(), &names, Role::Org(OrgRole::Admin), &[]).await;
    for (id, person) in ids.iter().zip(&names) {
        accept(store, org, t0(), id, person).await;
    }
    let space = format!("{org}-s");
    let now = at(Duration::seconds(5));
    write(store, org, now, &Lookups::default(), |snap, _| {
        let mut planned = plan(space_rule(snap, &space, now)?);
        planned.audit.push(AuditDraft {
            space_id: Some(sid(&space)),
            details: serde_json::json!({"name": "S", "n": 1.5, "tags": ["a", "b"]}),
            ..draft(AuditAction::SpaceCreated, None)
        });
        planned.audit.push(AuditDraft {
            trigger: Trigger::Expiry,
            actor: Some(AuditActor::system_on_behalf_of(Some(uid(OWNER)))),
            ..draft(
                AuditAction::ImplementationAdminRemoved,
                Some(&uid(names[0])),
            )
        });
        Ok(planned)
    })
    .await;
    let without_request = WriteContext {
        now: at(Duration::seconds(9)),
        request_id: None,
        dry_run: false,
    };
    store
        .write(
            &oid(org),
            &without_request,
            &Lookups::default(),
            |snap, _| {
                let domains = DomainAllowlist::parse_all(["partner.io"]).unwrap();
                let change = set_allowlist(snap, &Actor::Platform, domains)?;
                Ok::<_, roster_core::RuleError>(audited(
                    change,
                    AuditAction::AllowlistChanged,
                    None,
                ))
            },
        )
        .await
        .unwrap();
}

fn all() -> AuditFilter {
    AuditFilter {
        limit: 100,
        ..AuditFilter::default()
    }
}

fn seqs(entries: &[roster_store::AuditEntry]) -> Vec<i64> {
    entries.iter().map(|e| e.seq).collect()
}

fn actor(kind: ActorKind, user_id: Option<&str>) -> AuditActor {
    AuditActor {
        kind,
        user_id: user_id.map(UserId::from),
    }
}

on_both_backends!(
    the_audit_chain_verifies_and_an_edited_or_deleted_entry_is_named,
    the_audit_actor_is_the_grants_principal_unless_a_draft_overrides_it,
);

async fn the_audit_chain_verifies_and_an_edited_or_deleted_entry_is_named(db: TestDb) {
    let store = migrated(&db).await;
    let raw = db.raw().await;
    for org in ["org-a", "org-b", "org-c", "org-d"] {
        org_with_history(&store, org).await;
        let check = store.verify_audit(&oid(org)).await.unwrap();
        assert!(check.ok, "{org}: {check:?}");
        assert_eq!(check.entries, 8);
        assert_eq!(check.first_bad_seq, None);
    }
    let entries = store.audit_entries(&oid("org-a"), &all()).await.unwrap();
    assert_eq!(seqs(&entries), (1..=8).collect::<Vec<_>>());
    for pair in entries.windows(2) {
        assert_eq!(
            pair[1].prev_hash, pair[0].hash,
            "each entry links to the previous"
        );
    }
    assert_eq!(entries[0].prev_hash, "0".repeat(64));
    assert_eq!(entries[6].actor.kind, ActorKind::SystemOnBehalfOf);
    assert_eq!(entries[6].trigger, Trigger::Expiry);
    assert_eq!(entries[7].actor.kind, ActorKind::Platform);
    assert_eq!(entries[7].request_id, None);
    assert_eq!(entries[6].request_id.as_deref(), Some("req-test"));

    // Filters and the cursor read the same entries on both backends.
    let filtered = |filter: AuditFilter| {
        let store = store.clone();
        async move { seqs(&store.audit_entries(&oid("org-a"), &filter).await.unwrap()) }
    };
    let accepted = AuditFilter {
        action: Some(AuditAction::InvitationAccepted),
        ..all()
    };
    assert_eq!(filtered(accepted).await, [3, 4, 5]);
    let about_a = AuditFilter {
        target_user_id: Some(uid("org-a-u-a")),
        ..all()
    };
    assert_eq!(filtered(about_a).await, [3, 7]);
    let since = AuditFilter {
        since: Some(at(Duration::seconds(5))),
        ..all()
    };
    assert_eq!(filtered(since).await, [6, 7, 8]);
    let page = AuditFilter {
        after_seq: 2,
        limit: 2,
        ..AuditFilter::default()
    };
    assert_eq!(filtered(page).await, [3, 4]);
    assert_eq!(
        entries[3].details,
        serde_json::json!({}),
        "details round-trip as JSON"
    );
    assert_eq!(
        entries[5].details,
        serde_json::json!({"name": "S", "n": 1.5, "tags": ["a", "b"]})
    );
    assert_eq!(entries[5].space_id, Some(sid("org-a-s")));

    // One edited entry in org-a: its own seq is named.
    sqlx::query("UPDATE audit SET details = $1 WHERE org_id = $2 AND seq = 3")
        .bind(r#"{"tampered":true}"#)
        .bind("org-a")
        .execute(&raw)
        .await
        .unwrap();
    let check = store.verify_audit(&oid("org-a")).await.unwrap();
    assert!(!check.ok);
    assert_eq!(check.first_bad_seq, Some(3));
    assert_eq!(check.entries, 2, "the entries before it are good");

    // Other columns are covered too (org-c, one edit each, restored after).
    for (column, value) in [
        ("action", "member.removed"),
        ("actor_user_id", "u-mallory"),
        ("target_user_id", "u-mallory"),
        ("request_id", "req-other"),
        ("trigger_kind", "expiry"),
    ] {
        let original: Option<String> = sqlx::query(&format!(
            "SELECT {column} FROM audit WHERE org_id = $1 AND seq = 4"
        ))
        .bind("org-c")
        .fetch_one(&raw)
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
        let update = format!("UPDATE audit SET {column} = $1 WHERE org_id = $2 AND seq = 4");
        let set = |v: Option<String>| sqlx::query(&update).bind(v).bind("org-c");
        set(Some(value.to_owned())).execute(&raw).await.unwrap();
        let check = store.verify_audit(&oid("org-c")).await.unwrap();
        assert_eq!(check.first_bad_seq, Some(4), "editing {column}");
        set(original).execute(&raw).await.unwrap();
        assert!(
            store.verify_audit(&oid("org-c")).await.unwrap().ok,
            "{column} restored"
        );
    }
    sqlx::query("UPDATE audit SET at = at + 1 WHERE org_id = $1 AND seq = 4")
        .bind("org-c")
        .execute(&raw)
        .await
        .unwrap();
    assert_eq!(
        store
            .verify_audit(&oid("org-c"))
            .await
            .unwrap()
            .first_bad_seq,
        Some(4),
        "editing the time"
    );

    // A deleted middle entry in org-b: the entry after the gap is named.
    sqlx::query("DELETE FROM audit WHERE org_id = $1 AND seq = 4")
        .bind("org-b")
        .execute(&raw)
        .await
        .unwrap();
    let check = store.verify_audit(&oid("org-b")).await.unwrap();
    assert!(!check.ok);
    assert_eq!(check.first_bad_seq, Some(5));
    assert_eq!(check.entries, 3);

    // A broken link (org-d): the entry whose prev_hash was edited is named.
    sqlx::query("UPDATE audit SET prev_hash = $1 WHERE org_id = $2 AND seq = 8")
        .bind("f".repeat(64))
        .bind("org-d")
        .execute(&raw)
        .await
        .unwrap();
    assert_eq!(
        store
            .verify_audit(&oid("org-d"))
            .await
            .unwrap()
            .first_bad_seq,
        Some(8)
    );

    // The newest entries removed (org-f): the chain ends before its head.
    org_with_history(&store, "org-f").await;
    sqlx::query("DELETE FROM audit WHERE org_id = $1 AND seq >= 5")
        .bind("org-f")
        .execute(&raw)
        .await
        .unwrap();
    let check = store.verify_audit(&oid("org-f")).await.unwrap();
    assert!(!check.ok, "truncation shows: {check:?}");
    assert_eq!((check.entries, check.first_bad_seq), (4, Some(5)));

    // Chains are per organization: the others' tampering does not matter
    // to a fresh one, whose chain starts at seq 1.
    org_with_history(&store, "org-e").await;
    let check = store.verify_audit(&oid("org-e")).await.unwrap();
    assert!(check.ok && check.entries == 8, "{check:?}");
    raw.close().await;
}

async fn the_audit_actor_is_the_grants_principal_unless_a_draft_overrides_it(db: TestDb) {
    let store = migrated(&db).await;
    new_org(&store, "org-1").await;
    let ids = invite(
        &store,
        "org-1",
        t0(),
        &["u-newcomer"],
        Role::Org(OrgRole::Admin),
        &[],
    )
    .await;
    accept(&store, "org-1", t0(), &ids[0], "u-newcomer").await;
    invite(
        &store,
        "org-1",
        t0(),
        &["u-late"],
        Role::Org(OrgRole::Admin),
        &[],
    )
    .await;
    // The expiry job: nobody asked in person.
    let later = at(Duration::days(30));
    write(&store, "org-1", later, &Lookups::default(), |snap, _| {
        let change = expire_invitations(snap, later);
        Ok(audited(change, AuditAction::InvitationExpired, None))
    })
    .await;
    // The platform's change, recorded twice: once as its own, once on
    // someone's behalf.
    write(&store, "org-1", later, &Lookups::default(), |snap, _| {
        let domains = DomainAllowlist::parse_all(["partner.io"]).unwrap();
        let mut planned = audited(
            set_allowlist(snap, &Actor::Platform, domains)?,
            AuditAction::AllowlistChanged,
            None,
        );
        planned.audit.push(AuditDraft {
            actor: Some(AuditActor::system_on_behalf_of(Some(uid(OWNER)))),
            ..draft(AuditAction::AllowlistChanged, None)
        });
        Ok(planned)
    })
    .await;

    let entries = store.audit_entries(&oid("org-1"), &all()).await.unwrap();
    let recorded: Vec<_> = entries
        .iter()
        .map(|e| (e.seq, e.action, e.actor.clone()))
        .collect();
    assert_eq!(
        recorded,
        [
            (1, AuditAction::OrgCreated, actor(ActorKind::Platform, None)),
            (
                2,
                AuditAction::InvitationCreated,
                actor(ActorKind::User, Some(OWNER))
            ),
            (
                3,
                AuditAction::InvitationAccepted,
                actor(ActorKind::User, Some("u-newcomer"))
            ),
            (
                4,
                AuditAction::InvitationCreated,
                actor(ActorKind::User, Some(OWNER))
            ),
            (
                5,
                AuditAction::InvitationExpired,
                actor(ActorKind::System, None)
            ),
            (
                6,
                AuditAction::AllowlistChanged,
                actor(ActorKind::Platform, None)
            ),
            (
                7,
                AuditAction::AllowlistChanged,
                actor(ActorKind::SystemOnBehalfOf, Some(OWNER))
            ),
        ]
    );
    assert!(entries
        .iter()
        .all(|e| e.request_id.as_deref() == Some("req-test")));
    assert!(store.verify_audit(&oid("org-1")).await.unwrap().ok);
}
