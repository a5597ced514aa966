//! The audit log (API.md "Audit").

use reqwest::Method;
use roster_core::{OrgId, UserId};
use roster_server::views::{AuditEntryView, ChainCheckView, Page};

use super::{Reply, TestApp, OK};

impl TestApp {
    /// `query` is appended as is: "" or "?action=space.created".
    pub async fn get_audit(
        &self,
        org: &OrgId,
        actor: Option<&UserId>,
        query: &str,
    ) -> Reply<Page<AuditEntryView>> {
        let path = format!("/v1/orgs/{org}/audit{query}");
        self.reply(OK, Method::GET, &path, actor, None).await
    }

    pub async fn get_audit_verify(
        &self,
        org: &OrgId,
        actor: Option<&UserId>,
    ) -> Reply<ChainCheckView> {
        let path = format!("/v1/orgs/{org}/audit/verify");
        self.reply(OK, Method::GET, &path, actor, None).await
    }

    /// The whole audit log (up to 500 entries), oldest first.
    pub async fn audit(&self, org: &OrgId) -> Vec<AuditEntryView> {
        let page = self
            .get_audit(org, None, "?limit=500")
            .await
            .ok("read the audit log");
        assert!(page.next_cursor.is_none(), "more than 500 audit entries");
        page.items
    }
}
