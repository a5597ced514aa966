//! The platform operator's views and the dev clock (API.md "Platform operator", "Time").

use reqwest::Method;
use roster_core::{OrgId, UserId};
use roster_server::http::platform::{ClockView, SweepView};
use roster_server::views::ForeverListView;
use serde_json::json;

use super::{Reply, TestApp, NO_CONTENT, OK};

impl TestApp {
    pub async fn get_forever_implementation_admins(
        &self,
        actor: Option<&UserId>,
    ) -> Reply<ForeverListView> {
        self.reply(
            OK,
            Method::GET,
            "/v1/platform/implementation-admins?duration=forever",
            actor,
            None,
        )
        .await
    }

    pub async fn post_review(
        &self,
        org: &OrgId,
        user: &UserId,
        actor: Option<&UserId>,
    ) -> Reply<()> {
        let path = format!("/v1/platform/implementation-admins/{org}/{user}/review");
        self.reply(NO_CONTENT, Method::POST, &path, actor, Some(json!({})))
            .await
    }

    /// Moves the dev clock `seconds` on; answers the server's new time.
    pub async fn advance(&self, seconds: i64) -> chrono::DateTime<chrono::Utc> {
        let clock: ClockView = self
            .post("/v1/dev/clock", None, json!({"advance_seconds": seconds}))
            .await
            .read(OK, "move the dev clock");
        clock.now.parse().unwrap()
    }

    /// The server's time.
    pub async fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.advance(0).await
    }

    /// Runs the background jobs once.
    pub async fn sweep(&self) -> SweepView {
        self.post("/v1/dev/sweep", None, json!({}))
            .await
            .read(OK, "run the jobs")
    }
}
