//! Snapshots and their cache: after every write the cache holds exactly
//! what a fresh load reads, a caller asking for a newer revision gets it,
//! and on PostgreSQL other replicas drop what a write made stale.

use chrono::Duration;
use roster_core::implementation_admin::{
    expire_due, record_forever_review, remove_implementation_admin,
    set_implementation_admin_enabled,
};
use roster_core::invite::{
    accept_invitation, expire_invitations, resend_invitation, revoke_invitation,
};
use roster_core::org::{set_allowlist, update_organization, OrgUpdate};
use roster_core::org_roles::change_org_role;
use roster_core::space_roles::{remove_space_role, set_space_role};
use roster_core::spaces::{delete_space, rename_space};
use roster_core::status::{deactivate, reactivate, remove_member};
use roster_core::tokens::{issue_token, TokenRequest};
use roster_core::{
    Actor, AuditAction, Change, DomainAllowlist, IaDuration, InvitationStatus, MemberStatus,
    OrgRole, OrgSnapshot, Role, RuleError, SeatPolicy, SpaceRole, Timestamp, TokenId, TokenKind,
};
use roster_store::{Found, Lookups, Planned, Store, StoreError};
use roster_testkit::{on_both_backends, on_postgres, Backend, TestDb};

use crate::fixtures::*;

type Rules = Box<dyn FnOnce(&OrgSnapshot, &Found, Timestamp) -> Result<Change, RuleError>>;

/// One write of the long sequence below.
struct Step {
    what: &'static str,
    lookups: Lookups,
    rules: Rules,
    audit: Option<AuditAction>,
}

fn step(
    what: &'static str,
    rules: impl FnOnce(&OrgSnapshot, Timestamp) -> Result<Change, RuleError> + 'static,
) -> Step {
    Step {
        what,
        lookups: Lookups::default(),
        rules: Box::new(move |snap, _, now| rules(snap, now)),
        audit: None,
    }
}

/// `user` accepts their pending invitation (their account found or made
/// by address), giving `new_name` if any.
fn accepts(what: &'static str, user: &'static str, new_name: Option<&'static str>) -> Step {
    Step {
        what,
        lookups: accounts(&[user]),
        rules: Box::new(move |snap, found, now| {
            let account = found_account(found, user)?;
            let id = pending_for(snap, user)?;
            accept_invitation(snap, &id, account, new_name.map(name), now)
        }),
        audit: None,
    }
}

fn invites(
    what: &'static str,
    users: &'static [&'static str],
    role: Role,
    spaces: &'static [&'static str],
) -> Step {
    step(what, move |snap, now| {
        let mut request = invitation_request(users, role, spaces);
        request.message = Some("Welcome aboard".to_owned());
        invite_rule(snap, &request, now)
    })
}

/// Every kind of change the rules make, one write each, in an order that
/// gives each something to change.
fn steps() -> Vec<Step> {
    use OrgRole::{Admin, ImplementationAdmin};
    use SpaceRole::{Facilitator, Participant, Sponsor};
    let later = |now: Timestamp| now + Duration::days(200);
    vec![
        step("a space is created", |s, now| space_rule(s, "s-1", now)),
        step("a second space", |s, now| space_rule(s, "s-2", now)),
        step("a third space", |s, now| space_rule(s, "s-3", now)),
        invites(
            "alice is invited into two spaces, with a message",
            &["u-alice"],
            Role::Space(Participant),
            &["s-1", "s-2"],
        ),
        accepts("alice accepts: her account is created", "u-alice", None),
        invites(
            "bob, carol and dave are invited in one batch",
            &["u-bob", "u-carol", "u-dave"],
            Role::Space(Participant),
            &["s-3"],
        ),
        accepts("bob accepts", "u-bob", None),
        accepts("carol accepts", "u-carol", None),
        accepts("dave accepts", "u-dave", None),
        step("alice's space role changes", |s, now| {
            set_space_role(s, &owner(), &sid("s-1"), &uid("u-alice"), Facilitator, now)
        }),
        step("bob gets a second space role", |s, now| {
            set_space_role(s, &owner(), &sid("s-1"), &uid("u-bob"), Sponsor, now)
        }),
        step("bob's second space role is removed", |s, now| {
            remove_space_role(s, &owner(), &sid("s-1"), &uid("u-bob"), now)
        }),
        step("the Implementation Admin role is turned on", |s, now| {
            set_implementation_admin_enabled(s, &owner(), true, false, now)
        }),
        step("the platform allows two domains for it", |s, _| {
            let domains = DomainAllowlist::parse_all(["example.com", "*.example.org"])
                .map_err(|_| RuleError::NotFound("domains"))?;
            set_allowlist(s, &Actor::Platform, domains)
        }),
        step("bob becomes an Admin", |s, now| {
            change_org_role(s, &owner(), &uid("u-bob"), Some(Admin), None, now)
        }),
        step(
            "carol becomes an Implementation Admin for three months",
            |s, now| {
                let role = Some(ImplementationAdmin);
                change_org_role(
                    s,
                    &owner(),
                    &uid("u-carol"),
                    role,
                    Some(IaDuration::ThreeMonths),
                    now,
                )
            },
        ),
        step("dave becomes one forever", |s, now| {
            let role = Some(ImplementationAdmin);
            change_org_role(
                s,
                &owner(),
                &uid("u-dave"),
                role,
                Some(IaDuration::Forever),
                now,
            )
        }),
        step(
            "the platform records a review of dave's assignment",
            |s, now| record_forever_review(s, &Actor::Platform, &uid("u-dave"), now),
        ),
        step(
            "bob's org role is removed, his space role stays",
            |s, now| change_org_role(s, &owner(), &uid("u-bob"), None, None, now),
        ),
        step("carol makes herself an API token", |s, now| {
            let request = TokenRequest {
                id: TokenId::from("tok-carol"),
                kind: TokenKind::Api,
                name: name("CI"),
                secret_hash: "hash-of-carols-secret".to_owned(),
                expires_at: None,
                minted_with: None,
            };
            issue_token(s, &Actor::user("u-carol"), request, now)
        }),
        step("carol is deactivated, her token revoked", |s, now| {
            deactivate(s, &owner(), &uid("u-carol"), now)
        }),
        step("a space is renamed", |s, now| {
            rename_space(s, &owner(), &sid("s-2"), name("Two, renamed"), now)
        }),
        step("a space with roles in it is deleted", |s, now| {
            delete_space(s, &owner(), &sid("s-3"), now)
        }),
        step("alice is removed", |s, now| {
            remove_member(s, &owner(), &uid("u-alice"), now)
        }),
        invites(
            "alice is invited again",
            &["u-alice"],
            Role::Space(Participant),
            &["s-1"],
        ),
        accepts(
            "alice accepts again under a new name: her account stayed",
            "u-alice",
            Some("Alice Again"),
        ),
        step(
            "the platform renames the organization and sets its seats",
            |s, now| {
                let update = OrgUpdate {
                    name: Some(name("Acme, renamed")),
                    seat_limit: Some(Some(50)),
                    seat_policy: Some(SeatPolicy::from_roles([
                        Role::Org(OrgRole::Owner),
                        Role::Space(Participant),
                    ])),
                };
                update_organization(s, &Actor::Platform, update, now)
            },
        ),
        invites(
            "two people are invited into two spaces",
            &["u-erin", "u-frank"],
            Role::Space(Participant),
            &["s-1", "s-2"],
        ),
        step(
            "someone outside is invited as an Implementation Admin",
            |s, now| {
                let mut request = invitation_request(&[], Role::Org(ImplementationAdmin), &[]);
                request.emails =
                    roster_core::invite::EmailInput::List(vec!["gina@partner.example.org".into()]);
                request.duration = Some(IaDuration::SixMonths);
                invite_rule(s, &request, now)
            },
        ),
        step("an invitation is resent", |s, now| {
            resend_invitation(s, &owner(), &pending_for(s, "u-erin")?, now, ttl())
        }),
        step("another is revoked", |s, now| {
            revoke_invitation(s, &owner(), &pending_for(s, "u-frank")?, now)
        }),
        step("dave's forever assignment ends early", |s, now| {
            remove_implementation_admin(s, &owner(), &uid("u-dave"), true, now)
        }),
        step("carol is reactivated", |s, now| {
            reactivate(s, &owner(), &uid("u-carol"), now)
        }),
        Step {
            audit: Some(AuditAction::OrgUpdated),
            ..step("an audit entry alone is a write too", |s, now| {
                update_organization(s, &owner(), OrgUpdate::default(), now)
            })
        },
        step("carol's three months run out", move |s, now| {
            Ok(expire_due(s, later(now)))
        }),
        step("the invitations still pending expire", move |s, now| {
            Ok(expire_invitations(s, later(now)))
        }),
    ]
}

on_both_backends!(
    every_successful_write_bumps_the_revision_by_one_and_the_cache_matches_a_fresh_load,
    a_write_at_a_sub_millisecond_instant_caches_what_a_fresh_load_reads,
    a_snapshot_asked_for_at_a_newer_revision_is_reloaded_only_when_the_database_has_it,
    a_cache_over_its_budget_drops_the_least_recently_used_and_reloads_them_alike,
    a_thousand_requests_for_a_cold_organization_load_it_once,
);

async fn every_successful_write_bumps_the_revision_by_one_and_the_cache_matches_a_fresh_load(
    db: TestDb,
) {
    let store = migrated(&db).await;
    let raw = db.raw().await;
    let org = "org-1";
    let mut revision = new_org(&store, org).await;
    assert_eq!(
        revision, 1,
        "creating the organization is its first revision"
    );

    for Step {
        what,
        lookups,
        rules,
        audit,
    } in steps()
    {
        let now = at(Duration::minutes(revision));
        let next = write(&store, org, now, &lookups, |snap, found| {
            let change = rules(snap, found, now)?;
            assert!(
                !change.is_empty() || audit.is_some(),
                "{what}: changes something"
            );
            let mut planned = Planned::new(change, ());
            planned
                .audit
                .extend(audit.map(|action| draft(action, None)));
            Ok(planned)
        })
        .await
        .revision;
        assert_eq!(next, revision + 1, "{what}: the revision moves by one");
        assert_eq!(db_revision(&raw, org).await, next, "{what}: as stored");
        revision = next;
        let cached = cached(&store, org).await;
        assert_eq!(cached.revision, revision, "{what}: the cache is current");
        assert_eq!(view(&cached), view(&fresh_load(&db, org).await), "{what}");
    }

    // Spot checks on the end state, so the comparison is not vacuous.
    let end = cached(&store, org).await;
    assert_eq!(end.name, "Acme, renamed");
    assert_eq!(end.settings.seat_limit, Some(50));
    assert!(end.settings.allow_implementation_admin);
    let mut members: Vec<_> = end.members().map(|m| m.user_id.to_string()).collect();
    members.sort();
    assert_eq!(
        members,
        ["u-alice", "u-bob", "u-owner"],
        "carol expired, dave removed"
    );
    assert_eq!(end.space_count(), 2);
    assert!(end.space(&sid("s-3")).is_none());
    assert_eq!(
        end.space(&sid("s-2")).map(|s| s.name.as_str()),
        Some("Two, renamed")
    );
    let alice = end.member(&uid("u-alice")).unwrap();
    assert_eq!(alice.name, "Alice Again");
    assert_eq!(
        end.space_role(alice, &sid("s-1")),
        Some(SpaceRole::Participant)
    );
    assert_eq!(
        end.space_role(alice, &sid("s-2")),
        None,
        "removal dropped her roles"
    );
    let bob = end.member(&uid("u-bob")).unwrap();
    assert_eq!((bob.org_role, bob.status), (None, MemberStatus::Active));
    assert_eq!(
        end.space_roles_of(bob).count(),
        0,
        "his roles went with the space"
    );
    assert_eq!(end.pending_invitations().count(), 0);
    let invitations = store.invitations(&oid(org), None, None, 100).await.unwrap();
    let status_of = |address: &str| {
        let inv = invitations
            .iter()
            .find(|i| i.email.as_str() == address)
            .unwrap();
        (inv.status, inv.send_count)
    };
    assert_eq!(
        status_of("u-erin@example.com"),
        (InvitationStatus::Expired, 2)
    );
    assert_eq!(
        status_of("u-frank@example.com"),
        (InvitationStatus::Revoked, 1)
    );
    assert_eq!(
        status_of("gina@partner.example.org"),
        (InvitationStatus::Expired, 1)
    );
    let token = store
        .token(&TokenId::from("tok-carol"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(token.revoked_reason.as_deref(), Some("member_deactivated"));
    assert_eq!(
        count(
            &raw,
            "SELECT COUNT(*) FROM ia_reviews WHERE org_id = $1",
            org
        )
        .await,
        1
    );

    // A write that changes nothing persists nothing, not even a revision.
    let unchanged = apply(&store, org, t0(), |snap| {
        update_organization(snap, &owner(), OrgUpdate::default(), t0())
    })
    .await;
    assert_eq!(unchanged, revision);
    assert_eq!(db_revision(&raw, org).await, revision);

    // What the store serves after its last write comes from its cache:
    // it answers even with its database connections closed.
    store.close().await;
    assert_eq!(
        view(&store.snapshot(&oid(org), None).await.unwrap().unwrap()),
        view(&fresh_load(&db, org).await)
    );
    raw.close().await;
}

/// The server's clock is `Utc::now()`, finer than the milliseconds the
/// database keeps; the cache must not know more than the database does.
async fn a_write_at_a_sub_millisecond_instant_caches_what_a_fresh_load_reads(db: TestDb) {
    let store = migrated(&db).await;
    new_org(&store, "org-1").await;
    join(&store, "org-1", t0(), "u-carol").await;
    apply(&store, "org-1", t0(), |snap| {
        set_implementation_admin_enabled(snap, &owner(), true, false, t0())
    })
    .await;
    apply(&store, "org-1", t0(), |snap| {
        let domains = DomainAllowlist::parse_all(["example.com"]).unwrap();
        set_allowlist(snap, &Actor::Platform, domains)
    })
    .await;

    let now = t0() + Duration::nanoseconds(123_456_789);
    apply(&store, "org-1", now, |snap| {
        let role = Some(OrgRole::ImplementationAdmin);
        change_org_role(
            snap,
            &owner(),
            &uid("u-carol"),
            role,
            Some(IaDuration::OneMonth),
            now,
        )
    })
    .await;
    apply(&store, "org-1", now, |snap| {
        let request = invitation_request(&["u-dora"], Role::Org(OrgRole::Admin), &[]);
        invite_rule(snap, &request, now)
    })
    .await;
    let cached = cached(&store, "org-1").await;
    assert_eq!(
        cached
            .pending_invitations()
            .map(|inv| inv.created_at)
            .collect::<Vec<_>>(),
        [t0() + Duration::milliseconds(123)],
        "as stored: whole milliseconds"
    );
    assert_eq!(view(&cached), view(&fresh_load(&db, "org-1").await));
}

async fn a_snapshot_asked_for_at_a_newer_revision_is_reloaded_only_when_the_database_has_it(
    db: TestDb,
) {
    let store = migrated(&db).await;
    let other = connect(&db).await;
    let created = new_org(&store, "org-1").await;
    assert_eq!(cached(&other, "org-1").await.revision, created);

    // Written elsewhere. On PostgreSQL `other` has no listener here (none
    // is started), so it serves what it cached ...
    let written = apply(&store, "org-1", t0(), |snap| space_rule(snap, "s-1", t0())).await;
    let seen = cached(&other, "org-1").await.revision;
    match db.backend() {
        // SQLite notices the database file changed and checks the revision.
        Backend::Sqlite => assert_eq!(seen, written, "another process's write is seen at once"),
        Backend::Postgres => assert_eq!(seen, created),
    }
    // ... until a caller says it saw a newer revision.
    let newer = other
        .snapshot(&oid("org-1"), Some(written))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(newer.revision, written);
    assert!(newer.space(&sid("s-1")).is_some());
    assert_eq!(
        cached(&other, "org-1").await.revision,
        written,
        "and keeps it"
    );
    // A revision the database has not reached is refused, saying what it
    // has (after a short wait for a write on its way).
    let ahead = other.snapshot(&oid("org-1"), Some(written + 5)).await;
    assert!(
        matches!(
            ahead,
            Err(StoreError::RevisionNotAvailable { wanted, latest })
                if wanted == written + 5 && latest == written
        ),
        "{ahead:?}"
    );
    assert!(other
        .snapshot(&oid("org-missing"), Some(1))
        .await
        .unwrap()
        .is_none());
    other.close().await;
}

/// Waits until `replica`'s change listener follows `writer`'s writes: it
/// drops a snapshot it cached after being started, which it does once it
/// listens (on the notification of a write, or as it starts listening).
async fn listening(writer: &Store, replica: &Store, beacon: &str) {
    cached(replica, beacon).await;
    let written = apply(writer, beacon, t0(), |snap| {
        space_rule(snap, &fresh("s-beacon-"), t0())
    })
    .await;
    wait_until(
        "the replica's listener drops its stale snapshot",
        || async { cached(replica, beacon).await.revision == written },
    )
    .await;
}

on_postgres!(
    a_write_on_one_replica_reaches_the_cache_of_another,
    a_replica_loading_during_a_write_elsewhere_does_not_keep_a_stale_snapshot,
    a_replica_whose_listening_connection_is_killed_catches_up_by_itself,
);

async fn a_write_on_one_replica_reaches_the_cache_of_another(db: TestDb) {
    let store = migrated(&db).await;
    new_org(&store, "org-1").await;
    new_org(&store, "org-beacon").await;
    let revision = join(&store, "org-1", t0(), "u-alice").await;
    let other = connect(&db).await;
    let listener = other.spawn_change_listener().unwrap();
    listening(&store, &other, "org-beacon").await;
    assert_eq!(cached(&other, "org-1").await.revision, revision);

    let removed = apply(&store, "org-1", t0(), |snap| {
        remove_member(snap, &owner(), &uid("u-alice"), t0())
    })
    .await;
    wait_until("the other replica serves the removal", || async {
        cached(&other, "org-1").await.revision == removed
    })
    .await;
    assert!(cached(&other, "org-1")
        .await
        .member(&uid("u-alice"))
        .is_none());
    listener.abort();
    other.close().await;
}

/// Replica B loads the organization (slowly, as for a large one) while
/// replica A writes to it, and hears of A's write during the load: it
/// must not go on serving the state from before it.
///
/// The slow load is a lock held on `space_roles`: B's load reads `orgs`
/// (fixing what it sees), `memberships` and `spaces`, then waits. A
/// writes (not touching that table), then writes a second organization
/// whose snapshot B holds; notifications arrive in commit order, so
/// once B drops that snapshot it has heard of the first write too. Only
/// then is the lock released.
async fn a_replica_loading_during_a_write_elsewhere_does_not_keep_a_stale_snapshot(db: TestDb) {
    let store = migrated(&db).await;
    let before = new_org(&store, "org-1").await;
    new_org(&store, "org-beacon").await;
    let other = connect(&db).await;
    let listener = other.spawn_change_listener().unwrap();
    listening(&store, &other, "org-beacon").await;
    assert!(served_from_cache(&other, "org-beacon").is_some());

    let raw = db.raw().await;
    let (lock, loading) = load_held_at_a_lock(&raw, &other, "org-1").await;

    let revision = apply(&store, "org-1", t0(), |snap| {
        space_rule(snap, "s-new", t0())
    })
    .await;
    apply(&store, "org-beacon", t0(), |snap| {
        space_rule(snap, "s-after", t0())
    })
    .await;
    wait_until("B hears of both writes", || async {
        served_from_cache(&other, "org-beacon").is_none()
    })
    .await;
    lock.rollback().await.unwrap();
    let loaded = loading.await.unwrap();
    assert_eq!(loaded.revision, before, "the load began before the write");

    let served = cached(&other, "org-1").await;
    listener.abort();
    other.close().await;
    raw.close().await;
    assert_eq!(
        (served.revision, served.space(&sid("s-new")).is_some()),
        (revision, true),
        "replica B serves revision {} after revision {revision} was written and announced",
        served.revision
    );
}

/// The replica's listening connection is killed and a write lands while it
/// is gone, so that write's announcement reaches no one: the replica must
/// still stop serving the older snapshot, by itself, within a bounded time.
async fn a_replica_whose_listening_connection_is_killed_catches_up_by_itself(db: TestDb) {
    let store = migrated(&db).await;
    new_org(&store, "org-1").await;
    new_org(&store, "org-beacon").await;
    let other = connect(&db).await;
    let listener = other.spawn_change_listener().unwrap();
    listening(&store, &other, "org-beacon").await;
    let before = cached(&other, "org-1").await.revision;

    let raw = db.raw().await;
    let killed = count_all(
        &raw,
        "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE datname = current_database() AND query LIKE 'LISTEN%'",
    )
    .await;
    assert_eq!(killed, 1, "the replica's one listening connection");
    let written = apply(&store, "org-1", t0(), |snap| {
        space_rule(snap, "s-while-deaf", t0())
    })
    .await;
    assert!(written > before);
    wait_until(
        "the replica serves the write it was not told of",
        || async { cached(&other, "org-1").await.revision == written },
    )
    .await;
    listener.abort();
    other.close().await;
}

/// Six organizations of one size in a cache with room for about three:
/// the least recently used go, what stays is what was used last, and an
/// organization loaded again is the same as before.
async fn a_cache_over_its_budget_drops_the_least_recently_used_and_reloads_them_alike(db: TestDb) {
    let store = migrated(&db).await;
    let orgs: Vec<String> = (1..=6).map(|n| format!("org-{n}")).collect();
    for org in &orgs {
        new_org(&store, org).await;
        for user in ["u-a", "u-b", "u-c"] {
            join(&store, org, t0(), &format!("{user}-{org}")).await;
        }
    }
    let before: Vec<View> = futures_in_order(&store, &orgs).await;
    let one = cached(&store, "org-1").await.approximate_bytes() as u64;
    store.set_cache_budget(one * 7 / 2);
    for org in &orgs {
        cached(&store, org).await;
    }
    // org-3 is used again: it is now more recent than org-4.
    cached(&store, "org-3").await;
    cached(&store, "org-6").await;
    let stats = store.cache_stats();
    assert!(stats.bytes <= one * 7 / 2, "within the budget: {stats:?}");
    assert!(stats.evictions >= 3, "{stats:?}");
    // The three used last answer without a load; then each of the others
    // needs one.
    for (org, kept) in [
        ("org-6", true),
        ("org-3", true),
        ("org-5", true),
        ("org-1", false),
        ("org-2", false),
        ("org-4", false),
    ] {
        let loads = store.cache_stats().loads;
        cached(&store, org).await;
        assert_eq!(
            store.cache_stats().loads == loads,
            kept,
            "{org} kept: {stats:?}"
        );
    }
    let loads = store.cache_stats().loads;
    let after = futures_in_order(&store, &orgs).await;
    assert_eq!(after, before, "evicted organizations load as they were");
    assert!(store.cache_stats().loads > loads);
    for org in &orgs {
        assert_eq!(
            view(&cached(&store, org).await),
            view(&fresh_load(&db, org).await)
        );
    }
}

async fn futures_in_order(store: &Store, orgs: &[String]) -> Vec<View> {
    let mut views = Vec::new();
    for org in orgs {
        views.push(view(&cached(store, org).await));
    }
    views
}

async fn a_thousand_requests_for_a_cold_organization_load_it_once(db: TestDb) {
    let store = migrated(&db).await;
    new_org(&store, "org-1").await;
    let revision = join(&store, "org-1", t0(), "u-alice").await;
    let cold = connect(&db).await;
    let mut asking = tokio::task::JoinSet::new();
    for _ in 0..1000 {
        let cold = cold.clone();
        asking.spawn(async move { cached(&cold, "org-1").await.revision });
    }
    while let Some(answer) = asking.join_next().await {
        assert_eq!(answer.unwrap(), revision);
    }
    let stats = cold.cache_stats();
    assert_eq!(
        stats.loads, 1,
        "one load for a thousand requests: {stats:?}"
    );
    assert_eq!(
        stats.hits + stats.misses,
        1000,
        "each request counted once, a hit or a miss: {stats:?}"
    );
    assert_eq!(stats.snapshots, 1);
    cold.close().await;
}
