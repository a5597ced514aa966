//! The audit log (API.md "Audit"): query, export, verify.

use roster_core::{Action, AuditAction, OrgId, Timestamp, UserId};
use roster_store::{AuditEntry, AuditFilter};

use super::{paginate, PageRequest};
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::state::AppState;
use crate::views::{AuditEntryView, AuditHeadView, ChainCheckView, Page};

/// `GET …/audit` filters; the page cursor is the `seq` of the last entry.
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    pub action: Option<AuditAction>,
    pub target_user_id: Option<UserId>,
    pub since: Option<Timestamp>,
    pub after_seq: i64,
}

/// Export formats (API.md: `format=jsonl|csv`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    JsonLines,
    Csv,
}

const CSV_COLUMNS: [&str; 12] = [
    "seq",
    "id",
    "at",
    "actor_kind",
    "actor_user_id",
    "trigger",
    "action",
    "target_user_id",
    "space_id",
    "details",
    "request_id",
    "hash",
];

/// One CSV cell, quoted when needed, and safe to open in a spreadsheet: a
/// cell that would start a formula is prefixed with `'` (SPEC §19).
fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

fn csv_line(e: &AuditEntryView) -> String {
    let details = e.details.to_string();
    let seq = e.seq.to_string();
    let or_empty = |v: Option<&str>| v.unwrap_or("").to_owned();
    let fields = [
        seq,
        e.id.clone(),
        e.at.clone(),
        e.actor.kind.as_str().to_owned(),
        or_empty(e.actor.user_id.as_ref().map(UserId::as_str)),
        e.trigger.as_str().to_owned(),
        e.action.as_str().to_owned(),
        or_empty(e.target_user_id.as_ref().map(UserId::as_str)),
        or_empty(e.space_id.as_ref().map(|s| s.as_str())),
        details,
        or_empty(e.request_id.as_deref()),
        e.hash.clone(),
    ];
    fields
        .iter()
        .map(|f| csv_field(f))
        .collect::<Vec<_>>()
        .join(",")
}

impl AppState {
    /// The newest entry's `seq` and `hash`, to anchor outside Roster.
    pub async fn audit_head(&self, caller: &Caller, org: &OrgId) -> ApiResult<AuditHeadView> {
        self.read_as(caller, org, Action::AuditView).await?;
        let (seq, hash) = self
            .store
            .audit_head(org)
            .await?
            .ok_or_else(|| crate::error::ApiError::not_found("organization"))?;
        Ok(AuditHeadView { seq, hash })
    }

    pub async fn audit(
        &self,
        caller: &Caller,
        org: &OrgId,
        query: &AuditQuery,
        page: &PageRequest,
    ) -> ApiResult<Page<AuditEntryView>> {
        self.read_as(caller, org, Action::AuditView).await?;
        let filter = AuditFilter {
            action: query.action,
            target_user_id: query.target_user_id.clone(),
            since: query.since,
            after_seq: query.after_seq,
            limit: page.limit as i64 + 1,
        };
        let entries = self.store.audit_entries(org, &filter).await?;
        let (entries, next_cursor) = paginate(entries, page.limit, |e| e.seq.to_string());
        Ok(Page {
            items: entries.iter().map(AuditEntryView::from).collect(),
            next_cursor,
        })
    }

    /// The whole log, oldest first, as JSON Lines or CSV.
    pub async fn export_audit(
        &self,
        caller: &Caller,
        org: &OrgId,
        format: ExportFormat,
    ) -> ApiResult<String> {
        self.read_as(caller, org, Action::AuditView).await?;
        let mut out = String::new();
        if format == ExportFormat::Csv {
            out.push_str(&CSV_COLUMNS.join(","));
            out.push('\n');
        }
        let mut after_seq = 0;
        loop {
            let filter = AuditFilter {
                after_seq,
                limit: 1000,
                ..Default::default()
            };
            let batch: Vec<AuditEntry> = self.store.audit_entries(org, &filter).await?;
            let Some(last) = batch.last() else { break };
            after_seq = last.seq;
            for entry in batch.iter().map(AuditEntryView::from) {
                match format {
                    ExportFormat::Csv => out.push_str(&csv_line(&entry)),
                    ExportFormat::JsonLines => {
                        out.push_str(&serde_json::to_string(&entry).unwrap_or_default())
                    }
                }
                out.push('\n');
            }
        }
        Ok(out)
    }

    /// The chain verifies; with an anchor (a head kept outside Roster),
    /// that entry is still there unchanged.
    pub async fn verify_audit(
        &self,
        caller: &Caller,
        org: &OrgId,
        anchor: Option<(i64, &str)>,
    ) -> ApiResult<ChainCheckView> {
        self.read_as(caller, org, Action::AuditView).await?;
        let check = match anchor {
            Some((seq, hash)) => self.store.verify_audit_anchor(org, seq, hash).await?,
            None => self.store.verify_audit(org).await?,
        };
        Ok(ChainCheckView {
            ok: check.ok,
            entries: check.entries,
            first_bad_seq: check.first_bad_seq,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn a_cell_that_would_start_a_formula_is_prefixed_with_a_quote() {
        for risky in ["=1+2", "+SUM(A1)", "-2", "@cmd", "\tx", "\rx"] {
            assert!(
                csv_field(risky).trim_start_matches('"').starts_with('\''),
                "{risky:?}"
            );
        }
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
    }
}
