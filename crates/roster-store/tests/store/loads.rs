//! Loading snapshots: what a cold load reads (the database's own driver,
//! rows streamed) and what a write reads when it finds nothing cached (the
//! `Any` connection of its transaction) are both what the writes built,
//! for an organization with every kind of thing a member can have; and a
//! load waiting for the database holds up no other organization.

use roster_core::implementation_admin::set_implementation_admin_enabled;
use roster_core::import::{self, ImportMode, ImportRow, InviteTerms, SpaceRef};
use roster_core::invite::EmailInput;
use roster_core::org::{set_allowlist, update_organization, OrgUpdate};
use roster_core::org_roles::change_org_role;
use roster_core::status::deactivate;
use roster_core::{
    Actor, BatchId, DomainAllowlist, IaDuration, InvitationId, Inviter, MemberStatus, OrgRole,
    Role, SpaceRole,
};
use roster_store::Store;
use roster_testkit::{on_both_backends, on_postgres, TestDb};

use crate::fixtures::*;

/// Members added at once by the platform's import: more rows than a
/// stream's buffers hold and than a task's budget lets it take in a row.
const IMPORTED: usize = 600;

on_both_backends!(
    a_cold_load_and_a_writes_load_read_what_the_writes_built,
    a_large_import_loads_back_member_for_member,
);

fn imported(i: usize) -> String {
    format!("u-imp{i:04}")
}

/// The platform adds `IMPORTED` members (every tenth an Admin), each with
/// roles in two of the spaces `s-1` … `s-3`.
async fn import_members(store: &Store, org: &str) -> i64 {
    let users: Vec<String> = (0..IMPORTED).map(imported).collect();
    let names: Vec<&str> = users.iter().map(String::as_str).collect();
    let rows: Vec<ImportRow> = users
        .iter()
        .enumerate()
        .map(|(i, user)| ImportRow {
            row: i + 1,
            email: email(user).to_string(),
            name: Some(name_of(user)),
            org_role: (i % 10 == 0).then_some(OrgRole::Admin),
            space_roles: vec![
                (
                    SpaceRef::Id(sid(&format!("s-{}", i % 3 + 1))),
                    SpaceRole::ALL[i % 4],
                ),
                (
                    SpaceRef::Id(sid(&format!("s-{}", (i + 1) % 3 + 1))),
                    SpaceRole::ALL[(i + 1) % 4],
                ),
            ],
            ..ImportRow::default()
        })
        .collect();
    write(store, org, t0(), &accounts(&names), |snap, found| {
        let mut next = || InvitationId::from(fresh("inv-"));
        let terms = InviteTerms {
            batch: BatchId::from(fresh("bat-")),
            invitation: &mut next,
            ttl: ttl(),
        };
        let (change, _) = import::import(
            snap,
            &Actor::Platform,
            ImportMode::Add,
            &rows,
            &found.accounts,
            terms,
            t0(),
        )?;
        Ok(plan(change))
    })
    .await
    .revision
}

/// One organization with every kind of thing a snapshot holds, made by
/// writes: spaces, imported members with space roles, Admins, an
/// Implementation Admin with an inviter (deactivated, later another one
/// active), deactivated members, and pending invitations of each kind.
async fn everything(store: &Store, org: &str) {
    new_org(store, org).await;
    for space in ["s-1", "s-2", "s-3"] {
        apply(store, org, t0(), |snap| space_rule(snap, space, t0())).await;
    }
    import_members(store, org).await;
    apply(store, org, t0(), |snap| {
        set_implementation_admin_enabled(snap, &owner(), true, false, t0())
    })
    .await;
    apply(store, org, t0(), |snap| {
        let domains = DomainAllowlist::parse_all(["example.com", "*.example.org"])
            .map_err(|_| roster_core::RuleError::NotFound("domains"))?;
        set_allowlist(snap, &Actor::Platform, domains)
    })
    .await;
    for (user, duration) in [
        ("u-carol", IaDuration::ThreeMonths),
        ("u-dave", IaDuration::Forever),
    ] {
        join(store, org, t0(), user).await;
        apply(store, org, t0(), |snap| {
            change_org_role(
                snap,
                &owner(),
                &uid(user),
                Some(OrgRole::ImplementationAdmin),
                Some(duration),
                t0(),
            )
        })
        .await;
    }
    for user in ["u-carol".to_owned(), imported(7), imported(10)] {
        apply(store, org, t0(), |snap| {
            deactivate(snap, &owner(), &uid(&user), t0())
        })
        .await;
    }
    // Pending: one into two spaces with a message, an Admin's, and an
    // Implementation Admin's for someone outside with a duration.
    apply(store, org, t0(), |snap| {
        let mut request = invitation_request(
            &["u-erin"],
            Role::Space(SpaceRole::Participant),
            &["s-1", "s-2"],
        );
        request.message = Some("Welcome aboard".to_owned());
        invite_rule(snap, &request, t0())
    })
    .await;
    invite(
        store,
        org,
        t0(),
        &["u-frank"],
        Role::Org(OrgRole::Admin),
        &[],
    )
    .await;
    apply(store, org, t0(), |snap| {
        let mut request = invitation_request(&[], Role::Org(OrgRole::ImplementationAdmin), &[]);
        request.emails = EmailInput::List(vec!["gina@partner.example.org".into()]);
        request.duration = Some(IaDuration::SixMonths);
        invite_rule(snap, &request, t0())
    })
    .await;
}

async fn a_cold_load_and_a_writes_load_read_what_the_writes_built(db: TestDb) {
    let store = migrated(&db).await;
    let org = "org-1";
    everything(&store, org).await;
    let built = cached(&store, org).await;
    assert_eq!(
        store.cache_stats().loads,
        0,
        "what the writes built, never loaded"
    );

    // A cold load: the loads' own connections.
    let loaded = fresh_load(&db, org).await;
    assert_eq!(view(&loaded), view(&built), "a cold load");

    // A write on a store with nothing cached reads the organization in its
    // own transaction, and caches what it read when it changes nothing.
    let cold = connect(&db).await;
    apply(&cold, org, t0(), |snap| {
        update_organization(snap, &owner(), OrgUpdate::default(), t0())
    })
    .await;
    let written = cached(&cold, org).await;
    assert_eq!(
        cold.cache_stats().loads,
        1,
        "the write's own read, then served from the cache"
    );
    assert_eq!(view(&written), view(&built), "a write's load");
    cold.close().await;

    // Not vacuous: the load has each kind of thing, as written.
    assert_eq!(loaded.member_count(), IMPORTED + 3);
    let owner_inviter = Some(Inviter {
        user_id: uid(OWNER),
        email: email(OWNER),
    });
    let carol = loaded.member(&uid("u-carol")).unwrap();
    assert_eq!(
        (carol.status, carol.org_role),
        (
            MemberStatus::Deactivated,
            Some(OrgRole::ImplementationAdmin)
        )
    );
    let ia = carol.ia.as_deref().unwrap();
    assert_eq!(ia.invited_by, owner_inviter);
    assert_eq!(ia.duration, IaDuration::ThreeMonths);
    assert!(ia.expires_at.is_some());
    let dave = loaded.member(&uid("u-dave")).unwrap();
    assert_eq!(dave.status, MemberStatus::Active);
    let ia = dave.ia.as_deref().unwrap();
    assert_eq!(
        (ia.duration, ia.expires_at, &ia.invited_by),
        (IaDuration::Forever, None, &owner_inviter)
    );
    assert_eq!(
        loaded
            .members()
            .filter(|m| m.status == MemberStatus::Deactivated)
            .count(),
        3
    );
    assert_eq!(
        loaded
            .members()
            .filter(|m| m.org_role == Some(OrgRole::Admin))
            .count(),
        IMPORTED / 10,
        "every tenth imported (carol and dave joined as Admins, then changed)"
    );
    let seventh = loaded.member(&uid(&imported(7))).unwrap();
    assert_eq!(seventh.status, MemberStatus::Deactivated);
    assert_eq!(
        loaded.space_roles_of(seventh).collect::<Vec<_>>(),
        [
            (&sid("s-2"), SpaceRole::ALL[3]),
            (&sid("s-3"), SpaceRole::ALL[0]),
        ]
    );
    let mut pending: Vec<_> = loaded
        .pending_invitations()
        .map(|i| {
            (
                i.email.to_string(),
                i.role,
                i.space_ids.len(),
                i.message.clone(),
                i.duration,
                i.invited_by.clone(),
            )
        })
        .collect();
    pending.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        pending,
        [
            (
                "gina@partner.example.org".to_owned(),
                Role::Org(OrgRole::ImplementationAdmin),
                0,
                None,
                Some(IaDuration::SixMonths),
                Some(uid(OWNER)),
            ),
            (
                email("u-erin").to_string(),
                Role::Space(SpaceRole::Participant),
                2,
                Some("Welcome aboard".to_owned()),
                None,
                Some(uid(OWNER)),
            ),
            (
                email("u-frank").to_string(),
                Role::Org(OrgRole::Admin),
                0,
                None,
                None,
                Some(uid(OWNER)),
            ),
        ]
    );
    assert!(loaded.settings.allow_implementation_admin);
    assert_eq!(loaded.settings.ia_domains.patterns().len(), 2);
}

/// Every imported member's record and roles, loaded cold, are the ones the
/// import wrote (and what the cache holds).
async fn a_large_import_loads_back_member_for_member(db: TestDb) {
    let store = migrated(&db).await;
    let org = "org-big";
    new_org(&store, org).await;
    for space in ["s-1", "s-2", "s-3"] {
        apply(&store, org, t0(), |snap| space_rule(snap, space, t0())).await;
    }
    import_members(&store, org).await;
    let loaded = fresh_load(&db, org).await;
    assert_eq!(view(&loaded), view(&cached(&store, org).await));
    for i in 0..IMPORTED {
        let member = loaded.member(&uid(&imported(i))).unwrap();
        assert_eq!(member.name, name_of(&imported(i)));
        assert_eq!(loaded.space_roles_of(member).count(), 2, "{i}");
        assert_eq!(
            loaded.space_role(member, &sid(&format!("s-{}", i % 3 + 1))),
            Some(SpaceRole::ALL[i % 4])
        );
    }
    let roles: usize = loaded
        .members()
        .map(|m| loaded.space_roles_of(m).count())
        .sum();
    assert_eq!(roles, IMPORTED * 2);
}

on_postgres!(a_load_waiting_for_the_database_holds_up_no_other_organization);

/// A load of one organization stuck behind a lock (as a large one is
/// behind its rows) keeps no lock of the store's: another organization
/// is served from the cache and written to meanwhile.
async fn a_load_waiting_for_the_database_holds_up_no_other_organization(db: TestDb) {
    let store = migrated(&db).await;
    new_org(&store, "org-1").await;
    new_org(&store, "org-2").await;
    join(&store, "org-2", t0(), "u-alice").await;
    store.evict("org-1", None);
    let raw = db.raw().await;
    let (lock, loading) = load_held_at_a_lock(&raw, &store, "org-1").await;

    assert!(served_from_cache(&store, "org-2").is_some());
    let written = apply(&store, "org-2", t0(), |snap| {
        space_rule(snap, "s-meanwhile", t0())
    })
    .await;
    assert_eq!(served_from_cache(&store, "org-2"), Some(written));
    assert!(!loading.is_finished(), "org-1 still loading");

    lock.rollback().await.unwrap();
    let loaded = loading.await.unwrap();
    assert_eq!(view(&loaded), view(&fresh_load(&db, "org-1").await));
    raw.close().await;
}
