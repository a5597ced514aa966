//! The event feeds (SPEC §16, API.md "Events"): one event per audit entry,
//! cursor-paged in commit order, never missed and never seen twice, also
//! with many writers on two replicas.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use roster_core::{AuditAction, OrgId};
use roster_server::views::{EventPage, EventView};
use roster_testkit::{on_both_backends, on_postgres, TestDb};
use serde_json::json;

use crate::common::{spawn, TestApp};
use crate::fixtures::space_world;

on_both_backends!(
    every_audit_entry_is_an_event_with_its_name_actor_target_and_details,
    a_consumer_paging_with_its_cursor_sees_every_event_once_in_order,
    the_platform_feed_holds_every_organization_and_filters_by_one,
);

on_postgres!(the_platform_feed_under_concurrent_writers_on_two_replicas_is_seen_exactly_once,);

async fn every_audit_entry_is_an_event_with_its_name_actor_target_and_details(db: TestDb) {
    let app = spawn(db).await;
    let w = space_world(&app).await;
    let changed = app
        .patch_member(&w.org, &w.fac, Some(&w.owner), json!({"org_role": "admin"}))
        .await;
    changed.ok("the Owner makes the Facilitator an Admin");

    let events = app.events(&w.org).await;
    let last = events.last().expect("the change is in the feed");
    assert_eq!(
        (last.kind.as_str(), last.revision),
        ("member.role_changed", changed.revision()),
        "the change is in the feed by the time its answer is sent, with the revision it answered"
    );

    let audit = app.audit(&w.org).await;
    assert_eq!(events.len(), audit.len(), "one event per audit entry");
    let mut revision = 0;
    for (event, entry) in events.iter().zip(&audit) {
        assert!(event.id.starts_with("evt_"), "{event:?}");
        assert_eq!(event.kind, entry.action.as_str(), "{event:?}");
        assert_eq!(event.org_id.as_ref(), Some(&w.org));
        assert_eq!(
            (event.actor.kind, &event.actor.user_id),
            (entry.actor.kind, &entry.actor.user_id)
        );
        assert_eq!(event.trigger, entry.trigger);
        assert_eq!(event.data.target_user_id, entry.target_user_id);
        assert_eq!(event.data.space_id, entry.space_id);
        assert_eq!(event.data.details, entry.details);
        assert!(event.revision >= revision, "revisions never go back");
        revision = event.revision;
    }
    let ids: HashSet<&str> = events.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids.len(), events.len(), "event ids are unique");

    let types = app.get_event_types().await.ok("list the event types").types;
    let mut expected: Vec<String> = AuditAction::ALL
        .iter()
        .map(|a| a.as_str().to_owned())
        .collect();
    expected.push("webhook.test".into());
    assert_eq!(
        crate::fixtures::sorted(types),
        crate::fixtures::sorted(expected)
    );
}

async fn a_consumer_paging_with_its_cursor_sees_every_event_once_in_order(db: TestDb) {
    let app = spawn(db).await;
    let w = space_world(&app).await;
    let all = app.events(&w.org).await;
    assert!(all.len() > 10, "the fixture writes enough to page through");

    let (seen, cursor) = drain(&app, &w.org).await;
    assert_eq!(ids(&seen), ids(&all), "pages of 3 list the whole feed once");
    let again = app
        .get_org_events(&w.org, None, &format!("?after={cursor}"))
        .await
        .ok("ask again with the stored cursor");
    assert_eq!(
        (again.items.len(), again.next_cursor.as_str()),
        (0, cursor.as_str()),
        "nothing new: no items, and the same cursor to keep"
    );

    // New changes: the stored cursor gives exactly them.
    app.patch_member(&w.org, &w.fac, Some(&w.owner), json!({"org_role": "admin"}))
        .await
        .ok("a role change");
    app.create_space(&w.org, &w.owner, "S3").await;
    let new = app
        .get_org_events(&w.org, None, &format!("?after={cursor}"))
        .await
        .ok("ask again after two changes");
    let kinds: Vec<&str> = new.items.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["member.role_changed", "space.created"]);

    // A filter keeps the cursor a position in the whole feed.
    let wanted = ["member.role_changed", "space.created"];
    let roles = app
        .get_org_events(
            &w.org,
            None,
            &format!("?types={}&limit=1", wanted.join(",")),
        )
        .await
        .ok("the first space or role event");
    let first = all.iter().find(|e| wanted.contains(&e.kind.as_str()));
    assert_eq!(Some(&roles.items[0]), first);
    let rest = app
        .get_org_events(&w.org, None, &format!("?after={}", roles.next_cursor))
        .await
        .ok("everything after it, unfiltered");
    let after_first = all
        .iter()
        .position(|e| e.id == roles.items[0].id)
        .expect("the filtered event is in the feed");
    assert_eq!(
        ids(&rest.items)[..all.len() - after_first - 1],
        ids(&all)[after_first + 1..],
        "a cursor from a filtered page goes on from the same place"
    );
    let by_id = app
        .get_org_events(&w.org, None, &format!("?after={}&limit=1", all[2].id))
        .await
        .ok("an event id as the cursor");
    assert_eq!(by_id.items[0].id, all[3].id);

    for query in [
        "?limit=0",
        "?limit=1001",
        "?types=member.flew_away",
        "?limit=x",
    ] {
        app.get_org_events(&w.org, None, query).await.problem(
            StatusCode::BAD_REQUEST,
            "validation_failed",
            query,
        );
    }
    app.get_org_events(&w.org, Some(&w.admin), "")
        .await
        .ok("an Admin reads the feed");
    app.get_org_events(&w.org, Some(&w.part), "").await.problem(
        StatusCode::FORBIDDEN,
        "forbidden",
        "a Participant reads the feed",
    );
    let token = app.token(&w.org, &w.owner).await.secret;
    let platform = app
        .call_with_token(Method::GET, "/v1/events", &token, None)
        .await;
    assert!(
        matches!(platform.status.as_u16(), 401 | 403),
        "an Owner's token reads the platform feed: {platform:?}"
    );
}

async fn the_platform_feed_holds_every_organization_and_filters_by_one(db: TestDb) {
    let app = spawn(db).await;
    let (a, a_owner) = app.create_org("A", "owner@a.test", None).await;
    let (b, b_owner) = app.create_org("B", "owner@b.test", None).await;
    app.create_space(&a, &a_owner, "A1").await;
    app.create_space(&b, &b_owner, "B1").await;
    app.create_space(&a, &a_owner, "A2").await;
    let expected = app.events(&a).await.len() + app.events(&b).await.len();
    let platform = caught_up(&app, expected).await;
    let of = |org: &OrgId| -> Vec<String> {
        platform
            .iter()
            .filter(|e| e.org_id.as_ref() == Some(org))
            .map(|e| e.id.clone())
            .collect()
    };
    assert_eq!(of(&a), ids(&app.events(&a).await), "A in its own order");
    assert_eq!(of(&b), ids(&app.events(&b).await), "B in its own order");
    assert_eq!(platform.len(), of(&a).len() + of(&b).len());
    let only_b = platform_feed(&app, &format!("&org_id={b}")).await;
    assert_eq!(ids(&only_b), of(&b), "org_id keeps one organization");
}

/// Writers in eight organizations on two replicas while a consumer pages
/// the platform feed: it sees each event once, none missing.
async fn the_platform_feed_under_concurrent_writers_on_two_replicas_is_seen_exactly_once(
    db: TestDb,
) {
    let a = Arc::new(spawn(db).await);
    let b = Arc::new(a.replica().await);
    let mut orgs = Vec::new();
    for n in 0..8 {
        orgs.push(
            a.create_org(&format!("Org {n}"), &format!("owner@{n}.test"), None)
                .await,
        );
    }
    let done = Arc::new(AtomicBool::new(false));
    let consumer = {
        let (b, done) = (b.clone(), done.clone());
        tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut cursor = String::new();
            loop {
                let finished = done.load(Ordering::SeqCst);
                let page = page(&b, &cursor, 7).await;
                let empty = page.items.is_empty();
                seen.extend(page.items);
                cursor = page.next_cursor;
                if empty {
                    if finished {
                        return (seen, cursor);
                    }
                    tokio::task::yield_now().await;
                }
            }
        })
    };
    let mut writers = Vec::new();
    for (n, (org, owner)) in orgs.iter().cloned().enumerate() {
        let replica = if n % 2 == 0 { a.clone() } else { b.clone() };
        writers.push(tokio::spawn(async move {
            for s in 0..6 {
                replica.create_space(&org, &owner, &format!("S{s}")).await;
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    let mut expected = Vec::new();
    for (org, _) in &orgs {
        expected.extend(ids(&a.events(org).await));
    }
    caught_up(&b, expected.len()).await;
    done.store(true, Ordering::SeqCst);
    let (seen, _) = consumer.await.unwrap();
    let seen = ids(&seen);
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no event seen twice");
    assert_eq!(
        crate::fixtures::sorted(seen),
        crate::fixtures::sorted(expected),
        "every event seen"
    );
}

/// One page of the platform feed after `cursor` ("" for the start).
async fn page(app: &TestApp, cursor: &str, limit: usize) -> EventPage {
    let after = if cursor.is_empty() {
        String::new()
    } else {
        format!("&after={cursor}")
    };
    app.get_platform_events(&format!("?limit={limit}{after}"))
        .await
        .ok("page the platform feed")
}

/// The whole platform feed once it holds `count` events: every event is
/// there within a second of its change (API.md "Events").
async fn caught_up(app: &TestApp, count: usize) -> Vec<EventView> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
    loop {
        let feed = platform_feed(app, "").await;
        if feed.len() >= count {
            return feed;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} of {count} events in the platform feed a second after the last change",
            feed.len()
        );
        tokio::task::yield_now().await;
    }
}

/// The whole platform feed; `filter` is "" or "&org_id=…".
async fn platform_feed(app: &TestApp, filter: &str) -> Vec<EventView> {
    let page = app
        .get_platform_events(&format!("?limit=1000{filter}"))
        .await
        .ok("read the platform feed");
    page.items
}

/// An organization's feed in pages of 3; answers the events and the last
/// cursor.
async fn drain(app: &TestApp, org: &OrgId) -> (Vec<EventView>, String) {
    let mut seen = Vec::new();
    let mut query = "?limit=3".to_owned();
    loop {
        let page = app
            .get_org_events(org, None, &query)
            .await
            .ok("page the feed");
        if page.items.is_empty() {
            return (seen, page.next_cursor);
        }
        seen.extend(page.items);
        query = format!("?limit=3&after={}", page.next_cursor);
    }
}

fn ids(events: &[EventView]) -> Vec<String> {
    events.iter().map(|e| e.id.clone()).collect()
}
