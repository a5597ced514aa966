//! Programs ("spaces") themselves: created, renamed and deleted by the org
//! admin tier (SPEC §4 `spaces.*`).

use crate::access::{authorize, authorize_org, Actor};
use crate::action::Action;
use crate::catalog::Trigger;
use crate::decide::Resource;
use crate::error::RuleError;
use crate::ids::SpaceId;
use crate::outcome::{Change, Outcome};
use crate::role::Role;
use crate::snapshot::{OrgSnapshot, Space, Timestamp};
use crate::text::Name;

/// Creating a space gives its creator no space role (API.md): org admins
/// reach it through their org role.
pub fn create_space(
    snapshot: &OrgSnapshot,
    actor: &Actor,
    id: SpaceId,
    name: Name,
    now: Timestamp,
) -> Result<Change, RuleError> {
    let grant = authorize_org(snapshot, actor, Action::SpacesCreate, now)?;
    Ok(Change::new(grant).with(Outcome::SpaceCreated {
        space: Space {
            id,
            name: name.into_string(),
        },
    }))
}

fn existing<'s>(snapshot: &'s OrgSnapshot, space_id: &SpaceId) -> Result<&'s Space, RuleError> {
    snapshot.space(space_id).ok_or(RuleError::NotFound("space"))
}

pub fn rename_space(
    snapshot: &OrgSnapshot,
    actor: &Actor,
    space_id: &SpaceId,
    name: Name,
    now: Timestamp,
) -> Result<Change, RuleError> {
    let space = existing(snapshot, space_id)?;
    let grant = authorize(
        snapshot,
        actor,
        Action::SpacesManage,
        Resource::Space(space_id),
        now,
    )?;
    let name = name.into_string();
    let change = Change::new(grant);
    if name == space.name {
        return Ok(change);
    }
    Ok(change.with(Outcome::SpaceRenamed {
        space_id: space_id.clone(),
        from: space.name.clone(),
        to: name,
    }))
}

/// Deleting a space deletes every role in it; an invitation whose every
/// target space is gone is revoked with the last of them (SPEC §19).
pub fn delete_space(
    snapshot: &OrgSnapshot,
    actor: &Actor,
    space_id: &SpaceId,
    now: Timestamp,
) -> Result<Change, RuleError> {
    let space = existing(snapshot, space_id)?;
    let grant = authorize(
        snapshot,
        actor,
        Action::SpacesDelete,
        Resource::Space(space_id),
        now,
    )?;
    let mut orphaned: Vec<_> = snapshot
        .pending_invitations()
        .filter(|inv| matches!(inv.role, Role::Space(_)))
        .filter(|inv| {
            inv.space_ids
                .iter()
                .all(|s| s == space_id || snapshot.space(s).is_none())
        })
        .collect();
    orphaned.sort_by(|a, b| a.id.cmp(&b.id));
    let mut change = Change::new(grant).with(Outcome::SpaceDeleted {
        space: space.clone(),
    });
    change.extend(orphaned.into_iter().map(|inv| Outcome::InvitationRevoked {
        invitation: inv.clone(),
        trigger: Trigger::Request,
    }));
    Ok(change)
}
