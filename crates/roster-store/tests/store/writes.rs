//! The write path: one transaction per write, under the organization's
//! lock, refusing a change allowed anywhere else.

use std::collections::BTreeSet;

use roster_core::invite::invitations_of;
use roster_core::org::{delete_organization, update_organization, OrgUpdate};
use roster_core::tokens::{issue_token, TokenRequest};
use roster_core::{
    status, Actor, AuditAction, OrgRole, OrgSettings, Role, RuleError, TokenId, TokenKind,
};
use roster_store::{EmailDraft, Lookups, Planned, Row, Store, StoreError, WriteError};
use roster_testkit::{on_both_backends, on_postgres, TestDb};

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

/// Ten people invited as Admins while seats are unlimited, then the
/// platform lowers the limit to six: the Owner holds one seat, so of ten
/// acceptances racing, exactly five fit. Each store takes every other one.
async fn ten_acceptances_race_for_five_seats(stores: &[Store], db: &TestDb) {
    let store = &stores[0];
    new_org(store, "org-1").await;
    let people: Vec<String> = (0..10).map(|n| format!("u-{n}")).collect();
    let names: Vec<&str> = people.iter().map(String::as_str).collect();
    let ids = invite(store, "org-1", t0(), &names, Role::Org(OrgRole::Admin), &[]).await;
    let lowered = OrgUpdate {
        seat_limit: Some(Some(6)),
        ..OrgUpdate::default()
    };
    apply(store, "org-1", t0(), |snap| {
        update_organization(snap, &Actor::Platform, lowered, t0())
    })
    .await;

    let mut tasks = Vec::new();
    for (n, (id, person)) in ids.into_iter().zip(people).enumerate() {
        let store = stores[n % stores.len()].clone();
        tasks.push(tokio::spawn(async move {
            try_accept(&store, "org-1", t0(), &id, &person).await
        }));
    }
    let (mut admitted, mut refused) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => admitted += 1,
            Err(WriteError::Rule(RuleError::SeatLimitReached { limit: 6 })) => refused += 1,
            Err(e) => panic!("unexpected: {e:?}"),
        }
    }
    assert_eq!((admitted, refused), (5, 5));
    let fresh = fresh_load(db, "org-1").await;
    assert_eq!(fresh.member_count(), 6);
    assert_eq!(
        fresh.revision,
        3 + 5,
        "creation, batch, limit, five members"
    );
    let raw = db.raw().await;
    assert_eq!(
        count_all(&raw, "SELECT COUNT(*) FROM users").await,
        6,
        "the refused acceptances created no account"
    );
    for store in stores {
        let snapshot = store
            .snapshot(&oid("org-1"), Some(fresh.revision))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(view(&snapshot), view(&fresh));
    }
    raw.close().await;
}

on_both_backends!(
    a_rule_error_inside_write_leaves_nothing_written,
    a_change_allowed_in_another_organization_is_refused,
    ten_concurrent_writes_to_one_organization_all_land,
    rules_see_the_state_they_change_so_ten_concurrent_acceptances_fill_exactly_five_seats,
    deleting_an_organization_revokes_its_tokens_and_hides_it,
);

async fn a_rule_error_inside_write_leaves_nothing_written(db: TestDb) {
    let store = migrated(&db).await;
    let raw = db.raw().await;
    let revision = new_org(&store, "org-1").await;
    let before = view(&cached(&store, "org-1").await);
    let audit_before = audit_count(&raw, "org-1").await;

    // The rules refuse after the lookups made an account: it goes too.
    let outcome = store
        .write(
            &oid("org-1"),
            &ctx(t0()),
            &accounts(&["u-never"]),
            |snap, found| {
                assert_eq!(snap.revision, revision, "the rules see the current state");
                assert!(found_account(found, "u-never")?.created);
                let change = status::deactivate(snap, &owner(), &uid(OWNER), t0())?;
                let mut planned = audited(change, AuditAction::MemberDeactivated, None);
                planned.emails.push(email_draft(1));
                Ok(planned)
            },
        )
        .await;
    assert!(
        matches!(outcome, Err(WriteError::Rule(RuleError::LastOwner))),
        "{outcome:?}"
    );
    assert_eq!(db_revision(&raw, "org-1").await, revision);
    assert_eq!(audit_count(&raw, "org-1").await, audit_before);
    assert!(store
        .user_by_email(&email("u-never"))
        .await
        .unwrap()
        .is_none());
    assert!(store.outbox(None, 10).await.unwrap().is_empty());
    assert_eq!(view(&cached(&store, "org-1").await), before);
    assert_eq!(view(&fresh_load(&db, "org-1").await), before);

    // A failure while persisting (the invitation link's hash is taken)
    // rolls back what the same write had done already: the account, the
    // invitation, the revision.
    let taken = write(&store, "org-1", t0(), &Lookups::default(), |snap, _| {
        let request = invitation_request(&["u-erin"], Role::Org(OrgRole::Admin), &[]);
        let change = invite_rule(snap, &request, t0())?;
        let erin = invitations_of(&change)[0].id.clone();
        let mut planned = audited(change, AuditAction::InvitationCreated, None);
        planned.rows.push(Row::InvitationToken {
            invitation_id: erin,
            token_hash: "hash-taken".to_owned(),
        });
        Ok(planned)
    })
    .await;
    let revision = taken.revision;
    let before = view(&cached(&store, "org-1").await);
    let audit_before = audit_count(&raw, "org-1").await;
    let outcome = store
        .write(
            &oid("org-1"),
            &ctx(t0()),
            &accounts(&["u-new"]),
            |snap, _| {
                let request = invitation_request(&["u-frank"], Role::Org(OrgRole::Admin), &[]);
                let change = invite_rule(snap, &request, t0())?;
                let frank = invitations_of(&change)[0].id.clone();
                let mut planned = audited(change, AuditAction::InvitationCreated, None);
                planned.rows.push(Row::InvitationToken {
                    invitation_id: frank,
                    token_hash: "hash-taken".to_owned(),
                });
                planned.emails.push(email_draft(2));
                Ok::<_, RuleError>(planned)
            },
        )
        .await;
    assert!(matches!(outcome, Err(WriteError::Store(_))), "{outcome:?}");
    assert_eq!(db_revision(&raw, "org-1").await, revision);
    assert_eq!(audit_count(&raw, "org-1").await, audit_before);
    assert!(store
        .user_by_email(&email("u-new"))
        .await
        .unwrap()
        .is_none());
    assert!(store.outbox(None, 10).await.unwrap().is_empty());
    assert_eq!(
        count(
            &raw,
            "SELECT COUNT(*) FROM invitations WHERE org_id = $1",
            "org-1"
        )
        .await,
        1,
        "only the first invitation is stored"
    );
    assert_eq!(view(&cached(&store, "org-1").await), before);
    assert_eq!(view(&fresh_load(&db, "org-1").await), before);

    // The store is not left locked or poisoned: the next write lands.
    let next = apply(&store, "org-1", t0(), |snap| space_rule(snap, "s-1", t0())).await;
    assert_eq!(next, revision + 1);
    assert_eq!(
        view(&cached(&store, "org-1").await),
        view(&fresh_load(&db, "org-1").await)
    );

    // An unknown organization is reported as such, and nothing is written.
    let outcome = store
        .write(
            &oid("org-missing"),
            &ctx(t0()),
            &accounts(&["u-ghost"]),
            |snap, _| space_rule(snap, "s-ghost", t0()).map(plan),
        )
        .await;
    assert!(
        matches!(outcome, Err(WriteError::OrgNotFound)),
        "{outcome:?}"
    );
    assert!(store
        .user_by_email(&email("u-ghost"))
        .await
        .unwrap()
        .is_none());
    raw.close().await;
}

async fn a_change_allowed_in_another_organization_is_refused(db: TestDb) {
    let store = migrated(&db).await;
    let raw = db.raw().await;
    new_org(&store, "org-1").await;
    new_org(&store, "org-2").await;
    let revisions = (
        db_revision(&raw, "org-1").await,
        db_revision(&raw, "org-2").await,
    );
    // The Owner of both may create spaces in both; the rule ran on
    // org-2's state, so its grant is for org-2.
    let elsewhere = cached(&store, "org-2").await;

    let outcome = store
        .write(
            &oid("org-1"),
            &ctx(t0()),
            &accounts(&["u-stray"]),
            |_, _| {
                let change = space_rule(&elsewhere, "s-stray", t0())?;
                Ok::<_, RuleError>(audited(change, AuditAction::SpaceCreated, None))
            },
        )
        .await;
    assert!(
        matches!(outcome, Err(WriteError::Store(StoreError::GrantMismatch))),
        "{outcome:?}"
    );
    // Nor does it create an organization.
    let outcome = store
        .create_org(
            &oid("org-3"),
            "Three",
            &OrgSettings::default(),
            &ctx(t0()),
            &Lookups::default(),
            |_, _| space_rule(&elsewhere, "s-stray", t0()).map(plan),
        )
        .await;
    assert!(
        matches!(outcome, Err(WriteError::Store(StoreError::GrantMismatch))),
        "{outcome:?}"
    );

    assert_eq!(
        (
            db_revision(&raw, "org-1").await,
            db_revision(&raw, "org-2").await
        ),
        revisions
    );
    for org in ["org-1", "org-2"] {
        assert!(fresh_load(&db, org).await.space(&sid("s-stray")).is_none());
        assert_eq!(audit_count(&raw, org).await, 1, "{org}: its creation alone");
    }
    assert!(store.snapshot(&oid("org-3"), None).await.unwrap().is_none());
    assert_eq!(count_all(&raw, "SELECT COUNT(*) FROM orgs").await, 2);
    assert!(store
        .user_by_email(&email("u-stray"))
        .await
        .unwrap()
        .is_none());

    // The same rule on the organization's own state is written.
    let landed = apply(&store, "org-1", t0(), |snap| {
        space_rule(snap, "s-own", t0())
    })
    .await;
    assert_eq!(landed, revisions.0 + 1);
    raw.close().await;
}

async fn ten_concurrent_writes_to_one_organization_all_land(db: TestDb) {
    let store = migrated(&db).await;
    new_org(&store, "org-1").await;
    let people: Vec<String> = (0..10).map(|n| format!("u-{n}")).collect();
    let names: Vec<&str> = people.iter().map(String::as_str).collect();
    let ids = invite(
        &store,
        "org-1",
        t0(),
        &names,
        Role::Org(OrgRole::Admin),
        &[],
    )
    .await;
    let invited = 2;

    // Ten acceptances at once, each creating its account.
    let mut tasks = Vec::new();
    for (id, person) in ids.into_iter().zip(people) {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            accept(&store, "org-1", t0(), &id, &person).await.revision
        }));
    }
    let mut revisions = BTreeSet::new();
    for task in tasks {
        revisions.insert(task.await.unwrap());
    }
    assert_eq!(
        revisions,
        (invited + 1..=invited + 10).collect::<BTreeSet<_>>(),
        "each write had a revision of its own"
    );
    // Each writer found the snapshot the one before it left in the cache:
    // none read the organization from the database again.
    assert_eq!(store.cache_stats().loads, 0, "{:?}", store.cache_stats());
    let raw = db.raw().await;
    assert_eq!(db_revision(&raw, "org-1").await, invited + 10);
    let cached = cached(&store, "org-1").await;
    assert_eq!(cached.revision, invited + 10);
    assert_eq!(cached.member_count(), 11);
    assert_eq!(view(&cached), view(&fresh_load(&db, "org-1").await));
    let check = store.verify_audit(&oid("org-1")).await.unwrap();
    assert!(check.ok, "{check:?}");
    assert_eq!(check.entries, 12, "creation, batch, ten acceptances");
    raw.close().await;
}

async fn rules_see_the_state_they_change_so_ten_concurrent_acceptances_fill_exactly_five_seats(
    db: TestDb,
) {
    let store = migrated(&db).await;
    ten_acceptances_race_for_five_seats(&[store], &db).await;
}

async fn deleting_an_organization_revokes_its_tokens_and_hides_it(db: TestDb) {
    let store = migrated(&db).await;
    new_org(&store, "org-1").await;
    new_org(&store, "org-2").await;
    let token = |id: &'static str| {
        move |snap: &roster_core::OrgSnapshot| {
            let request = TokenRequest {
                id: TokenId::from(id),
                kind: TokenKind::Mcp,
                name: name(id),
                secret_hash: format!("hash-of-{id}"),
                expires_at: None,
                minted_with: None,
            };
            issue_token(snap, &owner(), request, t0())
        }
    };
    apply(&store, "org-1", t0(), token("tok-1")).await;
    apply(&store, "org-2", t0(), token("tok-2")).await;
    let other = connect(&db).await;
    assert!(other.snapshot(&oid("org-1"), None).await.unwrap().is_some());

    let gone = at(chrono::Duration::hours(1));
    write(&store, "org-1", gone, &Lookups::default(), |snap, _| {
        let change = delete_organization(snap, &owner(), gone)?;
        Ok(audited(change, AuditAction::OrgDeleted, None))
    })
    .await;
    assert!(store.snapshot(&oid("org-1"), None).await.unwrap().is_none());
    other.evict_all();
    assert!(other.snapshot(&oid("org-1"), None).await.unwrap().is_none());
    let revoked = store.token(&TokenId::from("tok-1")).await.unwrap().unwrap();
    assert_eq!(revoked.revoked_at, Some(gone));
    assert_eq!(revoked.revoked_reason.as_deref(), Some("org_deleted"));
    assert_eq!(
        store
            .token(&TokenId::from("tok-2"))
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        None
    );
    let outcome = store
        .write(&oid("org-1"), &ctx(gone), &Lookups::default(), |snap, _| {
            space_rule(snap, "s-late", gone).map(plan)
        })
        .await;
    assert!(
        matches!(outcome, Err(WriteError::OrgNotFound)),
        "{outcome:?}"
    );
    // The audit log stays, and still verifies.
    let check = store.verify_audit(&oid("org-1")).await.unwrap();
    assert!(check.ok && check.entries == 2, "{check:?}");
    assert!(store.snapshot(&oid("org-2"), None).await.unwrap().is_some());
    other.close().await;
}

on_postgres!(
    replicas_on_postgresql_serialize_writes_to_one_organization,
    a_second_write_to_a_locked_organization_waits_and_then_sees_the_first,
    writes_to_different_organizations_do_not_wait_for_each_other,
);

async fn replicas_on_postgresql_serialize_writes_to_one_organization(db: TestDb) {
    let store = migrated(&db).await;
    let other = connect(&db).await;
    ten_acceptances_race_for_five_seats(&[store.clone(), other.clone()], &db).await;

    // And plain concurrent writes from both replicas all land.
    let mut tasks = Vec::new();
    for n in 0..10 {
        let store = if n % 2 == 0 {
            store.clone()
        } else {
            other.clone()
        };
        tasks.push(tokio::spawn(async move {
            write(&store, "org-1", t0(), &Lookups::default(), |snap, _| {
                let change = space_rule(snap, &format!("s-{n}"), t0())?;
                Ok(audited(change, AuditAction::SpaceCreated, None))
            })
            .await
            .revision
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let fresh = fresh_load(&db, "org-1").await;
    assert_eq!(fresh.revision, 8 + 10);
    assert_eq!(fresh.space_count(), 10);
    assert!(store.verify_audit(&oid("org-1")).await.unwrap().ok);
    other.close().await;
}

async fn a_second_write_to_a_locked_organization_waits_and_then_sees_the_first(db: TestDb) {
    let store = migrated(&db).await;
    let other = connect(&db).await;
    let raw = db.raw().await;
    let created = new_org(&store, "org-1").await;

    let (held, mut holder) = hold();
    let first = {
        let store = store.clone();
        tokio::spawn(async move {
            write(&store, "org-1", t0(), &Lookups::default(), |snap, _| {
                held.wait()?;
                space_rule(snap, "s-first", t0()).map(plan)
            })
            .await
            .revision
        })
    };
    holder.entered().await;
    // Another replica writes to the same organization: it waits for the
    // row lock the first one holds, then runs its rules on what it left.
    let second = tokio::spawn(async move {
        let written = write(&other, "org-1", t0(), &Lookups::default(), |snap, _| {
            let saw_first = snap.space(&sid("s-first")).is_some();
            Ok(Planned::new(space_rule(snap, "s-second", t0())?, saw_first))
        })
        .await;
        other.close().await;
        written
    });
    wait_until("the second write waits for the lock", || {
        someone_waits_for_a_lock(&raw)
    })
    .await;
    holder.release();

    assert_eq!(first.await.unwrap(), created + 1);
    let second = second.await.unwrap();
    assert!(
        second.value,
        "the second write's rules saw the first one's space"
    );
    assert_eq!(second.revision, created + 2);
    raw.close().await;
}

async fn writes_to_different_organizations_do_not_wait_for_each_other(db: TestDb) {
    let store = migrated(&db).await;
    new_org(&store, "org-1").await;
    let before = new_org(&store, "org-2").await;

    let (held, mut holder) = hold();
    let first = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .write(&oid("org-1"), &ctx(t0()), &Lookups::default(), |snap, _| {
                    held.wait()?;
                    space_rule(snap, "s-1", t0()).map(plan)
                })
                .await
        })
    };
    holder.entered().await;
    // org-1 is locked with its write open; org-2's write goes through.
    let landed = apply(&store, "org-2", t0(), |snap| space_rule(snap, "s-2", t0())).await;
    assert_eq!(landed, before + 1);
    holder.release();
    let first = first.await.unwrap();
    assert!(
        first.is_ok(),
        "the held write lands once released: {first:?}"
    );
}
