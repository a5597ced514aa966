//! The README's curl walkthrough, run as written against the real server,
//! so the README cannot drift from what Roster does.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use serde_json::Value;

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
    let app = common::spawn(common::Backend::Sqlite).await.unwrap();
    let script = readme_walkthrough();
    let base = app.base.clone();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("bash")
            .args(["-euo", "pipefail", "-c", &script])
            .env("ROSTER", base)
            .env("ROSTER_KEY", common::KEY)
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
    let answers: Vec<Value> = stdout
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(answers.len(), 2, "{stdout}");
    assert_eq!(answers[0]["decision"], true);
    assert_eq!(answers[0]["context"]["reason"], "space_role_allows");
    assert_eq!(answers[1]["decision"], false);
    assert_eq!(answers[1]["context"]["reason"], "no_org_role");
    app.stop().await;
}
