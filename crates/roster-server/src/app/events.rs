//! The event feeds (API.md "Events"): an organization's (`audit.view` or
//! the platform key) and the whole platform's (the platform key).

use roster_core::{Action, AuditAction, EventType, OrgId};
use roster_store::{FeedItem, FeedQuery};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::views::{EventPage, EventTypesView, EventView};

/// `GET …/events` parameters, parsed.
#[derive(Clone, Debug, Default)]
pub struct EventsQuery {
    pub after: Option<String>,
    pub types: Vec<EventType>,
    pub limit: usize,
}

impl EventsQuery {
    pub const DEFAULT_LIMIT: usize = 100;
    pub const MAX_LIMIT: usize = 1000;

    /// The feed query; `None` when only `webhook.test` was asked for,
    /// which no feed holds.
    fn feed(&self, after: i64) -> Option<FeedQuery> {
        let types: Vec<AuditAction> = self
            .types
            .iter()
            .filter_map(|t| match t {
                EventType::Change(action) => Some(*action),
                EventType::Test => None,
            })
            .collect();
        if types.is_empty() && !self.types.is_empty() {
            return None;
        }
        Some(FeedQuery {
            types,
            after,
            limit: self.limit as i64,
        })
    }
}

fn bad_cursor() -> ApiError {
    ApiError::invalid(
        "after",
        "after is a cursor this server gave out, or an event id",
    )
}

fn page(items: Vec<FeedItem>, place: impl Fn(&FeedItem) -> Option<i64>, after: i64) -> EventPage {
    let next = items.last().and_then(&place).unwrap_or(after);
    EventPage {
        items: items.iter().map(|i| EventView::from(&i.event)).collect(),
        next_cursor: next.to_string(),
    }
}

impl AppState {
    /// Where `after` points: a number from an earlier page, or an event id
    /// (placed by `place`).
    async fn cursor(
        &self,
        after: Option<&str>,
        place: impl Fn(&FeedItem) -> Option<i64>,
    ) -> ApiResult<i64> {
        match after.map(str::trim).filter(|a| !a.is_empty()) {
            None => Ok(0),
            Some(id) if id.starts_with("evt_") => {
                let item = self.store.event(id).await?.ok_or_else(bad_cursor)?;
                place(&item).ok_or_else(bad_cursor)
            }
            Some(number) => number
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(bad_cursor),
        }
    }

    pub async fn org_events(
        &self,
        caller: &Caller,
        org: &OrgId,
        query: &EventsQuery,
    ) -> ApiResult<EventPage> {
        self.read_as(caller, org, Action::AuditView).await?;
        let in_org = |item: &FeedItem| (item.event.org_id == *org).then_some(item.seq);
        let after = self.cursor(query.after.as_deref(), in_org).await?;
        let items = match query.feed(after) {
            Some(feed) => self.store.org_events(org, &feed).await?,
            None => Vec::new(),
        };
        Ok(page(items, |i| Some(i.seq), after))
    }

    pub async fn platform_events(
        &self,
        caller: &Caller,
        org: Option<&OrgId>,
        query: &EventsQuery,
    ) -> ApiResult<EventPage> {
        caller.require_platform()?;
        let after = self.cursor(query.after.as_deref(), |i| i.position).await?;
        let items = match query.feed(after) {
            Some(feed) => self.store.platform_events(org, &feed).await?,
            None => Vec::new(),
        };
        Ok(page(items, |i| i.position, after))
    }

    pub fn event_types(&self) -> EventTypesView {
        EventTypesView {
            types: EventType::all().map(|t| t.as_str().to_owned()).collect(),
        }
    }
}
