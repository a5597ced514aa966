//! The shapes of API.md, as types: what the API answers, what the OpenAPI
//! document describes (generated from these), and what the tests' typed
//! client reads back. Built from core types, never by hand as JSON, but
//! for the two answers that can list a whole organization, the seats and
//! a person's capabilities (see [`JsonText`]).

use roster_core::capabilities::{Capabilities, SpaceView as SpaceViewKind};
use roster_core::{
    Action, ActorKind, AuditAction, DeliveryId, EventType, IaDuration, Invitation,
    InvitationStatus, Member, MemberStatus, OrgId, OrgRole, OrgSnapshot, Role, SeatUsage, SpaceId,
    SpaceRole, Timestamp, TokenId, TokenKind, Trigger, UserId, Webhook, WebhookId,
};
use roster_store::{AuditEntry, TokenRecord};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::json_text::JsonText;

/// RFC 3339 UTC with second precision, as API.md promises.
pub fn time(t: Timestamp) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub fn opt_time(t: Option<Timestamp>) -> Option<String> {
    t.map(time)
}

/// One page of a list, and the cursor of the next (none on the last page).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrgSettingsView {
    pub allow_implementation_admin: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OwnerView {
    pub user_id: UserId,
    pub email: String,
}

/// An organization (API.md "Organizations").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrgView {
    pub id: OrgId,
    pub name: String,
    /// `null` is unlimited.
    pub seat_limit: Option<u32>,
    pub settings: OrgSettingsView,
    /// The roles that use a seat here (SPEC §15).
    pub seat_roles: Vec<Role>,
    pub revision: i64,
    /// The first active Owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<OwnerView>,
}

impl OrgView {
    pub fn of(snap: &OrgSnapshot) -> Self {
        let owner = snap
            .members()
            .filter(|m| m.org_role == Some(OrgRole::Owner) && m.is_active())
            .min_by(|a, b| a.user_id.cmp(&b.user_id))
            .map(|m| OwnerView {
                user_id: m.user_id.clone(),
                email: m.email.as_str().to_owned(),
            });
        OrgView {
            id: snap.org_id.clone(),
            name: snap.name.clone(),
            seat_limit: snap.settings.seat_limit,
            settings: OrgSettingsView {
                allow_implementation_admin: snap.settings.allow_implementation_admin,
            },
            seat_roles: snap.settings.seat_policy.seat_roles().collect(),
            revision: snap.revision,
            owner,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ImplementationAdminView {
    /// `null` is Forever.
    pub expires_at: Option<String>,
    pub duration: IaDuration,
    /// The original inviter; `null` when the platform assigned the role.
    pub invited_by: Option<UserId>,
    pub assigned_at: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SpaceRoleView {
    pub space_id: SpaceId,
    pub role: SpaceRole,
}

/// A member (API.md "Members").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MemberView {
    pub user_id: UserId,
    pub email: String,
    pub name: String,
    pub status: MemberStatus,
    pub org_role: Option<OrgRole>,
    pub uses_seat: bool,
    pub implementation_admin: Option<ImplementationAdminView>,
    pub space_roles: Vec<SpaceRoleView>,
}

impl MemberView {
    pub fn of(snap: &OrgSnapshot, m: &Member, now: Timestamp) -> Self {
        MemberView {
            user_id: m.user_id.clone(),
            email: m.email.as_str().to_owned(),
            name: m.name.clone(),
            status: m.status,
            org_role: m.org_role,
            uses_seat: snap.uses_seat(m, now),
            implementation_admin: m.ia.as_ref().map(|ia| ImplementationAdminView {
                expires_at: opt_time(ia.expires_at),
                duration: ia.duration,
                invited_by: ia.invited_by.as_ref().map(|i| i.user_id.clone()),
                assigned_at: time(ia.assigned_at),
            }),
            space_roles: space_roles(snap.space_roles_of(m)),
        }
    }
}

pub fn space_roles<'a>(
    roles: impl Iterator<Item = (&'a SpaceId, SpaceRole)>,
) -> Vec<SpaceRoleView> {
    roles
        .map(|(space_id, role)| SpaceRoleView {
            space_id: space_id.clone(),
            role,
        })
        .collect()
}

/// `PATCH …/members/{user}`: the member after the change, with the space
/// roles kept when an admin-tier role was removed. An Implementation Admin
/// whose role was removed has left the organization (`left_organization`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RoleChangeView {
    #[serde(flatten)]
    pub member: MemberView,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kept_space_roles: Option<Vec<SpaceRoleView>>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub left_organization: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BulkItemView {
    pub user_id: UserId,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BulkView {
    pub results: Vec<BulkItemView>,
}

// The seats answer's shape. The answer itself is written by
// `SeatsView::write` (every holder of a large organization is tens of
// megabytes, see `JsonText`); the tests read it back as this type.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, ToSchema)]
pub struct SeatsView {
    pub limit: Option<u32>,
    pub used: u32,
    pub reserved: u32,
    pub available: Option<u32>,
    pub holders: Vec<UserId>,
}

impl SeatsView {
    /// Writes the answer, with the holders read in place.
    pub fn write(json: &mut JsonText, usage: SeatUsage, holders: &[&UserId]) {
        json.raw(r#"{"limit":"#)
            .number(usage.limit)
            .raw(r#","used":"#)
            .number(Some(usage.used))
            .raw(r#","reserved":"#)
            .number(Some(usage.reserved))
            .raw(r#","available":"#)
            .number(usage.available())
            .raw(r#","holders":"#)
            .strings(holders.iter().map(|id| id.as_str()))
            .raw("}");
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize, ToSchema)]
pub struct AdminAreaView {
    pub sections: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SpaceViewName {
    Admin,
    Facilitator,
    Participant,
    Sponsor,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize, ToSchema)]
pub struct SpaceCapabilitiesView {
    pub space_id: SpaceId,
    pub view: SpaceViewName,
    pub actions: Vec<Action>,
}

// The answer's shape: the answer itself is written by
// `CapabilitiesView::write`; the tests read it back as this type.
/// What the Admin Area shows a person (API.md "capabilities").
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, ToSchema)]
pub struct CapabilitiesView {
    pub role_management: bool,
    pub admin_area: AdminAreaView,
    pub spaces: Vec<SpaceCapabilitiesView>,
}

impl CapabilitiesView {
    /// Writes the answer from the core's (the Owner of 50,000 spaces gets
    /// one of 23 MB).
    pub fn write(json: &mut JsonText, caps: &Capabilities) {
        json.raw(r#"{"role_management":"#)
            .raw(if caps.role_management {
                "true"
            } else {
                "false"
            })
            .raw(r#","admin_area":{"sections":"#)
            .strings(caps.sections.iter().copied())
            .raw(r#"},"spaces":["#);
        for (i, space) in caps.spaces.iter().enumerate() {
            json.raw(if i == 0 {
                r#"{"space_id":"#
            } else {
                r#",{"space_id":"#
            })
            .string(space.space_id.as_str())
            .raw(match space.view {
                SpaceViewKind::Admin => r#","view":"admin","actions":"#,
                SpaceViewKind::Facilitator => r#","view":"facilitator","actions":"#,
                SpaceViewKind::Participant => r#","view":"participant","actions":"#,
                SpaceViewKind::Sponsor => r#","view":"sponsor","actions":"#,
            })
            .strings(space.actions.iter().map(|action| action.as_str()))
            .raw("}");
        }
        json.raw("]}");
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SpaceView {
    pub id: SpaceId,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SpaceMemberView {
    pub user_id: UserId,
    /// `null` for an org admin without an explicit role here.
    pub role: Option<SpaceRole>,
    /// `space` for an explicit role, else the org role that reaches the space.
    pub via: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SpaceMembersView {
    pub items: Vec<SpaceMemberView>,
    /// Explicit roles other than `sponsor`.
    pub member_total: usize,
    pub next_cursor: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RetainedAccessView {
    pub retained_access: Option<OrgRole>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RecipientsView {
    pub user_ids: Vec<UserId>,
}

/// An invitation (API.md "Invitations").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InvitationView {
    pub id: roster_core::InvitationId,
    pub batch_id: roster_core::BatchId,
    pub email: String,
    pub role: Role,
    pub space_ids: Vec<SpaceId>,
    pub duration: Option<IaDuration>,
    pub message: Option<String>,
    pub status: InvitationStatus,
    pub expires_at: String,
    pub invited_by: Option<UserId>,
    pub send_count: u32,
    pub created_at: String,
}

impl InvitationView {
    /// A pending invitation past its expiry shows as expired, job or not.
    pub fn of(inv: &Invitation, now: Timestamp) -> Self {
        let status = match inv.status {
            InvitationStatus::Pending if inv.expires_at <= now => InvitationStatus::Expired,
            other => other,
        };
        InvitationView {
            id: inv.id.clone(),
            batch_id: inv.batch_id.clone(),
            email: inv.email.as_str().to_owned(),
            role: inv.role,
            space_ids: inv.space_ids.clone(),
            duration: inv.duration,
            message: inv.message.clone(),
            status,
            expires_at: time(inv.expires_at),
            invited_by: inv.invited_by.clone(),
            send_count: inv.send_count,
            created_at: time(inv.created_at),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BatchView {
    pub batch_id: roster_core::BatchId,
    pub invitations: Vec<InvitationView>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AcceptedView {
    pub user_id: UserId,
    pub org_id: OrgId,
}

/// A token as listed (its secret is never shown again).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TokenView {
    pub id: TokenId,
    pub org_id: OrgId,
    pub user_id: UserId,
    pub kind: TokenKind,
    pub name: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
    pub revoked_reason: Option<String>,
}

impl From<&TokenRecord> for TokenView {
    fn from(t: &TokenRecord) -> Self {
        TokenView {
            id: t.id.clone(),
            org_id: t.org_id.clone(),
            user_id: t.user_id.clone(),
            kind: t.kind,
            name: t.name.clone(),
            created_at: time(t.created_at),
            expires_at: opt_time(t.expires_at),
            revoked_at: opt_time(t.revoked_at),
            revoked_reason: t.revoked_reason.clone(),
        }
    }
}

/// A token just created: the only time its secret is shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CreatedTokenView {
    pub id: TokenId,
    pub secret: String,
    pub kind: TokenKind,
    pub name: String,
    pub org_id: OrgId,
    pub user_id: UserId,
    pub created_at: String,
    pub expires_at: Option<String>,
}

/// RFC 7662 introspection of an active token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ActiveToken {
    /// Always true.
    pub active: bool,
    pub sub: UserId,
    pub org_id: OrgId,
    pub kind: TokenKind,
    /// Unix seconds; `null` for a token that does not expire.
    pub exp: Option<i64>,
    pub iat: i64,
    pub client_id: TokenId,
    pub username: String,
    pub token_type: String,
}

/// RFC 7662 introspection: `{"active": false}` alone when the token is not
/// active.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum IntrospectionView {
    Active(Box<ActiveToken>),
    Inactive(InactiveToken),
}

/// A token that is not active: nothing about it is told.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InactiveToken {
    /// Always false.
    pub active: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ActorView {
    pub kind: ActorKind,
    pub user_id: Option<UserId>,
}

/// An audit entry (API.md "Audit").
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditEntryView {
    pub id: String,
    pub seq: i64,
    pub at: String,
    pub actor: ActorView,
    pub trigger: Trigger,
    pub action: AuditAction,
    pub target_user_id: Option<UserId>,
    pub space_id: Option<SpaceId>,
    #[schema(value_type = Object)]
    pub details: Value,
    pub request_id: Option<String>,
    pub hash: String,
    pub prev_hash: String,
}

impl From<&AuditEntry> for AuditEntryView {
    fn from(e: &AuditEntry) -> Self {
        AuditEntryView {
            id: e.id.clone(),
            seq: e.seq,
            at: time(e.at),
            actor: ActorView {
                kind: e.actor.kind,
                user_id: e.actor.user_id.clone(),
            },
            trigger: e.trigger,
            action: e.action,
            target_user_id: e.target_user_id.clone(),
            space_id: e.space_id.clone(),
            details: e.details.clone(),
            request_id: e.request_id.clone(),
            hash: e.hash.clone(),
            prev_hash: e.prev_hash.clone(),
        }
    }
}

/// The newest audit entry: store it outside Roster, and later ask
/// `audit/verify?seq=&hash=` whether it is still in the log unchanged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditHeadView {
    pub seq: i64,
    pub hash: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ChainCheckView {
    pub ok: bool,
    pub entries: i64,
    pub first_bad_seq: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DomainsView {
    pub domains: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IaSettingView {
    pub enabled: bool,
    /// The Implementation Admins turning the setting off removed.
    pub removed: Vec<UserId>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ForeverAssignmentView {
    pub org_id: OrgId,
    pub user_id: UserId,
    pub email: String,
    pub since: String,
    pub age_days: i64,
    pub last_reviewed_at: Option<String>,
    pub reviews: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ForeverListView {
    pub items: Vec<ForeverAssignmentView>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SignInLinkView {
    pub url: String,
    pub expires_at: String,
}

/// Who an event names as actor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EventActorView {
    pub kind: ActorKind,
    pub user_id: Option<UserId>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EventDataView {
    pub target_user_id: Option<UserId>,
    pub space_id: Option<SpaceId>,
    #[schema(value_type = Object)]
    pub details: Value,
}

/// An event (API.md "Events"): the audit entry of a change, as the feeds
/// list it and webhooks deliver it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EventView {
    /// `evt_…`; the `webhook-id` of its deliveries.
    pub id: String,
    /// The audit action (or `webhook.test`).
    #[serde(rename = "type")]
    #[schema(value_type = EventType)]
    pub kind: String,
    pub org_id: Option<OrgId>,
    pub occurred_at: String,
    /// The organization's revision after the change.
    pub revision: i64,
    pub actor: EventActorView,
    pub trigger: Trigger,
    pub data: EventDataView,
}

impl From<&roster_store::Event> for EventView {
    fn from(e: &roster_store::Event) -> Self {
        EventView {
            id: e.id.clone(),
            kind: e.kind.as_str().to_owned(),
            org_id: Some(e.org_id.clone()),
            occurred_at: e.occurred_at.clone(),
            revision: e.revision,
            actor: EventActorView {
                kind: e.actor.kind,
                user_id: e.actor.user_id.clone(),
            },
            trigger: e.trigger,
            data: EventDataView {
                target_user_id: e.data.target_user_id.clone(),
                space_id: e.data.space_id.clone(),
                details: e.data.details.clone(),
            },
        }
    }
}

/// A page of a feed; `next_cursor` is there even on the last page: keep
/// it and ask again later.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EventPage {
    pub items: Vec<EventView>,
    pub next_cursor: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EventTypesView {
    #[schema(value_type = Vec<EventType>)]
    pub types: Vec<String>,
}

/// A webhook endpoint (API.md "Webhooks"); its secret is never shown again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WebhookView {
    pub id: WebhookId,
    pub url: String,
    /// Empty: every type.
    #[schema(value_type = Vec<EventType>)]
    pub types: Vec<String>,
    /// `null`: every organization.
    pub org_id: Option<OrgId>,
    pub enabled: bool,
    pub description: String,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
}

impl From<&Webhook> for WebhookView {
    fn from(w: &Webhook) -> Self {
        WebhookView {
            id: w.id.clone(),
            url: w.url.clone(),
            types: w.types.iter().map(|t| t.as_str().to_owned()).collect(),
            org_id: w.org_id.clone(),
            enabled: w.enabled,
            description: w.description.clone(),
            created_at: time(w.created_at),
            disabled_reason: w.disabled_reason.clone(),
        }
    }
}

/// A webhook endpoint just created: the only time its secret is shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CreatedWebhookView {
    #[serde(flatten)]
    pub webhook: WebhookView,
    /// `whsec_` + base64 of 32 random bytes.
    pub secret: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SecretView {
    pub secret: String,
}

/// One delivery of an event to an endpoint, and how it went.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeliveryView {
    pub id: DeliveryId,
    pub event_id: String,
    pub event_type: String,
    /// `pending`, `delivered` or `dead`.
    pub status: String,
    pub attempts: i64,
    /// The HTTP status of the last answer.
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<String>,
    pub delivered_at: Option<String>,
}

impl From<&roster_store::Delivery> for DeliveryView {
    fn from(d: &roster_store::Delivery) -> Self {
        DeliveryView {
            id: d.id.clone(),
            event_id: d.event_id.clone(),
            event_type: d.event_type.clone(),
            status: d.status.clone(),
            attempts: d.attempts,
            last_status: d.last_status,
            last_error: d.last_error.clone(),
            next_attempt_at: (d.status == roster_store::PENDING).then(|| time(d.next_attempt_at)),
            delivered_at: opt_time(d.delivered_at),
        }
    }
}

/// What an import did (API.md "Import"); a dry run lists addresses where
/// ids do not exist yet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ImportView {
    pub dry_run: bool,
    /// `add`: the new members' user ids.
    pub created: Vec<String>,
    /// `invite`: the invitations sent.
    pub invited: Vec<String>,
    /// Already members: left as they are.
    pub unchanged: Vec<String>,
}
