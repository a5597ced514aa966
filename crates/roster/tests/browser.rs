//! Runs the admin UI's end-to-end tests (ui-tests/, Debian's Chromium
//! driven by playwright-core) against this build of `roster`.
//!
//! They need Node.js, `npm ci` in ui-tests/ and /usr/bin/chromium; `.ci/run`
//! installs all three and sets ROSTER_REQUIRE_BROWSER=1, so in CI a missing
//! piece fails instead of skipping.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;

#[test]
fn the_admin_ui_passes_its_browser_tests() {
    let ui_tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui-tests");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let missing: Vec<&str> = [
        (
            Command::new("node").arg("--version").output().is_err(),
            "node",
        ),
        (
            !ui_tests.join("node_modules/playwright-core").exists(),
            "ui-tests/node_modules (npm ci)",
        ),
        (!Path::new(&chromium).exists(), "chromium"),
    ]
    .into_iter()
    .filter_map(|(absent, what)| absent.then_some(what))
    .collect();
    if !missing.is_empty() {
        assert!(
            std::env::var("ROSTER_REQUIRE_BROWSER").is_err(),
            "browser tests required but missing: {missing:?}"
        );
        println!("skipped: the browser tests need {missing:?}; .ci/run installs them");
        return;
    }
    let output = Command::new("node")
        .args(["--test", "--test-concurrency=1", "e2e.test.mjs"])
        .current_dir(&ui_tests)
        .env("ROSTER_BIN", env!("CARGO_BIN_EXE_roster"))
        .env("CHROMIUM", &chromium)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let summary: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("ok ") || l.starts_with("not ok ") || l.starts_with("# "))
        .collect();
    println!("{}", summary.join("\n"));
    assert!(
        output.status.success(),
        "browser tests failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
