//! Times an `add` import of N people (default 10,000) into a fresh
//! organization, through the same use case as `POST …/members/import`.
//!
//! `cargo run --release -p roster-server --example import_bench -- [N] [DATABASE_URL]`
//! (default: a fresh SQLite file in a temporary folder).

use std::time::Instant;

use roster_core::import::{ImportMode, ImportRow, SpaceRef};
use roster_core::{Email, Name, OrgRole, SpaceRole};
use roster_server::app::orgs::NewOrg;
use roster_server::app::{Ctx, RequestId};
use roster_server::auth::Caller;
use roster_server::Config;

#[tokio::main]
async fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let people: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(10_000);
    let dir = std::env::temp_dir().join(format!("roster-import-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let url = args
        .next()
        .unwrap_or_else(|| format!("sqlite://{}", dir.join("roster.db").display()));
    let config = Config::from_lookup(|k| match k {
        "ROSTER_DATABASE_URL" => Some(url.clone()),
        "ROSTER_PLATFORM_KEY" => Some("bench".into()),
        _ => None,
    })?;
    let (app, _) = roster_server::prepare(config).await?;
    let ctx = Ctx {
        caller: Caller::Platform,
        request_id: RequestId("bench".into()),
    };
    let name = |n: &str| Name::parse("name", n).map_err(|e| e.to_string());
    let org = app
        .create_org(
            &ctx.caller,
            None,
            NewOrg {
                name: name("Import bench")?,
                owner_email: Email::parse("owner@bench.example").map_err(|e| e.to_string())?,
                owner_name: None,
                seat_limit: None,
            },
        )
        .await
        .map_err(|e| e.detail)?
        .value;
    let owner = org.owner.clone().ok_or("no owner")?.user_id;
    let as_owner = Ctx {
        caller: Caller::PlatformAs(owner),
        request_id: RequestId("bench".into()),
    };
    for program in ["Alpha", "Beta", "Gamma"] {
        app.create_space(&as_owner, &org.id, name(program)?)
            .await
            .map_err(|e| e.detail)?;
    }
    let rows: Vec<ImportRow> = (0..people)
        .map(|i| ImportRow {
            row: i + 1,
            email: format!("person{i}@bench.example"),
            name: Some(format!("Person {i}")),
            org_role: (i % 100 == 0).then_some(OrgRole::Admin),
            space_roles: vec![(
                SpaceRef::Name(["Alpha", "Beta", "Gamma"][i % 3].into()),
                if i % 10 == 0 {
                    SpaceRole::Facilitator
                } else {
                    SpaceRole::Participant
                },
            )],
            ..ImportRow::default()
        })
        .collect();
    let started = Instant::now();
    let done = app
        .import(&ctx, &org.id, ImportMode::Add, false, rows)
        .await
        .map_err(|e| format!("{} {:?}", e.detail, e.extra))?;
    let elapsed = started.elapsed();
    println!(
        "{} people imported (add) in {:.2} s on {}",
        done.value.created.len(),
        elapsed.as_secs_f64(),
        if url.starts_with("sqlite") {
            "SQLite"
        } else {
            "PostgreSQL"
        }
    );
    app.store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
