//! Accounts a write needs are found or created by address inside it, under
//! the organization's lock, and kept only if the write commits.

use roster_core::invite::accept_invitation;
use roster_core::org::{update_organization, OrgUpdate};
use roster_core::{Account, OrgRole, Role, RuleError};
use roster_store::{AccountRequest, Lookups, Planned, Store, WriteError, Written};
use roster_testkit::{on_both_backends, Backend, TestDb};

use crate::fixtures::*;

/// `org`'s pending invitation for `newcomer@example.com`, accepted with an
/// account made under `fresh_id`, the write held inside its rules when a
/// hold is given, and failing after it when `then_fail`.
async fn accept_as_newcomer(
    store: Store,
    org: &'static str,
    fresh_id: &'static str,
    held: Option<Hold>,
    then_fail: bool,
) -> Result<Written<Account>, WriteError<RuleError>> {
    let lookups = Lookups {
        accounts: vec![AccountRequest {
            email: email("newcomer"),
            fresh_id: uid(fresh_id),
            name: format!("Newcomer via {org}"),
        }],
        token: None,
    };
    store
        .write(&oid(org), &ctx(t0()), &lookups, |snap, found| {
            if let Some(held) = held {
                held.wait()?;
            }
            if then_fail {
                return Err(RuleError::Forbidden("the rules refused after all".into()));
            }
            let account = found_account(found, "newcomer")?.clone();
            let id = pending_for(snap, "newcomer")?;
            let change = accept_invitation(snap, &id, &account, None, t0())?;
            Ok(Planned::new(change, account))
        })
        .await
}

/// Two organizations, each with a pending invitation for the newcomer.
async fn two_orgs_inviting_the_newcomer(store: &Store) {
    for org in ["org-1", "org-2"] {
        new_org(store, org).await;
        invite(
            store,
            org,
            t0(),
            &["newcomer"],
            Role::Org(OrgRole::Admin),
            &[],
        )
        .await;
    }
}

/// Holds the first write inside its rules (its account made, not
/// committed), starts the second, and on PostgreSQL waits until the second
/// is blocked on the first's new row (the address is unique), then lets the
/// first go on. On SQLite the second waits for the one writer.
async fn race_for_the_newcomer(
    store: &Store,
    db: &TestDb,
    first_fails: bool,
) -> (
    Result<Written<Account>, WriteError<RuleError>>,
    Result<Written<Account>, WriteError<RuleError>>,
) {
    let raw = db.raw().await;
    let (held, mut holder) = hold();
    let first = tokio::spawn(accept_as_newcomer(
        store.clone(),
        "org-1",
        "u-first",
        Some(held),
        first_fails,
    ));
    holder.entered().await;
    let second = tokio::spawn(accept_as_newcomer(
        store.clone(),
        "org-2",
        "u-second",
        None,
        false,
    ));
    if db.backend() == Backend::Postgres {
        wait_until("the second write waits for the first one's account", || {
            someone_waits_for_a_lock(&raw)
        })
        .await;
    }
    holder.release();
    let outcomes = (first.await.unwrap(), second.await.unwrap());
    raw.close().await;
    outcomes
}

on_both_backends!(
    two_writes_in_two_organizations_introducing_the_same_new_email_at_once_both_succeed_and_agree_on_one_account_id,
    when_the_first_of_two_writes_introducing_an_address_fails_the_second_creates_the_account,
    a_write_whose_rules_fail_creates_no_account,
    a_write_that_changes_nothing_keeps_no_account_it_looked_up,
    an_existing_account_is_found_with_its_own_id_and_name_whatever_a_request_proposes,
);

async fn two_writes_in_two_organizations_introducing_the_same_new_email_at_once_both_succeed_and_agree_on_one_account_id(
    db: TestDb,
) {
    let store = migrated(&db).await;
    two_orgs_inviting_the_newcomer(&store).await;

    let (first, second) = race_for_the_newcomer(&store, &db, false).await;
    let (first, second) = (first.unwrap().value, second.unwrap().value);
    assert_eq!(first.user_id, uid("u-first"));
    assert!(first.created);
    assert_eq!(
        second.user_id,
        uid("u-first"),
        "the second found the first one's account"
    );
    assert!(!second.created);
    assert_eq!(second.name, "Newcomer via org-1");

    let stored = store
        .user_by_email(&email("newcomer"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.id, uid("u-first"));
    assert!(store.user(&uid("u-second")).await.unwrap().is_none());
    for org in ["org-1", "org-2"] {
        let member = fresh_load(&db, org).await.member(&uid("u-first")).cloned();
        assert_eq!(
            member.map(|m| (m.email, m.org_role)),
            Some((email("newcomer"), Some(OrgRole::Admin))),
            "{org}"
        );
    }
    let orgs = store.memberships_of(&uid("u-first")).await.unwrap();
    assert_eq!(orgs.len(), 2);
}

async fn when_the_first_of_two_writes_introducing_an_address_fails_the_second_creates_the_account(
    db: TestDb,
) {
    let store = migrated(&db).await;
    two_orgs_inviting_the_newcomer(&store).await;

    let (first, second) = race_for_the_newcomer(&store, &db, true).await;
    assert!(
        matches!(first, Err(WriteError::Rule(RuleError::Forbidden(_)))),
        "{first:?}"
    );
    let second = second.unwrap().value;
    assert_eq!(second.user_id, uid("u-second"));
    assert!(second.created);
    assert_eq!(
        store
            .user_by_email(&email("newcomer"))
            .await
            .unwrap()
            .map(|u| u.id),
        Some(uid("u-second"))
    );
    assert!(fresh_load(&db, "org-1")
        .await
        .member(&uid("u-first"))
        .is_none());
}

async fn a_write_whose_rules_fail_creates_no_account(db: TestDb) {
    let store = migrated(&db).await;
    new_org(&store, "org-1").await;
    invite(
        &store,
        "org-1",
        t0(),
        &["newcomer"],
        Role::Org(OrgRole::Admin),
        &[],
    )
    .await;

    let refused = accept_as_newcomer(store.clone(), "org-1", "u-refused", None, true).await;
    assert!(matches!(refused, Err(WriteError::Rule(_))), "{refused:?}");
    assert!(store
        .user_by_email(&email("newcomer"))
        .await
        .unwrap()
        .is_none());
    assert!(store.user(&uid("u-refused")).await.unwrap().is_none());

    // Nothing is left behind to find: the next write creates it afresh.
    let accepted = accept_as_newcomer(store.clone(), "org-1", "u-accepted", None, false)
        .await
        .unwrap()
        .value;
    assert_eq!(
        (accepted.user_id, accepted.created),
        (uid("u-accepted"), true)
    );
}

async fn a_write_that_changes_nothing_keeps_no_account_it_looked_up(db: TestDb) {
    let store = migrated(&db).await;
    let raw = db.raw().await;
    let revision = new_org(&store, "org-1").await;

    let written = write(
        &store,
        "org-1",
        t0(),
        &accounts(&["u-idle"]),
        |snap, found| {
            let looked_up = found_account(found, "u-idle")?.clone();
            // Renaming to the current name changes nothing.
            let same = OrgUpdate {
                name: Some(name("Acme")),
                ..OrgUpdate::default()
            };
            let change = update_organization(snap, &owner(), same, t0())?;
            assert!(change.is_empty());
            Ok(Planned::new(change, looked_up))
        },
    )
    .await;
    assert!(
        written.value.created,
        "the rules saw an account made for them"
    );
    assert_eq!(written.revision, revision);
    assert_eq!(db_revision(&raw, "org-1").await, revision);
    assert!(store
        .user_by_email(&email("u-idle"))
        .await
        .unwrap()
        .is_none());
    raw.close().await;
}

async fn an_existing_account_is_found_with_its_own_id_and_name_whatever_a_request_proposes(
    db: TestDb,
) {
    let store = migrated(&db).await;
    new_org(&store, "org-1").await;
    new_org(&store, "org-2").await;
    join(&store, "org-1", t0(), "u-alice").await;
    let ids = invite(
        &store,
        "org-2",
        t0(),
        &["u-alice"],
        Role::Org(OrgRole::Admin),
        &[],
    )
    .await;

    // The same address twice in one write, with other ids and names.
    let proposals = Lookups {
        accounts: ["u-other", "u-another"]
            .map(|id| AccountRequest {
                email: email("u-alice"),
                fresh_id: uid(id),
                name: "Another Name".to_owned(),
            })
            .to_vec(),
        token: None,
    };
    let written = write(&store, "org-2", t0(), &proposals, |snap, found| {
        assert_eq!(found.accounts.len(), 1, "one address, one account");
        let account = found_account(found, "u-alice")?.clone();
        let change = accept_invitation(snap, &ids[0], &account, None, t0())?;
        Ok(Planned::new(change, account))
    })
    .await;
    assert_eq!(
        written.value,
        Account {
            user_id: uid("u-alice"),
            email: email("u-alice"),
            name: name_of("u-alice"),
            created: false,
        }
    );
    for id in ["u-other", "u-another"] {
        assert!(store.user(&uid(id)).await.unwrap().is_none());
    }
    let member = fresh_load(&db, "org-2")
        .await
        .member(&uid("u-alice"))
        .cloned()
        .unwrap();
    assert_eq!(member.name, name_of("u-alice"));
}
