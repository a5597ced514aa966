//! Roles inside a program (SPEC §4): who may manage them, adding, changing
//! and removing them, and a participant leaving.

use crate::access::{authorize, authorize_org, target, Actor, Grant};
use crate::action::Action;
use crate::decide::Resource;
use crate::error::RuleError;
use crate::guards::guard_seat;
use crate::ids::{SpaceId, UserId};
use crate::outcome::{Change, Outcome};
use crate::role::SpaceRole;
use crate::snapshot::{Member, OrgSnapshot, Timestamp};

/// May the actor manage space roles in this space? Org admins through the
/// Admin Area (`members.change_role`), Program Admins of the space through
/// `members.manage` there.
pub fn authorize_space_roles(
    snapshot: &OrgSnapshot,
    actor: &Actor,
    space_id: &SpaceId,
    now: Timestamp,
) -> Result<Grant, RuleError> {
    if snapshot.space(space_id).is_none() {
        return Err(RuleError::NotFound("space"));
    }
    authorize_org(snapshot, actor, Action::MembersChangeRole, now).or_else(|_| {
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
    actor: &Actor,
    target: &Member,
    now: Timestamp,
) -> Result<(), RuleError> {
    let org_admin_target = target.effective_org_role(now).is_some();
    let org_admin_actor = authorize_org(snapshot, actor, Action::MembersChangeRole, now).is_ok();
    if org_admin_target && !org_admin_actor {
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
    actor: &Actor,
    space_id: &SpaceId,
    user_id: &UserId,
    role: SpaceRole,
    now: Timestamp,
) -> Result<Change, RuleError> {
    let grant = authorize_space_roles(snapshot, actor, space_id, now)?;
    let member = target(snapshot, user_id, now)?;
    guard_space_target(snapshot, actor, member, now)?;
    let change = Change::new(grant);
    let from = snapshot.space_role(member, space_id);
    if from == Some(role) {
        return Ok(change);
    }
    let mut after = member.clone();
    if let Some(space) = snapshot.space_index(space_id.as_str()) {
        after.set_space_role(space, Some(role));
    }
    guard_seat(snapshot, member, &after, now)?;
    Ok(change.with(Outcome::SpaceRoleSet {
        user_id: user_id.clone(),
        space_id: space_id.clone(),
        from,
        to: role,
    }))
}

/// `DELETE spaces/{space}/members/{user}`. Access that exists only through
/// the org role cannot be removed here (seed `002_…`: "Has not been removed").
pub fn remove_space_role(
    snapshot: &OrgSnapshot,
    actor: &Actor,
    space_id: &SpaceId,
    user_id: &UserId,
    now: Timestamp,
) -> Result<Change, RuleError> {
    let grant = authorize_space_roles(snapshot, actor, space_id, now)?;
    let member = target(snapshot, user_id, now)?;
    guard_space_target(snapshot, actor, member, now)?;
    let org_role = member.effective_org_role(now);
    match (snapshot.space_role(member, space_id), org_role) {
        (None, Some(org_role)) => Err(RuleError::InheritedAccess { org_role }),
        (None, None) => Err(RuleError::NotFound("space member")),
        (Some(from), retained_access) => Ok(Change::new(grant).with(Outcome::SpaceRoleRemoved {
            user_id: user_id.clone(),
            space_id: space_id.clone(),
            from,
            retained_access,
        })),
    }
}

/// What `remove_space_role` left: the org role that still reaches the space.
pub fn retained_access(change: &Change) -> Option<crate::role::OrgRole> {
    change.outcomes().iter().find_map(|o| match o {
        Outcome::SpaceRoleRemoved {
            retained_access, ..
        } => *retained_access,
        _ => None,
    })
}

/// A participant leaves a space themselves (SPEC §7), with confirmation.
pub fn leave_space(
    snapshot: &OrgSnapshot,
    actor: &Actor,
    space_id: &SpaceId,
    confirm: bool,
    now: Timestamp,
) -> Result<Change, RuleError> {
    if snapshot.space(space_id).is_none() {
        return Err(RuleError::NotFound("space"));
    }
    let Actor::User(user_id) = actor else {
        return Err(RuleError::Forbidden(
            "leaving a space needs a person: send X-Roster-Actor".into(),
        ));
    };
    let grant = authorize(
        snapshot,
        actor,
        Action::SpaceLeave,
        Resource::Space(space_id),
        now,
    )?;
    if !confirm {
        return Err(RuleError::ConfirmationRequired { affected: 1 });
    }
    Ok(Change::new(grant).with(Outcome::LeftSpace {
        user_id: user_id.clone(),
        space_id: space_id.clone(),
    }))
}
