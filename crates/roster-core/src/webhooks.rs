//! Webhook endpoints (SPEC §16): who may register them for an
//! organization, the event types they filter on, and the retry schedule of
//! their deliveries. Endpoints of the whole platform (no organization) are
//! the platform operator's own and are not an organization's change.

use std::fmt;
use std::str::FromStr;

use chrono::Duration;

use crate::access::{authorize_org, Actor};
use crate::action::Action;
use crate::catalog::AuditAction;
use crate::error::RuleError;
use crate::ids::{OrgId, WebhookId};
use crate::names::UnknownName;
use crate::outcome::{Change, Outcome};
use crate::snapshot::{OrgSnapshot, Timestamp};

/// What an event can be: the audit action of a change, or the test ping.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    Change(AuditAction),
    /// `POST …/webhooks/{id}/test`: to one endpoint, never in a feed.
    Test,
}

impl EventType {
    pub const TEST: &'static str = "webhook.test";

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Change(action) => action.as_str(),
            EventType::Test => Self::TEST,
        }
    }

    /// Every type, as `GET /v1/event-types` lists them.
    pub fn all() -> impl Iterator<Item = EventType> {
        AuditAction::ALL
            .iter()
            .copied()
            .map(EventType::Change)
            .chain(std::iter::once(EventType::Test))
    }
}

impl FromStr for EventType {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == Self::TEST {
            return Ok(EventType::Test);
        }
        s.parse().map(EventType::Change).map_err(|_| UnknownName {
            what: "event type",
            name: s.to_owned(),
            choices: Vec::new(),
        })
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

crate::serde_as_str!(EventType);

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for EventType {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let names: Vec<&'static str> = EventType::all().map(EventType::as_str).collect();
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(names))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for EventType {}

/// A signing secret (`whsec_` + base64 of 32 random bytes): shown once,
/// never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(secret: String) -> Self {
        Secret(secret)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// An endpoint. `types` empty is every type; `org_id` none is every
/// organization (the platform's own).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Webhook {
    pub id: WebhookId,
    pub org_id: Option<OrgId>,
    pub url: String,
    pub types: Vec<EventType>,
    pub description: String,
    pub enabled: bool,
    /// Why it was disabled: `gone` (the endpoint answered 410) or `manual`.
    pub disabled_reason: Option<String>,
    pub secret: Secret,
    /// The secret before the last rotation, still signing beside the new
    /// one until `previous_until` (SPEC §16: 24 hours).
    pub previous_secret: Option<(Secret, Timestamp)>,
    pub created_at: Timestamp,
}

impl Webhook {
    /// Whether an event of this type in this organization goes here.
    pub fn wants(&self, org: &OrgId, event: EventType) -> bool {
        self.enabled
            && self.org_id.as_ref().is_none_or(|own| own == org)
            && (self.types.is_empty() || self.types.contains(&event))
    }
}

/// What a change to an endpoint may set (`PATCH`): `None` leaves a field.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WebhookUpdate {
    pub url: Option<String>,
    pub types: Option<Vec<EventType>>,
    pub enabled: Option<bool>,
    pub description: Option<String>,
}

/// Organization endpoints are managed with `integrations.manage`.
fn authorize_endpoint(
    snapshot: &OrgSnapshot,
    actor: &Actor,
    webhook: &Webhook,
    now: Timestamp,
) -> Result<Change, RuleError> {
    if webhook.org_id.as_ref() != Some(&snapshot.org_id) {
        return Err(RuleError::NotFound("webhook"));
    }
    Ok(Change::new(authorize_org(
        snapshot,
        actor,
        Action::IntegrationsManage,
        now,
    )?))
}

pub fn create_webhook(
    snapshot: &OrgSnapshot,
    actor: &Actor,
    webhook: Webhook,
    now: Timestamp,
) -> Result<Change, RuleError> {
    Ok(
        authorize_endpoint(snapshot, actor, &webhook, now)?.with(Outcome::WebhookCreated {
            webhook: Box::new(webhook),
        }),
    )
}

pub fn update_webhook(
    snapshot: &OrgSnapshot,
    actor: &Actor,
    webhook: &Webhook,
    update: WebhookUpdate,
    now: Timestamp,
) -> Result<Change, RuleError> {
    let change = authorize_endpoint(snapshot, actor, webhook, now)?;
    let after = apply_update(webhook, update);
    if after == *webhook {
        return Ok(change);
    }
    Ok(change.with(Outcome::WebhookUpdated {
        before: Box::new(webhook.clone()),
        after: Box::new(after),
    }))
}

/// An endpoint after an update; enabling clears why it was disabled.
pub fn apply_update(webhook: &Webhook, update: WebhookUpdate) -> Webhook {
    let mut after = webhook.clone();
    if let Some(url) = update.url {
        after.url = url;
    }
    if let Some(types) = update.types {
        after.types = types;
    }
    if let Some(description) = update.description {
        after.description = description;
    }
    if let Some(enabled) = update.enabled {
        after.enabled = enabled;
        after.disabled_reason = (!enabled).then(|| "manual".to_owned());
    }
    after
}

pub fn delete_webhook(
    snapshot: &OrgSnapshot,
    actor: &Actor,
    webhook: &Webhook,
    now: Timestamp,
) -> Result<Change, RuleError> {
    Ok(
        authorize_endpoint(snapshot, actor, webhook, now)?.with(Outcome::WebhookDeleted {
            webhook: Box::new(webhook.clone()),
        }),
    )
}

/// How long the old secret keeps signing beside the new one.
pub fn rotation_overlap() -> Duration {
    Duration::hours(24)
}

pub fn rotate_secret(
    snapshot: &OrgSnapshot,
    actor: &Actor,
    webhook: &Webhook,
    secret: Secret,
    now: Timestamp,
) -> Result<Change, RuleError> {
    let change = authorize_endpoint(snapshot, actor, webhook, now)?;
    Ok(change.with(Outcome::WebhookSecretRotated {
        webhook_id: webhook.id.clone(),
        secret,
        previous: (webhook.secret.clone(), now + rotation_overlap()),
    }))
}

/// When a failed delivery is tried again (API.md: about 5 s, 1 min, 5 min,
/// 30 min, 2 h, 8 h), after its `attempts`-th attempt; `None`: dead.
pub fn retry_after(attempts: u32) -> Option<Duration> {
    const SCHEDULE: [i64; 6] = [5, 60, 300, 1_800, 7_200, 28_800];
    let index = usize::try_from(attempts.checked_sub(1)?).ok()?;
    SCHEDULE.get(index).map(|s| Duration::seconds(*s))
}

/// Every delivery is tried at most this often before it is dead.
pub const MAX_ATTEMPTS: u32 = 7;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seven_attempts_follow_the_schedule_then_the_delivery_is_dead() {
        let waits: Vec<i64> = (1..=MAX_ATTEMPTS)
            .map_while(retry_after)
            .map(|d| d.num_seconds())
            .collect();
        assert_eq!(waits, [5, 60, 300, 1_800, 7_200, 28_800]);
        assert_eq!(retry_after(MAX_ATTEMPTS), None);
        assert_eq!(retry_after(0), None);
    }

    #[test]
    fn event_types_are_the_audit_actions_and_the_test_ping() {
        assert_eq!(EventType::all().count(), AuditAction::ALL.len() + 1);
        assert_eq!("webhook.test".parse::<EventType>(), Ok(EventType::Test));
        assert_eq!(
            "member.removed".parse::<EventType>(),
            Ok(EventType::Change(AuditAction::MemberRemoved))
        );
        assert!("member.exploded".parse::<EventType>().is_err());
    }
}
