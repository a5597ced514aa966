//! The organization itself (API.md "Organizations"): created by the
//! platform with its first Owner, renamed by its admins, seat limits and
//! the Implementation Admin allowlist set by the platform, deleted by an
//! Owner.

use crate::access::{authorize_org, authorize_platform, Actor};
use crate::action::Action;
use crate::email::{DomainAllowlist, Email};
use crate::error::RuleError;
use crate::ids::UserId;
use crate::outcome::{Change, Outcome};
use crate::role::{OrgRole, SeatPolicy};
use crate::snapshot::{Member, OrgSnapshot, Timestamp};
use crate::text::Name;

/// A person's account as the rules see it: found or created under the
/// organization's lock by the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub user_id: UserId,
    pub email: Email,
    pub name: String,
    /// Created by this change (it did not exist before).
    pub created: bool,
}

/// `seat_limit` is `null` or at least 1 (API.md), on creation and update
/// alike: a limit of zero would leave the organization without its Owner.
pub fn check_seat_limit(limit: Option<u32>) -> Result<Option<u32>, RuleError> {
    match limit {
        Some(0) => Err(RuleError::Validation {
            field: "seat_limit",
            message: "seat_limit must be null (unlimited) or at least 1".into(),
        }),
        other => Ok(other),
    }
}

/// `POST /v1/orgs`: the platform creates an organization (the store made
/// its row, empty) with its first Owner.
pub fn create_organization(
    snapshot: &OrgSnapshot,
    actor: &Actor,
    owner: &Account,
) -> Result<Change, RuleError> {
    let grant = authorize_platform(snapshot, actor)?;
    check_seat_limit(snapshot.settings.seat_limit)?;
    Ok(Change::new(grant)
        .with(Outcome::OrgCreated {
            name: snapshot.name.clone(),
            seat_limit: snapshot.settings.seat_limit,
        })
        .with(Outcome::MemberAdded {
            member: Member::new(
                owner.user_id.clone(),
                owner.email.clone(),
                owner.name.clone(),
            ),
        })
        .with(Outcome::RoleChanged {
            user_id: owner.user_id.clone(),
            from: None,
            to: Some(OrgRole::Owner),
            assignment: None,
            kept_space_roles: Vec::new(),
        }))
}

/// What `PATCH /v1/orgs/{org}` asks to change; `None` leaves a field as is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrgUpdate {
    pub name: Option<Name>,
    /// `Some(None)` removes the limit.
    pub seat_limit: Option<Option<u32>>,
    pub seat_policy: Option<SeatPolicy>,
}

pub fn update_organization(
    snapshot: &OrgSnapshot,
    actor: &Actor,
    update: OrgUpdate,
    now: Timestamp,
) -> Result<Change, RuleError> {
    if (update.seat_limit.is_some() || update.seat_policy.is_some()) && *actor != Actor::Platform {
        return Err(RuleError::Forbidden(
            "only the platform operator sets seat limits and seat roles".into(),
        ));
    }
    let grant = authorize_org(snapshot, actor, Action::SettingsManage, now)?;
    let name = update
        .name
        .map(Name::into_string)
        .filter(|n| *n != snapshot.name);
    let mut settings = snapshot.settings.clone();
    if let Some(limit) = update.seat_limit {
        settings.seat_limit = check_seat_limit(limit)?;
    }
    if let Some(policy) = update.seat_policy {
        settings.seat_policy = policy;
    }
    let settings = (settings != snapshot.settings).then_some(settings);
    let change = Change::new(grant);
    if name.is_none() && settings.is_none() {
        return Ok(change);
    }
    Ok(change.with(Outcome::OrgUpdated { name, settings }))
}

/// `DELETE /v1/orgs/{org}` (Owner): every token of the organization is
/// revoked with it.
pub fn delete_organization(
    snapshot: &OrgSnapshot,
    actor: &Actor,
    now: Timestamp,
) -> Result<Change, RuleError> {
    let grant = authorize_org(snapshot, actor, Action::OrgDelete, now)?;
    Ok(Change::new(grant).with(Outcome::OrgDeleted {
        name: snapshot.name.clone(),
    }))
}

/// `PUT …/implementation-admin-domains` (platform only).
pub fn set_allowlist(
    snapshot: &OrgSnapshot,
    actor: &Actor,
    allowlist: DomainAllowlist,
) -> Result<Change, RuleError> {
    let grant = authorize_platform(snapshot, actor)?;
    let mut settings = snapshot.settings.clone();
    settings.ia_domains = allowlist;
    let change = Change::new(grant);
    if settings == snapshot.settings {
        return Ok(change);
    }
    Ok(change.with(Outcome::AllowlistChanged { settings }))
}
