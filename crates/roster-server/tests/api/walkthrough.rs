//! The README's curl walkthrough, run as written against the real server,
//! so the README cannot drift from what Roster does.

use reqwest::{Method, StatusCode};
use roster_server::http::decisions::DecisionView;

use crate::common::{openapi, spawn, sqlite, KEY};

fn readme_walkthrough() -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let block = readme
        .split("<!-- walkthrough:start -->")
        .nth(1)
        .and_then(|rest| rest.split("<!-- walkthrough:end -->").next())
        .expect("README.md has a walkthrough block");
    block
        .lines()
        .filter(|l| !l.starts_with("```"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_walkthrough_runs_and_answers_as_it_says() {
    let app = spawn(sqlite().await).await;
    let script = readme_walkthrough();
    let base = app.base.clone();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("bash")
            .args(["-euo", "pipefail", "-c", &script])
            .env("ROSTER", base)
            .env("ROSTER_KEY", KEY)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "walkthrough failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    // What the README shows are answers of POST /access/v1/evaluation.
    let answers: Vec<DecisionView> = stdout
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            openapi::check(
                &Method::POST,
                "/access/v1/evaluation",
                StatusCode::OK,
                Some("application/json"),
                l,
            )
            .unwrap_or_else(|mismatch| panic!("{mismatch}\n{l}"));
            serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))
        })
        .collect();
    assert_eq!(answers.len(), 2, "{stdout}");
    let reason = |d: &DecisionView| d.context.as_ref().map(|c| c.reason.clone());
    assert!(answers[0].decision);
    assert_eq!(reason(&answers[0]).as_deref(), Some("space_role_allows"));
    assert!(!answers[1].decision);
    assert_eq!(reason(&answers[1]).as_deref(), Some("no_org_role"));
    app.stop().await;
}
