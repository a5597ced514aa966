//! The event feeds (API.md "Events").

use reqwest::Method;
use roster_core::{OrgId, UserId};
use roster_server::views::{EventPage, EventTypesView, EventView};

use super::{Reply, TestApp, OK};

impl TestApp {
    /// `query` is appended as is: "" or "?after=…&limit=…".
    pub async fn get_org_events(
        &self,
        org: &OrgId,
        actor: Option<&UserId>,
        query: &str,
    ) -> Reply<EventPage> {
        let path = format!("/v1/orgs/{org}/events{query}");
        self.reply(OK, Method::GET, &path, actor, None).await
    }

    /// The platform feed; `query` as for [`TestApp::get_org_events`].
    pub async fn get_platform_events(&self, query: &str) -> Reply<EventPage> {
        let path = format!("/v1/events{query}");
        self.reply(OK, Method::GET, &path, None, None).await
    }

    pub async fn get_event_types(&self) -> Reply<EventTypesView> {
        self.reply(OK, Method::GET, "/v1/event-types", None, None)
            .await
    }

    /// An organization's whole feed (up to 1000 events), oldest first.
    pub async fn events(&self, org: &OrgId) -> Vec<EventView> {
        let page = self
            .get_org_events(org, None, "?limit=1000")
            .await
            .ok("read the organization's feed");
        assert!(page.items.len() < 1000, "more than 999 events");
        page.items
    }
}
