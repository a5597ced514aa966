//! docs/integrating.md, run as written: every snippet against the real
//! server (shell with bash, Python with python3, TypeScript with Node.js
//! through ui-tests/run-ts.mjs), so the guide cannot drift from Roster.

use std::path::{Path, PathBuf};
use std::process::Command;

use roster_core::{OrgId, SpaceId, UserId};
use roster_server::views::{CapabilitiesView, IntrospectionView};
use serde_json::json;

use crate::common::client::active;
use crate::common::receiver::{Delivered, Receiver};
use crate::common::{spawn_with, sqlite, TestApp, KEY};

const DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/integrating.md");
const UI_TESTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../ui-tests");

/// The fenced block after `<!-- snippet:NAME -->`.
fn snippet(name: &str) -> String {
    let doc = std::fs::read_to_string(DOC).unwrap();
    let marker = format!("<!-- snippet:{name} -->");
    let after = doc
        .split(&marker)
        .nth(1)
        .unwrap_or_else(|| panic!("docs/integrating.md has no snippet {name}"));
    let block = after
        .split("```")
        .nth(1)
        .unwrap_or_else(|| panic!("snippet {name} is not a fenced block"));
    // Drop the language tag.
    block
        .split_once('\n')
        .map(|(_, code)| code)
        .unwrap_or("")
        .to_owned()
}

/// A world to run the guide against: an organization, a program, a coach
/// in it, and the revision of the last write.
struct World {
    app: TestApp,
    org: OrgId,
    owner: UserId,
    space: SpaceId,
    coach: UserId,
    revision: i64,
    dir: PathBuf,
}

impl World {
    async fn new() -> World {
        let app = spawn_with(sqlite().await, |c| c.webhook_allow_private = true).await;
        let (org, owner) = app.create_org("Acme", "owner@acme.test", None).await;
        let space = app.create_space(&org, &owner, "Leadership").await;
        let coach = app
            .add_member(
                &org,
                &owner,
                "coach@acme.test",
                "facilitator",
                &[&space],
                None,
            )
            .await;
        let renamed = app
            .patch_org(&org, Some(&owner), json!({"name": "Acme Coaching"}))
            .await;
        renamed.ok("a write of the host");
        let revision = renamed.revision();
        let dir = std::env::temp_dir().join(format!("roster-integrating-{org}"));
        std::fs::create_dir_all(&dir).unwrap();
        World {
            app,
            org,
            owner,
            space,
            coach,
            revision,
            dir,
        }
    }

    /// Runs `program args…` with the guide's variables and `extra`; answers
    /// its standard output, failing on a non-zero exit.
    async fn run(&self, program: &str, args: Vec<String>, extra: &[(&str, String)]) -> String {
        let mut command = Command::new(program);
        command
            .args(args)
            .current_dir(&self.dir)
            .env("ROSTER", &self.app.base)
            .env("ROSTER_KEY", KEY)
            .env("ORG_ID", self.org.as_str())
            .env("SPACE_ID", self.space.as_str())
            .env("USER_ID", self.coach.as_str())
            .env("REVISION", self.revision.to_string());
        for (name, value) in extra {
            command.env(name, value);
        }
        let output = tokio::task::spawn_blocking(move || command.output().unwrap())
            .await
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "{program} failed: {}\n{stdout}",
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
    }

    async fn bash(&self, code: &str, extra: &[(&str, String)]) -> String {
        let args = vec!["-euo".into(), "pipefail".into(), "-c".into(), code.into()];
        self.run("bash", args, extra).await
    }

    async fn python(&self, code: &str, extra: &[(&str, String)]) -> String {
        self.run("python3", vec!["-c".into(), code.into()], extra)
            .await
    }

    /// TypeScript through ui-tests/run-ts.mjs; `None` when Node.js or the
    /// TypeScript compiler (`npm ci` in ui-tests/) is missing.
    async fn typescript(&self, code: &str, extra: &[(&str, String)]) -> Option<String> {
        let runner = Path::new(UI_TESTS).join("run-ts.mjs");
        let compiler = Path::new(UI_TESTS).join("node_modules/typescript");
        let node = Command::new("node").arg("--version").output().is_ok();
        if !(node && compiler.exists()) {
            assert!(
                std::env::var("ROSTER_REQUIRE_BROWSER").is_err(),
                "the TypeScript snippets need Node.js and `npm ci` in ui-tests/"
            );
            println!(
                "skipped the TypeScript snippets: they need Node.js and `npm ci` in ui-tests/"
            );
            return None;
        }
        let file = self.dir.join(format!("snippet-{}.ts", code.len()));
        std::fs::write(&file, code).unwrap();
        let args = vec![runner.display().to_string(), file.display().to_string()];
        Some(self.run("node", args, extra).await)
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_decision_middleware_answers_as_the_guide_says() {
    let w = World::new().await;
    if let Some(out) = w.typescript(&snippet("decide-ts"), &[]).await {
        assert_eq!(out, "events.manage true\nbilling.view false\n");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capabilities_and_introspection_answer_as_the_guide_says() {
    let w = World::new().await;
    let out = w.bash(&snippet("capabilities-sh"), &[]).await;
    let capabilities: CapabilitiesView = serde_json::from_str(&out).unwrap();
    let program = capabilities
        .spaces
        .iter()
        .find(|s| s.space_id == w.space)
        .expect("the coach's program is listed");
    assert!(program
        .actions
        .iter()
        .any(|a| a.as_str() == "events.manage"));
    assert!(capabilities.admin_area.sections.is_empty(), "{out}");

    let token = w.app.token(&w.org, &w.coach).await.secret;
    let out = w
        .bash(&snippet("introspect-sh"), &[("TOKEN", token.clone())])
        .await;
    let introspection: IntrospectionView = serde_json::from_str(&out).unwrap();
    assert!(active(&introspection), "{out}");
    w.app
        .delete_member(&w.org, &w.coach, Some(&w.owner))
        .await
        .ok("remove the coach");
    let out = w.bash(&snippet("introspect-sh"), &[("TOKEN", token)]).await;
    let introspection: IntrospectionView = serde_json::from_str(&out).unwrap();
    assert!(!active(&introspection), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_feed_consumer_sees_each_event_once_across_runs() {
    let w = World::new().await;
    let feed = snippet("feed-py");
    let cursor = ("CURSOR_FILE", w.dir.join("cursor").display().to_string());
    let printed = |out: &str| -> Vec<String> {
        out.lines()
            .filter(|l| !l.starts_with("end sessions of"))
            .map(|l| l.split(' ').next().unwrap_or_default().to_owned())
            .collect()
    };
    let first = w.python(&feed, std::slice::from_ref(&cursor)).await;
    let kinds: Vec<String> = w
        .app
        .events(&w.org)
        .await
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(printed(&first), kinds, "the first run reads everything");
    let again = w.python(&feed, std::slice::from_ref(&cursor)).await;
    assert_eq!(again, "", "nothing twice");

    w.app
        .delete_member(&w.org, &w.coach, Some(&w.owner))
        .await
        .ok("remove the coach");
    let after = w.python(&feed, std::slice::from_ref(&cursor)).await;
    assert_eq!(
        after,
        format!(
            "end sessions of {}\nmember.removed {} {}\n",
            w.coach,
            w.org,
            w.app.org(&w.org).await.revision
        )
    );
}

/// A real delivery with the secret that signed it, for the verifiers.
async fn delivery(
    w: &World,
    receiver: &Receiver,
    secrets: &mut Vec<String>,
    n: usize,
) -> Delivered {
    let hooks = "/v1/webhooks";
    if secrets.is_empty() {
        let created = w
            .app
            .post_webhook(hooks, None, json!({"url": receiver.url}))
            .await
            .ok("register");
        secrets.push(created.secret);
    }
    let id = w.app.get_webhooks(hooks, None).await.ok("list").items[0]
        .id
        .clone();
    w.app.test_webhook(hooks, &id, None).await.ok("test");
    receiver.wait_for(n).await.remove(n - 1)
}

fn verifier_input(secret: &str, d: &Delivered) -> (&'static str, String) {
    let input = json!({
        "secret": secret,
        "headers": {
            "webhook-id": d.id,
            "webhook-timestamp": d.timestamp,
            "webhook-signature": d.signature,
        },
        "body": String::from_utf8(d.raw.clone()).unwrap(),
    });
    ("WEBHOOK", input.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_signature_checks_accept_what_roster_signs_and_nothing_else() {
    let w = World::new().await;
    let receiver = Receiver::start().await;
    let mut secrets = Vec::new();
    let first = delivery(&w, &receiver, &mut secrets, 1).await;
    let python = format!(
        "{}\nimport json, os\ni = json.loads(os.environ['WEBHOOK'])\n\
         print(verify_webhook(i['secret'], i['headers'], i['body'].encode()), \
         verify_webhook(i['secret'], i['headers'], i['body'].encode() + b' '))\n",
        snippet("verify-py")
    );
    let typescript = format!(
        "{}\nconst i = JSON.parse(process.env.WEBHOOK!);\n\
         console.log(verifyWebhook(i.secret, i.headers, i.body), verifyWebhook(i.secret, i.headers, i.body + \" \"));\n",
        snippet("verify-ts")
    );
    let check = |secret: String, delivered: Delivered| {
        let (python, typescript, w) = (&python, &typescript, &w);
        async move {
            let input = verifier_input(&secret, &delivered);
            let py = w.python(python, std::slice::from_ref(&input)).await;
            assert_eq!(
                py, "True False\n",
                "Python: the body as signed, then altered"
            );
            if let Some(ts) = w.typescript(typescript, std::slice::from_ref(&input)).await {
                assert_eq!(
                    ts, "true false\n",
                    "TypeScript: the body as signed, then altered"
                );
            }
        }
    };
    check(secrets[0].clone(), first.clone()).await;
    let mut wrong = first.clone();
    wrong.signature = first.signed_with("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    let input = verifier_input(&secrets[0], &wrong);
    let py = w.python(&python, std::slice::from_ref(&input)).await;
    assert_eq!(py, "False False\n", "another secret's signature");

    // During a rotation both secrets verify.
    let id = w
        .app
        .get_webhooks("/v1/webhooks", None)
        .await
        .ok("list")
        .items[0]
        .id
        .clone();
    let new = w
        .app
        .rotate_webhook_secret("/v1/webhooks", &id, None)
        .await
        .ok("rotate")
        .secret;
    let rotated = delivery(&w, &receiver, &mut secrets, 2).await;
    check(new, rotated.clone()).await;
    check(secrets[0].clone(), rotated).await;
}
