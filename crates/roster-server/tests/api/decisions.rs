//! Decisions (API.md "Decisions", AuthZEN Authorization API 1.0): batches,
//! explanations, freshness, who may ask, resource search, metadata.

use reqwest::{Method, StatusCode};
use roster_core::{SpaceId, UserId};
use roster_server::http::decisions::{BatchAnswer, DecisionView};
use roster_testkit::{on_both_backends, TestDb};
use serde_json::{json, Value};

use crate::common::{send, spawn};
use crate::fixtures::{sorted, space_world};

on_both_backends!(
    batch_evaluations_use_top_level_defaults_with_per_item_overrides_and_stop_early_when_asked,
    an_evaluation_explains_itself_honours_at_least_refuses_unknown_actions_and_echoes_the_request_id,
    a_user_token_asks_only_about_its_owner_and_resource_search_pages_through_spaces,
    subject_search_lists_the_active_members_who_may_and_pages_through_them,
    action_search_answers_what_the_capabilities_show_for_a_space_and_the_decisions_elsewhere,
    a_batch_is_decided_at_one_instant_even_while_the_clock_passes_an_end,
);

/// The decisions of a batch answered as a list.
fn decisions(answer: &BatchAnswer) -> Vec<bool> {
    match answer {
        BatchAnswer::Many(many) => many.evaluations.iter().map(|d| d.decision).collect(),
        BatchAnswer::One(one) => panic!("one decision where a list was asked for: {one:?}"),
    }
}

async fn batch_evaluations_use_top_level_defaults_with_per_item_overrides_and_stop_early_when_asked(
    db: TestDb,
) {
    let app = spawn(db).await;
    let w = space_world(&app).await;
    let org = &w.org;
    let s1 = json!({"type": "space", "id": w.s1, "properties": {"org_id": org}});
    let s2 = json!({"type": "space", "id": w.s2, "properties": {"org_id": org}});
    let fac = json!({"type": "user", "id": w.fac});
    let part = json!({"type": "user", "id": w.part});
    let batch = app
        .evaluations(
            None,
            json!({
                "subject": fac, "action": {"name": "events.manage"}, "resource": s1,
                "evaluations": [
                    {},
                    {"action": {"name": "members.manage"}},
                    {"subject": part},
                    {"resource": s2},
                    {"subject": {"type": "user", "id": w.owner}, "action": {"name": "members.invite"}, "resource": {"type": "organization", "id": org}},
                ],
            }),
        )
        .await
        .ok("a batch");
    assert_eq!(decisions(&batch), vec![true, false, false, false, true]);

    let items = json!([
        {"action": {"name": "space.view"}},
        {"action": {"name": "members.manage"}},
        {"action": {"name": "events.manage"}},
    ]);
    let batch = |semantic: Option<&str>| {
        let mut body = json!({"subject": fac, "resource": s1, "evaluations": items});
        if let Some(s) = semantic {
            body["options"] = json!({"evaluations_semantic": s});
        }
        body
    };
    let answer = app
        .evaluations(None, batch(None))
        .await
        .ok("execute_all by default");
    assert_eq!(
        decisions(&answer),
        vec![true, false, true],
        "execute_all by default"
    );
    let BatchAnswer::Many(many) = &answer else {
        unreachable!()
    };
    assert!(
        many.evaluations.iter().all(|d| d.context.is_none()),
        "no explanation unless asked: {many:?}"
    );
    let answer = app
        .evaluations(None, batch(Some("execute_all")))
        .await
        .ok("execute_all");
    assert_eq!(decisions(&answer).len(), 3);
    let answer = app
        .evaluations(None, batch(Some("deny_on_first_deny")))
        .await
        .ok("deny_on_first_deny");
    assert_eq!(
        decisions(&answer),
        vec![true, false],
        "stops at the first deny"
    );
    let items = json!([
        {"action": {"name": "members.manage"}},
        {"action": {"name": "events.manage"}},
        {"action": {"name": "activity.create"}},
    ]);
    let answer = app
        .evaluations(
            None,
            json!({"subject": fac, "resource": s1, "evaluations": items, "options": {"evaluations_semantic": "permit_on_first_permit"}}),
        )
        .await
        .ok("permit_on_first_permit");
    assert_eq!(
        decisions(&answer),
        vec![false, true],
        "stops at the first permit"
    );
    app.evaluations(
        None,
        json!({"subject": fac, "resource": s1, "evaluations": items, "options": {"evaluations_semantic": "whatever"}}),
    )
    .await
    .problem(
        StatusCode::BAD_REQUEST,
        "validation_failed",
        "an unknown semantic",
    );
    app.evaluations(
        None,
        json!({"subject": fac, "resource": s1, "evaluations": [{"action": {"name": "space.view"}}, {"action": {"name": "space.fly"}}]}),
    )
    .await
    .problem(
        StatusCode::BAD_REQUEST,
        "validation_failed",
        "an unknown action in a batch",
    );
    app.stop().await;
}

async fn an_evaluation_explains_itself_honours_at_least_refuses_unknown_actions_and_echoes_the_request_id(
    db: TestDb,
) {
    let app = spawn(db).await;
    let w = space_world(&app).await;
    let org = &w.org;
    let ask = |user: &UserId, action: &str, resource: Value, context: Option<Value>| {
        let mut body = json!({"subject": {"type": "user", "id": user}, "action": {"name": action}, "resource": resource});
        if let Some(c) = context {
            body["context"] = c;
        }
        body
    };
    let s1 = json!({"type": "space", "id": w.s1, "properties": {"org_id": org}});
    let d = app
        .evaluation(None, ask(&w.fac, "events.manage", s1.clone(), None))
        .await
        .ok("an evaluation");
    assert!(d.decision);
    assert!(d.context.is_none(), "no explanation unless asked: {d:?}");
    let explain = Some(json!({"explain": true}));
    let allow = app
        .evaluation(
            None,
            ask(&w.fac, "events.manage", s1.clone(), explain.clone()),
        )
        .await
        .ok("an explained allow");
    assert!(allow.decision);
    let allow_reason = allow
        .context
        .unwrap_or_else(|| panic!("no reason for the allow"))
        .reason;
    assert!(!allow_reason.is_empty());
    let deny = app
        .evaluation(None, ask(&w.sponsor, "feed.post", s1.clone(), explain))
        .await
        .ok("an explained deny");
    assert!(!deny.decision);
    let deny_reason = deny
        .context
        .unwrap_or_else(|| panic!("no reason for the deny"))
        .reason;
    assert_ne!(allow_reason, deny_reason, "different rules decided");

    // The revision of a write, asked for at least, sees the write.
    let added = app
        .put_space_member(&w.org, &w.s2, &w.part, Some(&w.owner), "participant")
        .await;
    added.ok("add the participant to S2");
    let revision = added.revision();
    let s2 = json!({"type": "space", "id": w.s2, "properties": {"org_id": org}});
    let d = app
        .evaluation(
            None,
            ask(
                &w.part,
                "space.view",
                s2,
                Some(json!({"at_least": revision})),
            ),
        )
        .await
        .ok("at_least");
    assert!(d.decision, "the write is seen");

    app.evaluation(None, ask(&w.fac, "events.teleport", s1.clone(), None))
        .await
        .problem(
            StatusCode::BAD_REQUEST,
            "validation_failed",
            "an unknown action",
        );
    app.evaluation(
        None,
        json!({"action": {"name": "space.view"}, "resource": s1}),
    )
    .await
    .problem(StatusCode::BAD_REQUEST, "validation_failed", "no subject");

    let traced = app
        .platform(Method::POST, "/access/v1/evaluation", None)
        .header("X-Request-ID", "decide-42")
        .json(&ask(&w.fac, "space.view", s1.clone(), None));
    let a = send(traced).await;
    let _: DecisionView = a.read(StatusCode::OK, "with a request id");
    assert_eq!(a.header("x-request-id"), "decide-42");
    app.stop().await;
}

async fn a_user_token_asks_only_about_its_owner_and_resource_search_pages_through_spaces(
    db: TestDb,
) {
    let app = spawn(db).await;
    let w = space_world(&app).await;
    let org = &w.org;
    let secret = app.token(org, &w.part).await.secret;
    let about = |user: &UserId| json!({"subject": {"type": "user", "id": user}, "action": {"name": "space.view"}, "resource": {"type": "space", "id": w.s1, "properties": {"org_id": org}}});
    let d: DecisionView = app
        .call_with_token(
            Method::POST,
            "/access/v1/evaluation",
            &secret,
            Some(about(&w.part)),
        )
        .await
        .read(StatusCode::OK, "a token asks about its owner");
    assert!(d.decision);
    app.call_with_token(
        Method::POST,
        "/access/v1/evaluation",
        &secret,
        Some(about(&w.fac)),
    )
    .await
    .problem(
        StatusCode::FORBIDDEN,
        "forbidden",
        "a token asks about someone else",
    );
    let (org_b, _) = app
        .create_org("Elsewhere", "owner@elsewhere.test", None)
        .await;
    let mut elsewhere = about(&w.part);
    elsewhere["resource"]["properties"]["org_id"] = json!(org_b);
    app.call_with_token(
        Method::POST,
        "/access/v1/evaluation",
        &secret,
        Some(elsewhere),
    )
    .await
    .problem(
        StatusCode::FORBIDDEN,
        "forbidden",
        "a token asks about its owner in another organization",
    );
    app.evaluation(Some(&w.part), about(&w.fac)).await.problem(
        StatusCode::FORBIDDEN,
        "forbidden",
        "acting as a user, asking about someone else",
    );
    app.call_with_token(
        Method::POST,
        "/access/v1/evaluations",
        &secret,
        Some(json!({"evaluations": [about(&w.part), about(&w.fac)]})),
    )
    .await
    .problem(
        StatusCode::FORBIDDEN,
        "forbidden",
        "a batch about someone else",
    );

    let s3 = app.create_space(org, &w.owner, "S3").await;
    let all = sorted(vec![w.s1.clone(), w.s2.clone(), s3]);
    let search = |token: Option<&str>| {
        let mut page = json!({"limit": 2});
        if let Some(t) = token {
            page["token"] = json!(t);
        }
        json!({"subject": {"type": "user", "id": w.owner}, "action": {"name": "space.view"}, "resource": {"type": "space", "properties": {"org_id": org}}, "page": page})
    };
    let found = app
        .search_resource(search(None))
        .await
        .ok("search, first page");
    assert_eq!(found.results.len(), 2, "{found:?}");
    assert!(found.results.iter().all(|r| r.kind == "space"), "{found:?}");
    let next = found.page.next_token.clone();
    assert!(!next.is_empty(), "more pages: {found:?}");
    let mut seen: Vec<SpaceId> = found.results.iter().map(|r| r.id.clone()).collect();
    let found = app
        .search_resource(search(Some(&next)))
        .await
        .ok("search, second page");
    assert_eq!(found.results.len(), 1, "{found:?}");
    assert_eq!(found.page.next_token, "", "the last page");
    seen.extend(found.results.iter().map(|r| r.id.clone()));
    assert_eq!(sorted(seen), all, "every space once");
    let mut exact = search(None);
    exact["page"]["limit"] = json!(3);
    let found = app.search_resource(exact).await.ok("a full last page");
    assert_eq!(
        (found.results.len(), found.page.next_token.as_str()),
        (3, ""),
        "a full last page: {found:?}"
    );
    let mut zero = search(None);
    zero["page"]["limit"] = json!(0);
    app.search_resource(zero).await.problem(
        StatusCode::BAD_REQUEST,
        "validation_failed",
        "page.limit 0",
    );
    // Only the spaces the subject may act in.
    let found = app
        .search_resource(json!({"subject": {"type": "user", "id": w.fac}, "action": {"name": "events.manage"}, "resource": {"type": "space", "properties": {"org_id": org}}}))
        .await
        .ok("search for a Facilitator");
    let results: Vec<(&str, &SpaceId)> = found
        .results
        .iter()
        .map(|r| (r.kind.as_str(), &r.id))
        .collect();
    assert_eq!(results, vec![("space", &w.s1)]);
    assert_eq!(found.page.next_token, "");

    let metadata = app.authzen_configuration().await;
    assert_eq!(metadata.policy_decision_point, app.base);
    assert_eq!(
        metadata.access_evaluation_endpoint,
        format!("{}/access/v1/evaluation", app.base)
    );
    assert_eq!(
        metadata.access_evaluations_endpoint,
        format!("{}/access/v1/evaluations", app.base)
    );
    for (advertised, path) in [
        (&metadata.search_resource_endpoint, "resource"),
        (&metadata.search_subject_endpoint, "subject"),
        (&metadata.search_action_endpoint, "action"),
    ] {
        assert_eq!(advertised, &format!("{}/access/v1/search/{path}", app.base));
    }
    app.stop().await;
}

async fn subject_search_lists_the_active_members_who_may_and_pages_through_them(db: TestDb) {
    let app = spawn(db).await;
    let w = space_world(&app).await;
    let ask = |action: &str, resource: Value, page: Value| {
        let mut resource = resource;
        resource["properties"]["org_id"] = json!(w.org);
        json!({"subject": {"type": "user"}, "action": {"name": action}, "resource": resource, "page": page})
    };
    let space = json!({"type": "space", "id": w.s1});
    // Every active member who may, checked one by one against the decisions.
    let everyone = [
        &w.owner,
        &w.admin,
        &w.pa,
        &w.fac,
        &w.part,
        &w.sponsor,
        &w.admin_fac,
        &w.other,
    ];
    for action in ["events.manage", "space.view", "feed.post", "billing.view"] {
        let found = app
            .search_subject(None, ask(action, space.clone(), json!({})))
            .await
            .ok(action);
        assert_eq!(found.page.next_token, "");
        assert!(found.results.iter().all(|r| r.kind == "user"));
        let ids: Vec<&UserId> = found.results.iter().map(|r| &r.id).collect();
        let mut expected = Vec::new();
        for user in everyone {
            if app.decide(&w.org, user, action, space.clone()).await {
                expected.push(user);
            }
        }
        assert_eq!(ids, sorted(expected), "{action} in S1");
    }
    let runners = app
        .search_subject(None, ask("events.manage", space.clone(), json!({})))
        .await
        .ok("who runs events in S1");
    assert!(runners.results.iter().any(|r| r.id == w.fac));
    assert!(!runners
        .results
        .iter()
        .any(|r| r.id == w.part || r.id == w.other));

    // A deactivated member is no longer listed.
    app.deactivate(&w.org, &w.fac, Some(&w.owner))
        .await
        .ok("deactivate the Facilitator");
    let runners = app
        .search_subject(None, ask("events.manage", space.clone(), json!({})))
        .await
        .ok("after the deactivation");
    assert!(!runners.results.iter().any(|r| r.id == w.fac));

    // Pages of two, each member once.
    let viewers = app
        .search_subject(None, ask("space.view", space.clone(), json!({})))
        .await
        .ok("every viewer")
        .results;
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = app
            .search_subject(
                None,
                ask(
                    "space.view",
                    space.clone(),
                    json!({"limit": 2, "token": token}),
                ),
            )
            .await
            .ok("a page of viewers");
        seen.extend(page.results);
        if page.page.next_token.is_empty() {
            break;
        }
        token = page.page.next_token;
    }
    assert_eq!(seen, viewers);

    app.search_subject(Some(&w.owner), ask("space.view", space.clone(), json!({})))
        .await
        .problem(
            StatusCode::FORBIDDEN,
            "forbidden",
            "acting as a member, listing others",
        );
    let secret = app.token(&w.org, &w.owner).await.secret;
    app.call_with_token(
        Method::POST,
        "/access/v1/search/subject",
        &secret,
        Some(ask("space.view", space.clone(), json!({}))),
    )
    .await
    .problem(StatusCode::FORBIDDEN, "forbidden", "a token lists others");
    for (bad, what) in [
        (
            ask("space.fly", space.clone(), json!({})),
            "an unknown action",
        ),
        (
            ask("space.view", space.clone(), json!({"token": "usr_nope"})),
            "a forged token",
        ),
        (
            ask("space.view", space.clone(), json!({"limit": 1001})),
            "a page too long",
        ),
        (
            ask(
                "space.view",
                json!({"type": "planet", "id": "x"}),
                json!({}),
            ),
            "an unknown resource type",
        ),
    ] {
        app.search_subject(None, bad).await.problem(
            StatusCode::BAD_REQUEST,
            "validation_failed",
            what,
        );
    }
}

async fn action_search_answers_what_the_capabilities_show_for_a_space_and_the_decisions_elsewhere(
    db: TestDb,
) {
    let app = spawn(db).await;
    let w = space_world(&app).await;
    let ask = |user: &UserId, resource: Value| {
        let mut resource = resource;
        resource["properties"]["org_id"] = json!(w.org);
        json!({"subject": {"type": "user", "id": user}, "resource": resource})
    };
    for user in [&w.owner, &w.pa, &w.fac, &w.part, &w.sponsor] {
        let capabilities = app
            .get_capabilities(&w.org, user, None)
            .await
            .ok("capabilities");
        let in_s1: Vec<String> = capabilities
            .spaces
            .iter()
            .find(|s| s.space_id == w.s1)
            .map(|s| s.actions.iter().map(|a| a.as_str().to_owned()).collect())
            .unwrap_or_default();
        let found = app
            .search_action(None, ask(user, json!({"type": "space", "id": w.s1})))
            .await
            .ok("what may they do in S1");
        let names: Vec<String> = found.results.into_iter().map(|r| r.name).collect();
        assert_eq!(names, sorted(in_s1), "S1 actions of {user}");

        let on_org = app
            .search_action(
                None,
                ask(user, json!({"type": "organization", "id": w.org})),
            )
            .await
            .ok("what may they do in the organization");
        for action in roster_core::Action::ALL {
            let allowed = app
                .decide(
                    &w.org,
                    user,
                    action.as_str(),
                    json!({"type": "organization", "id": w.org}),
                )
                .await;
            let listed = on_org.results.iter().any(|r| r.name == action.as_str());
            assert_eq!(listed, allowed, "{action:?} on the organization for {user}");
        }
    }
    let page = app
        .search_action(
            None,
            json!({"subject": {"type": "user", "id": w.owner}, "resource": {"type": "organization", "id": w.org}, "page": {"limit": 3}}),
        )
        .await
        .ok("three at a time");
    assert_eq!(page.results.len(), 3);
    let rest = app
        .search_action(
            None,
            json!({"subject": {"type": "user", "id": w.owner}, "resource": {"type": "organization", "id": w.org}, "page": {"token": page.page.next_token}}),
        )
        .await
        .ok("the rest");
    assert!(rest.results.iter().all(|r| r.name > page.results[2].name));
    app.search_action(
        Some(&w.part),
        ask(&w.part, json!({"type": "space", "id": w.s1})),
    )
    .await
    .ok("a member asks what they may do");
    app.search_action(
        Some(&w.part),
        ask(&w.owner, json!({"type": "space", "id": w.s1})),
    )
    .await
    .problem(
        StatusCode::FORBIDDEN,
        "forbidden",
        "a member asks about someone else",
    );
}

/// A batch is decided at one instant: while the dev clock moves past an
/// Implementation Admin's end, each batch about them answers all yes or
/// all no, never some of each. Ten assignments ending 30 s apart (the dev
/// clock also runs with real time) give ten crossings, each raced by
/// batches of 1000 questions.
async fn a_batch_is_decided_at_one_instant_even_while_the_clock_passes_an_end(db: TestDb) {
    let app = spawn(db).await;
    let (org, owner) = app.create_org("Instant", "owner@instant.test", None).await;
    app.put_domains(&org, None, &["upcoach.com"])
        .await
        .ok("allow upcoach.com");
    app.put_ia_setting(&org, Some(&owner), json!({"enabled": true}))
        .await
        .ok("turn the role on");
    let mut helpers = Vec::new();
    for i in 0..10 {
        let email = format!("helper{i}@upcoach.com");
        let ia = app
            .add_member(
                &org,
                &owner,
                &email,
                "implementation_admin",
                &[],
                Some("1_month"),
            )
            .await;
        helpers.push(ia);
        app.advance(30).await;
    }
    let mut ends = Vec::new();
    for ia in &helpers {
        let end: chrono::DateTime<chrono::Utc> = app
            .member(&org, ia)
            .await
            .implementation_admin
            .and_then(|assignment| assignment.expires_at)
            .unwrap_or_else(|| panic!("a month has an end"))
            .parse()
            .unwrap();
        ends.push(end);
    }
    for (ia, ends) in helpers.iter().zip(ends) {
        // Ten seconds before the end: the dev clock runs on with real time,
        // and a loaded machine may take a while to ask.
        app.advance((ends - app.now().await).num_seconds() - 10)
            .await;
        let question = json!({
            "subject": {"type": "user", "id": ia},
            "action": {"name": "members.view"},
            "resource": {"type": "organization", "id": org},
            "evaluations": vec![json!({}); 1000],
        });
        let before = app.evaluations(None, question.clone()).await.ok("a batch");
        assert!(decisions(&before).iter().all(|d| *d), "in before the end");
        let batches = async {
            let mut seen = Vec::new();
            loop {
                let batch = app.evaluations(None, question.clone()).await.ok("a batch");
                let answers = decisions(&batch);
                let allowed = answers.iter().filter(|d| **d).count();
                assert!(
                    allowed == 0 || allowed == answers.len(),
                    "one batch decided at two instants: {allowed} of {} allowed",
                    answers.len()
                );
                seen.push(allowed > 0);
                if allowed == 0 {
                    return seen;
                }
            }
        };
        let (seen, _) = tokio::join!(batches, app.advance(10));
        assert_eq!(seen.last(), Some(&false), "out after the end: {seen:?}");
    }
    app.stop().await;
}
