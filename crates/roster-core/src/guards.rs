//! Checks several rules share: Owners (SPEC §4 "Who may change whom"),
//! seats (SPEC §3) and the Implementation Admin terms (SPEC §6).

use crate::access::{allows, Actor};
use crate::action::Action;
use crate::decide::Resource;
use crate::duration::IaDuration;
use crate::email::Email;
use crate::error::{Rejected, RuleError};
use crate::role::OrgRole;
use crate::snapshot::{Member, OrgSnapshot, Timestamp};

fn active_owner_count(snapshot: &OrgSnapshot, now: Timestamp) -> usize {
    snapshot
        .members()
        .filter(|m| m.is_active() && m.effective_org_role(now) == Some(OrgRole::Owner))
        .count()
}

/// Owner-only steps: assigning the role, acting on an Owner.
pub(crate) fn require_owner(
    snapshot: &OrgSnapshot,
    actor: &Actor,
    now: Timestamp,
    refusal: &str,
) -> Result<(), RuleError> {
    if allows(
        snapshot,
        actor,
        Action::OwnerAssign,
        Resource::Organization,
        now,
    ) {
        Ok(())
    } else {
        Err(RuleError::Forbidden(refusal.to_owned()))
    }
}

/// Only Owners act on an Owner, and never on the last active one.
pub(crate) fn guard_owner(
    snapshot: &OrgSnapshot,
    actor: &Actor,
    target: &Member,
    now: Timestamp,
) -> Result<(), RuleError> {
    if target.effective_org_role(now) != Some(OrgRole::Owner) {
        return Ok(());
    }
    require_owner(snapshot, actor, now, "only an Owner may change an Owner")?;
    if target.is_active() && active_owner_count(snapshot, now) <= 1 {
        return Err(RuleError::LastOwner);
    }
    Ok(())
}

/// A seat check for one person changing from `before` to `after`.
pub(crate) fn guard_seat(
    snapshot: &OrgSnapshot,
    before: &Member,
    after: &Member,
    now: Timestamp,
) -> Result<(), RuleError> {
    if snapshot.uses_seat(before, now) || !snapshot.uses_seat(after, now) {
        return Ok(());
    }
    // A pending invitation of this person already reserves their seat.
    let needed = || u32::from(!snapshot.reserving_emails(now).contains(&after.email));
    if snapshot.seats_fit(needed, now) {
        Ok(())
    } else {
        Err(seat_limit_reached(snapshot))
    }
}

pub(crate) fn seat_limit_reached(snapshot: &OrgSnapshot) -> RuleError {
    RuleError::SeatLimitReached {
        limit: snapshot.settings.seat_limit.unwrap_or(0),
    }
}

/// The Implementation Admin rules shared by invitations, role changes and
/// imports: the organization toggle, the domain allowlist and a duration.
pub fn guard_implementation_admin(
    snapshot: &OrgSnapshot,
    email: &Email,
    duration: Option<IaDuration>,
) -> Result<IaDuration, RuleError> {
    if !snapshot.settings.allow_implementation_admin {
        return Err(RuleError::ImplementationAdminDisabled);
    }
    let duration = duration.ok_or_else(|| RuleError::Validation {
        field: "duration",
        message: "a duration is required for implementation_admin".into(),
    })?;
    if !snapshot.settings.ia_domains.allows(email) {
        return Err(RuleError::DomainNotAllowed {
            allowed: allowed_domains(snapshot),
            rejected: vec![Rejected::new(email.as_str(), "domain_not_allowed")],
        });
    }
    Ok(duration)
}

pub fn allowed_domains(snapshot: &OrgSnapshot) -> Vec<String> {
    snapshot
        .settings
        .ia_domains
        .patterns()
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// A duration goes with the Implementation Admin role and no other.
pub(crate) fn guard_duration(
    is_implementation_admin: bool,
    duration: Option<IaDuration>,
) -> Result<(), RuleError> {
    match (is_implementation_admin, duration) {
        (true, None) => Err(RuleError::Validation {
            field: "duration",
            message: "a duration is required for implementation_admin".into(),
        }),
        (false, Some(_)) => Err(RuleError::Validation {
            field: "duration",
            message: "a duration is only for implementation_admin".into(),
        }),
        _ => Ok(()),
    }
}
