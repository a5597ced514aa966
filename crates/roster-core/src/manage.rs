//! Who may change whom (SPEC §4), deactivation and removal (SPEC §7), the
//! Implementation Admin lifecycle (SPEC §6). Each function checks the rules
//! against a snapshot and returns the [`Effect`]s to persist, or why not.

use crate::action::Action;
use crate::decide::{decide, Resource};
use crate::duration::IaDuration;
use crate::error::RuleError;
use crate::role::{OrgRole, Role, SpaceRole};
use crate::snapshot::{
    Effect, IaAssignment, Invitation, InvitationStatus, Member, MemberStatus, OrgSnapshot,
    Timestamp,
};

/// Who is acting: the platform operator, or a person (directly with a token,
/// or through the platform key with `X-Roster-Actor`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Actor<'a> {
    Platform,
    User(&'a str),
}

impl<'a> Actor<'a> {
    pub fn user_id(self) -> Option<&'a str> {
        match self {
            Actor::Platform => None,
            Actor::User(id) => Some(id),
        }
    }
}

/// The actor may do `action` on `resource`; the platform may do everything.
pub fn authorize(
    snapshot: &OrgSnapshot,
    actor: Actor<'_>,
    action: Action,
    resource: Resource<'_>,
    now: Timestamp,
) -> Result<(), RuleError> {
    match actor {
        Actor::Platform => Ok(()),
        Actor::User(user) => {
            let decision = decide(snapshot, user, action, resource, now);
            if decision.allowed {
                Ok(())
            } else {
                Err(RuleError::Forbidden(format!(
                    "not allowed to {action}: {}",
                    decision.rule.describe()
                )))
            }
        }
    }
}

/// Acting on a person's own things (their member record, their tokens):
/// themselves while they hold access, or whoever may do `action`.
pub fn authorize_self_or(
    snapshot: &OrgSnapshot,
    actor: Actor<'_>,
    user_id: &str,
    action: Action,
    now: Timestamp,
) -> Result<(), RuleError> {
    if actor.user_id() == Some(user_id) && holds_access(snapshot, user_id, now) {
        return Ok(());
    }
    authorize(snapshot, actor, action, Resource::Organization, now)
}

/// Who may hold tokens here (SPEC §8): a person with access now, never the
/// platform itself.
pub fn token_holder<'a>(
    snapshot: &OrgSnapshot,
    actor: Actor<'a>,
    now: Timestamp,
) -> Result<&'a str, RuleError> {
    match actor {
        Actor::User(user) if holds_access(snapshot, user, now) => Ok(user),
        Actor::User(_) => Err(RuleError::Forbidden(
            "only active members hold tokens".into(),
        )),
        Actor::Platform => Err(RuleError::Forbidden(
            "tokens belong to people: act as one with X-Roster-Actor".into(),
        )),
    }
}

/// An active member whose access has not ended (SPEC §4 rules 1 and 2).
pub fn holds_access(snapshot: &OrgSnapshot, user_id: &str, now: Timestamp) -> bool {
    snapshot
        .member(user_id)
        .is_some_and(|m| m.is_active() && !m.ia_expired(now))
}

/// The target member, or `not_found`. An expired Implementation Admin is
/// already gone (SPEC §4 rule 2), so they are not found either.
pub fn target<'s>(
    snapshot: &'s OrgSnapshot,
    user_id: &str,
    now: Timestamp,
) -> Result<&'s Member, RuleError> {
    snapshot
        .member(user_id)
        .filter(|m| !m.ia_expired(now))
        .ok_or(RuleError::NotFound("member"))
}

fn active_owner_count(snapshot: &OrgSnapshot, now: Timestamp) -> usize {
    snapshot
        .members()
        .filter(|m| m.is_active() && m.effective_org_role(now) == Some(OrgRole::Owner))
        .count()
}

/// Only Owners act on an Owner, and never on the last active one.
fn guard_owner(
    snapshot: &OrgSnapshot,
    actor: Actor<'_>,
    target: &Member,
    now: Timestamp,
) -> Result<(), RuleError> {
    if target.effective_org_role(now) != Some(OrgRole::Owner) {
        return Ok(());
    }
    authorize(
        snapshot,
        actor,
        Action::OwnerAssign,
        Resource::Organization,
        now,
    )
    .map_err(|_| RuleError::Forbidden("only an Owner may change an Owner".into()))?;
    if target.is_active() && active_owner_count(snapshot, now) <= 1 {
        return Err(RuleError::LastOwner);
    }
    Ok(())
}

/// A seat check for one person changing from `before` to `after`.
fn guard_seat(
    snapshot: &OrgSnapshot,
    before: &Member,
    after: &Member,
    now: Timestamp,
) -> Result<(), RuleError> {
    if snapshot.uses_seat(before, now) || !snapshot.uses_seat(after, now) {
        return Ok(());
    }
    let usage = snapshot.seat_usage(now);
    // A pending invitation of this person already reserves their seat.
    let own_reservation = u32::from(snapshot.reserving_emails(now).contains(&after.email));
    if usage.fits(1u32.saturating_sub(own_reservation)) {
        Ok(())
    } else {
        Err(RuleError::SeatLimitReached {
            limit: usage.limit.unwrap_or(0),
        })
    }
}

/// The Implementation Admin rules shared by invitations and role changes:
/// the organization toggle, the domain allowlist and a duration.
pub fn guard_implementation_admin(
    snapshot: &OrgSnapshot,
    email: &crate::email::Email,
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
            rejected: vec![crate::error::Rejected::new(
                email.as_str(),
                "domain_not_allowed",
            )],
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

/// `PATCH members/{user}` `{org_role}`: assign, change or remove an org role.
pub fn change_org_role(
    snapshot: &OrgSnapshot,
    actor: Actor<'_>,
    user_id: &str,
    role: Option<OrgRole>,
    duration: Option<IaDuration>,
    now: Timestamp,
) -> Result<Vec<Effect>, RuleError> {
    authorize(
        snapshot,
        actor,
        Action::MembersChangeRole,
        Resource::Organization,
        now,
    )?;
    let member = target(snapshot, user_id, now)?;
    let current = member.org_role;
    if role != Some(OrgRole::ImplementationAdmin) && duration.is_some() {
        return Err(RuleError::Validation {
            field: "duration",
            message: "a duration is only for implementation_admin".into(),
        });
    }
    if role == current && role != Some(OrgRole::ImplementationAdmin) {
        return Ok(Vec::new());
    }
    // Nobody raises their own role or trades it sideways: an Implementation
    // Admin making themselves Admin would shed their time limit. Stepping
    // down (Owner to Admin, or giving the role up) is fine.
    if actor.user_id() == Some(user_id) && !steps_down(current, role) {
        return Err(RuleError::Forbidden(
            "you cannot raise or trade your own role".into(),
        ));
    }
    guard_owner(snapshot, actor, member, now)?;
    // An Implementation Admin whose role ends leaves the organization, as on
    // expiry (API.md).
    if current == Some(OrgRole::ImplementationAdmin) && role.is_none() {
        return Ok(leave_effects(
            snapshot,
            user_id,
            "implementation_admin_removed",
        ));
    }
    let ia = match role {
        Some(OrgRole::Owner) => {
            authorize(
                snapshot,
                actor,
                Action::OwnerAssign,
                Resource::Organization,
                now,
            )
            .map_err(|_| RuleError::Forbidden("only an Owner may assign the Owner role".into()))?;
            if current == Some(OrgRole::ImplementationAdmin) {
                return Err(RuleError::Forbidden(
                    "an Implementation Admin cannot be made Owner".into(),
                ));
            }
            None
        }
        Some(OrgRole::ImplementationAdmin) => {
            let duration = guard_implementation_admin(snapshot, &member.email, duration)?;
            // A new duration keeps the original inviter (SPEC §6).
            let inviter = match &member.ia {
                Some(ia) => ia.invited_by.clone(),
                None => actor.user_id().map(str::to_owned),
            };
            Some(IaAssignment::new(duration, now, inviter))
        }
        Some(OrgRole::Admin) | None => None,
    };
    let mut after = member.clone();
    after.org_role = role;
    after.ia = ia.clone();
    guard_seat(snapshot, member, &after, now)?;
    Ok(vec![Effect::SetOrgRole {
        user_id: user_id.to_owned(),
        role,
        ia,
    }])
}

/// Whether going from `from` to `to` gives power up: Owner to Admin, or any
/// role to none.
fn steps_down(from: Option<OrgRole>, to: Option<OrgRole>) -> bool {
    matches!(
        (from, to),
        (Some(_), None) | (Some(OrgRole::Owner), Some(OrgRole::Admin))
    )
}

/// SPEC §7 Deactivate: keeps roles and history, denies everything, frees the
/// seat, revokes tokens.
pub fn deactivate(
    snapshot: &OrgSnapshot,
    actor: Actor<'_>,
    user_id: &str,
    now: Timestamp,
) -> Result<Vec<Effect>, RuleError> {
    authorize(
        snapshot,
        actor,
        Action::MembersDeactivate,
        Resource::Organization,
        now,
    )?;
    let member = target(snapshot, user_id, now)?;
    guard_owner(snapshot, actor, member, now)?;
    if !member.is_active() {
        return Ok(Vec::new());
    }
    let mut effects = vec![
        Effect::SetStatus {
            user_id: user_id.to_owned(),
            status: MemberStatus::Deactivated,
        },
        Effect::RevokeTokens {
            user_id: user_id.to_owned(),
            reason: "member_deactivated",
        },
    ];
    effects.extend(revoke_sent_invitations(snapshot, user_id));
    Ok(effects)
}

/// SPEC §7 Reactivate: needs a free seat.
pub fn reactivate(
    snapshot: &OrgSnapshot,
    actor: Actor<'_>,
    user_id: &str,
    now: Timestamp,
) -> Result<Vec<Effect>, RuleError> {
    authorize(
        snapshot,
        actor,
        Action::MembersDeactivate,
        Resource::Organization,
        now,
    )?;
    let member = target(snapshot, user_id, now)?;
    if member.is_active() {
        return Ok(Vec::new());
    }
    if member.org_role == Some(OrgRole::Owner) {
        authorize(
            snapshot,
            actor,
            Action::OwnerAssign,
            Resource::Organization,
            now,
        )
        .map_err(|_| RuleError::Forbidden("only an Owner may reactivate an Owner".into()))?;
    }
    let mut after = member.clone();
    after.status = MemberStatus::Active;
    guard_seat(snapshot, member, &after, now)?;
    Ok(vec![Effect::SetStatus {
        user_id: user_id.to_owned(),
        status: MemberStatus::Active,
    }])
}

/// SPEC §7 Remove: membership and space roles deleted, tokens revoked.
pub fn remove_member(
    snapshot: &OrgSnapshot,
    actor: Actor<'_>,
    user_id: &str,
    now: Timestamp,
) -> Result<Vec<Effect>, RuleError> {
    authorize(
        snapshot,
        actor,
        Action::MembersRemove,
        Resource::Organization,
        now,
    )?;
    let member = target(snapshot, user_id, now)?;
    guard_owner(snapshot, actor, member, now)?;
    Ok(leave_effects(snapshot, user_id, "member_removed"))
}

fn leave_effects(snapshot: &OrgSnapshot, user_id: &str, reason: &'static str) -> Vec<Effect> {
    let mut effects = vec![
        Effect::RevokeTokens {
            user_id: user_id.to_owned(),
            reason,
        },
        Effect::RemoveMember {
            user_id: user_id.to_owned(),
        },
    ];
    effects.extend(revoke_sent_invitations(snapshot, user_id));
    effects
}

/// Invitations a person sent die when their access ends: they could not be
/// accepted any more, and would go on reserving seats until they expire.
fn revoke_sent_invitations(snapshot: &OrgSnapshot, user_id: &str) -> Vec<Effect> {
    let mut sent: Vec<Invitation> = snapshot
        .pending_invitations()
        .filter(|inv| inv.invited_by.as_deref() == Some(user_id))
        .cloned()
        .collect();
    sent.sort_by(|a, b| a.id.cmp(&b.id));
    sent.into_iter()
        .map(|mut inv| {
            inv.status = InvitationStatus::Revoked;
            Effect::PutInvitation(inv)
        })
        .collect()
}

/// Early removal of an Implementation Admin (SPEC §6): they leave the
/// organization at once, as on expiry.
pub fn remove_implementation_admin(
    snapshot: &OrgSnapshot,
    actor: Actor<'_>,
    user_id: &str,
    now: Timestamp,
) -> Result<Vec<Effect>, RuleError> {
    authorize(
        snapshot,
        actor,
        Action::MembersRemove,
        Resource::Organization,
        now,
    )?;
    let member = target(snapshot, user_id, now)?;
    if member.org_role != Some(OrgRole::ImplementationAdmin) {
        return Err(RuleError::Conflict {
            code: "not_implementation_admin",
            message: "this member is not an Implementation Admin".into(),
        });
    }
    Ok(leave_effects(
        snapshot,
        user_id,
        "implementation_admin_removed",
    ))
}

/// Implementation Admins whose assignment has ended at `now`, with the
/// effects that end it. Run by the expiry job; idempotent.
pub fn expired_implementation_admins(snapshot: &OrgSnapshot, now: Timestamp) -> Vec<&Member> {
    snapshot
        .members()
        .filter(|m| m.org_role == Some(OrgRole::ImplementationAdmin) && m.ia_expired(now))
        .collect()
}

pub fn expire_implementation_admin(snapshot: &OrgSnapshot, user_id: &str) -> Vec<Effect> {
    leave_effects(snapshot, user_id, "implementation_admin_expired")
}

/// The outcome of the Implementation Admin toggle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToggleOutcome {
    pub effects: Vec<Effect>,
    /// Active Implementation Admins removed by turning the setting off.
    pub removed: Vec<String>,
    /// Pending Implementation Admin invitations revoked with it.
    pub revoked_invitations: Vec<String>,
}

/// `PUT settings/implementation-admin`: turning it off removes every active
/// Implementation Admin, but only when confirmed.
pub fn set_implementation_admin_enabled(
    snapshot: &OrgSnapshot,
    actor: Actor<'_>,
    enabled: bool,
    confirm: bool,
    now: Timestamp,
) -> Result<ToggleOutcome, RuleError> {
    authorize(
        snapshot,
        actor,
        Action::SettingsManage,
        Resource::Organization,
        now,
    )?;
    let mut outcome = ToggleOutcome {
        effects: Vec::new(),
        removed: Vec::new(),
        revoked_invitations: Vec::new(),
    };
    if enabled == snapshot.settings.allow_implementation_admin {
        return Ok(outcome);
    }
    if !enabled {
        let active: Vec<&Member> = snapshot
            .members()
            .filter(|m| m.org_role == Some(OrgRole::ImplementationAdmin) && !m.ia_expired(now))
            .collect();
        if !active.is_empty() && !confirm {
            return Err(RuleError::ConfirmationRequired {
                affected: active.len(),
            });
        }
        for m in active {
            outcome.removed.push(m.user_id.clone());
            outcome.effects.extend(leave_effects(
                snapshot,
                &m.user_id,
                "implementation_admin_disabled",
            ));
        }
        for inv in snapshot.pending_invitations() {
            // Those the removed people sent are revoked with them already.
            let sent_by_removed = inv
                .invited_by
                .as_ref()
                .is_some_and(|sender| outcome.removed.contains(sender));
            if inv.role == Role::Org(OrgRole::ImplementationAdmin) && !sent_by_removed {
                let mut revoked = inv.clone();
                revoked.status = crate::snapshot::InvitationStatus::Revoked;
                outcome.revoked_invitations.push(inv.id.clone());
                outcome.effects.push(Effect::PutInvitation(revoked));
            }
        }
        outcome.removed.sort();
        outcome.revoked_invitations.sort();
    }
    let mut settings = snapshot.settings.clone();
    settings.allow_implementation_admin = enabled;
    outcome.effects.push(Effect::SetSettings(settings));
    Ok(outcome)
}

/// May the actor manage space roles in this space? Org admins through the
/// Admin Area (`members.change_role`), Program Admins of the space through
/// `members.manage` there.
pub fn authorize_space_roles(
    snapshot: &OrgSnapshot,
    actor: Actor<'_>,
    space_id: &str,
    now: Timestamp,
) -> Result<(), RuleError> {
    if snapshot.space(space_id).is_none() {
        return Err(RuleError::NotFound("space"));
    }
    authorize(
        snapshot,
        actor,
        Action::MembersChangeRole,
        Resource::Organization,
        now,
    )
    .or_else(|_| {
        authorize(
            snapshot,
            actor,
            Action::MembersManage,
            Resource::Space(space_id),
            now,
        )
    })
}

/// Program Admins run the people of their program, not the organization's
/// admins: changing an Owner's, Admin's or Implementation Admin's program
/// role (e.g. pinning them to read-only as a sponsor) is for the Admin Area.
pub fn guard_space_target(
    snapshot: &OrgSnapshot,
    actor: Actor<'_>,
    target: &Member,
    now: Timestamp,
) -> Result<(), RuleError> {
    let org_admin_target = target.effective_org_role(now).is_some();
    if org_admin_target
        && authorize(
            snapshot,
            actor,
            Action::MembersChangeRole,
            Resource::Organization,
            now,
        )
        .is_err()
    {
        return Err(RuleError::Forbidden(
            "only organization admins change an organization admin's program roles".into(),
        ));
    }
    Ok(())
}

/// `PUT spaces/{space}/members/{user}`: add an existing member or change
/// their role in the space.
pub fn set_space_role(
    snapshot: &OrgSnapshot,
    actor: Actor<'_>,
    space_id: &str,
    user_id: &str,
    role: SpaceRole,
    now: Timestamp,
) -> Result<Vec<Effect>, RuleError> {
    authorize_space_roles(snapshot, actor, space_id, now)?;
    let member = target(snapshot, user_id, now)?;
    guard_space_target(snapshot, actor, member, now)?;
    if snapshot.space_role(member, space_id) == Some(role) {
        return Ok(Vec::new());
    }
    let mut after = member.clone();
    if let Some(space) = snapshot.space_index(space_id) {
        after.set_space_role(space, Some(role));
    }
    guard_seat(snapshot, member, &after, now)?;
    Ok(vec![Effect::SetSpaceRole {
        user_id: user_id.to_owned(),
        space_id: space_id.to_owned(),
        role: Some(role),
    }])
}

/// The outcome of removing a space role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpaceRoleRemoval {
    pub effects: Vec<Effect>,
    /// The org role that still reaches the space, if any (`retained_access`).
    pub retained_access: Option<OrgRole>,
}

/// `DELETE spaces/{space}/members/{user}`. Access that exists only through
/// the org role cannot be removed here (seed `002_…`: "Has not been removed").
pub fn remove_space_role(
    snapshot: &OrgSnapshot,
    actor: Actor<'_>,
    space_id: &str,
    user_id: &str,
    now: Timestamp,
) -> Result<SpaceRoleRemoval, RuleError> {
    authorize_space_roles(snapshot, actor, space_id, now)?;
    let member = target(snapshot, user_id, now)?;
    guard_space_target(snapshot, actor, member, now)?;
    let org_role = member.effective_org_role(now);
    match (snapshot.space_role(member, space_id), org_role) {
        (None, Some(org_role)) => Err(RuleError::InheritedAccess { org_role }),
        (None, None) => Err(RuleError::NotFound("space member")),
        (Some(_), retained_access) => Ok(SpaceRoleRemoval {
            effects: vec![Effect::SetSpaceRole {
                user_id: user_id.to_owned(),
                space_id: space_id.to_owned(),
                role: None,
            }],
            retained_access,
        }),
    }
}

/// A participant leaves a space themselves (SPEC §7), with confirmation.
pub fn leave_space(
    snapshot: &OrgSnapshot,
    user_id: &str,
    space_id: &str,
    confirm: bool,
    now: Timestamp,
) -> Result<Vec<Effect>, RuleError> {
    if snapshot.space(space_id).is_none() {
        return Err(RuleError::NotFound("space"));
    }
    authorize(
        snapshot,
        Actor::User(user_id),
        Action::SpaceLeave,
        Resource::Space(space_id),
        now,
    )?;
    if !confirm {
        return Err(RuleError::ConfirmationRequired { affected: 1 });
    }
    Ok(vec![Effect::SetSpaceRole {
        user_id: user_id.to_owned(),
        space_id: space_id.to_owned(),
        role: None,
    }])
}
