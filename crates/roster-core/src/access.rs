//! Who is acting, and the proof that they may: every write carries a
//! [`Grant`] that only this crate can make, so a change that skipped
//! authorization cannot reach storage (the idea of lldap's
//! `get_admin_handler()`: a caller holds only what its role allows).

use crate::action::Action;
use crate::decide::{decide, Resource};
use crate::error::RuleError;
use crate::ids::{OrgId, UserId};
use crate::snapshot::{Member, OrgSnapshot, Timestamp};

/// Who is acting: the platform operator, or a person (directly with a token
/// or session, or through the platform key with `X-Roster-Actor`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    Platform,
    User(UserId),
}

impl Actor {
    pub fn user(id: impl Into<UserId>) -> Self {
        Actor::User(id.into())
    }

    pub fn user_id(&self) -> Option<&UserId> {
        match self {
            Actor::Platform => None,
            Actor::User(id) => Some(id),
        }
    }

    pub fn is(&self, user: &UserId) -> bool {
        self.user_id() == Some(user)
    }
}

/// Who a change is recorded as done by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    Platform,
    User(UserId),
    /// Background work (expiry); the audit names the original inviter
    /// where SPEC §6 asks for it.
    System,
}

/// Proof that the rules allowed this change in this organization, and who
/// made it. Made only by this crate's rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    org: OrgId,
    by: Principal,
}

impl Grant {
    fn new(snapshot: &OrgSnapshot, by: Principal) -> Grant {
        Grant {
            org: snapshot.org_id.clone(),
            by,
        }
    }

    /// A person acting on their own behalf through something only they
    /// hold (an invitation link, a sign-in link, their own session).
    pub(crate) fn person(snapshot: &OrgSnapshot, user: &UserId) -> Grant {
        Grant::new(snapshot, Principal::User(user.clone()))
    }

    /// Background work on the organization's own schedule.
    pub(crate) fn system(snapshot: &OrgSnapshot) -> Grant {
        Grant::new(snapshot, Principal::System)
    }

    pub fn org(&self) -> &OrgId {
        &self.org
    }

    pub fn by(&self) -> &Principal {
        &self.by
    }
}

fn principal(actor: &Actor) -> Principal {
    match actor {
        Actor::Platform => Principal::Platform,
        Actor::User(id) => Principal::User(id.clone()),
    }
}

/// The actor may do `action` on `resource`; the platform may do everything.
pub fn authorize(
    snapshot: &OrgSnapshot,
    actor: &Actor,
    action: Action,
    resource: Resource<'_>,
    now: Timestamp,
) -> Result<Grant, RuleError> {
    match actor {
        Actor::Platform => Ok(Grant::new(snapshot, Principal::Platform)),
        Actor::User(user) => {
            let decision = decide(snapshot, user, action, resource, now);
            if decision.allowed {
                Ok(Grant::new(snapshot, principal(actor)))
            } else {
                Err(RuleError::Forbidden(format!(
                    "not allowed to {action}: {}",
                    decision.rule.describe()
                )))
            }
        }
    }
}

/// An organization action (the Admin Area): [`authorize`] on the organization.
pub fn authorize_org(
    snapshot: &OrgSnapshot,
    actor: &Actor,
    action: Action,
    now: Timestamp,
) -> Result<Grant, RuleError> {
    authorize(snapshot, actor, action, Resource::Organization, now)
}

/// Whether [`authorize`] would pass: for showing a control, never for
/// guarding a change.
pub fn allows(
    snapshot: &OrgSnapshot,
    actor: &Actor,
    action: Action,
    resource: Resource<'_>,
    now: Timestamp,
) -> bool {
    authorize(snapshot, actor, action, resource, now).is_ok()
}

/// Platform-only operations (seat limits, the allowlist, reviews).
pub fn authorize_platform(snapshot: &OrgSnapshot, actor: &Actor) -> Result<Grant, RuleError> {
    match actor {
        Actor::Platform => Ok(Grant::new(snapshot, Principal::Platform)),
        Actor::User(_) => Err(RuleError::Forbidden(
            "only the platform operator may do this".into(),
        )),
    }
}

/// Acting on a person's own things (their member record, their tokens):
/// themselves while they hold access, or whoever may do `action`.
pub fn authorize_self_or(
    snapshot: &OrgSnapshot,
    actor: &Actor,
    user_id: &UserId,
    action: Action,
    now: Timestamp,
) -> Result<Grant, RuleError> {
    if actor.is(user_id) && holds_access(snapshot, user_id, now) {
        return Ok(Grant::person(snapshot, user_id));
    }
    authorize(snapshot, actor, action, Resource::Organization, now)
}

/// Who may hold tokens here (SPEC §8): a person with access now, never the
/// platform itself.
pub fn token_holder(
    snapshot: &OrgSnapshot,
    actor: &Actor,
    now: Timestamp,
) -> Result<Grant, RuleError> {
    match actor {
        Actor::User(user) if holds_access(snapshot, user, now) => Ok(Grant::person(snapshot, user)),
        Actor::User(_) => Err(RuleError::Forbidden(
            "only active members hold tokens".into(),
        )),
        Actor::Platform => Err(RuleError::Forbidden(
            "tokens belong to people: act as one with X-Roster-Actor".into(),
        )),
    }
}

/// An active member whose access has not ended (SPEC §4 rules 1 and 2).
pub fn holds_access(snapshot: &OrgSnapshot, user_id: &UserId, now: Timestamp) -> bool {
    snapshot
        .member(user_id)
        .is_some_and(|m| m.is_active() && !m.ia_expired(now))
}

/// The target member, or `not_found`. An expired Implementation Admin is
/// already gone (SPEC §4 rule 2), so they are not found either.
pub fn target<'s>(
    snapshot: &'s OrgSnapshot,
    user_id: &UserId,
    now: Timestamp,
) -> Result<&'s Member, RuleError> {
    snapshot
        .member(user_id)
        .filter(|m| !m.ia_expired(now))
        .ok_or(RuleError::NotFound("member"))
}
