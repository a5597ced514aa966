//! Organization roles (SPEC §4 "Who may change whom"): assigning, changing
//! and removing Owner, Admin and Implementation Admin.

use crate::access::{authorize_org, target, Actor};
use crate::action::Action;
use crate::duration::IaDuration;
use crate::error::RuleError;
use crate::guards::{guard_implementation_admin, guard_owner, guard_seat, require_owner};
use crate::ids::UserId;
use crate::implementation_admin::{end, inviter};
use crate::outcome::{Change, EndReason, Outcome};
use crate::role::OrgRole;
use crate::snapshot::{IaAssignment, OrgSnapshot, Timestamp};

/// `PATCH members/{user}` `{org_role}`: assign, change or remove an org role.
pub fn change_org_role(
    snapshot: &OrgSnapshot,
    actor: &Actor,
    user_id: &UserId,
    role: Option<OrgRole>,
    duration: Option<IaDuration>,
    now: Timestamp,
) -> Result<Change, RuleError> {
    let grant = authorize_org(snapshot, actor, Action::MembersChangeRole, now)?;
    let mut change = Change::new(grant);
    let member = target(snapshot, user_id, now)?;
    let current = member.org_role;
    if role != Some(OrgRole::ImplementationAdmin) && duration.is_some() {
        return Err(RuleError::Validation {
            field: "duration",
            message: "a duration is only for implementation_admin".into(),
        });
    }
    if role == current && role != Some(OrgRole::ImplementationAdmin) {
        return Ok(change);
    }
    // Nobody raises their own role or trades it sideways: an Implementation
    // Admin making themselves Admin would shed their time limit. Stepping
    // down (Owner to Admin, or giving the role up) is fine.
    if actor.is(user_id) && !steps_down(current, role) {
        return Err(RuleError::Forbidden(
            "you cannot raise or trade your own role".into(),
        ));
    }
    guard_owner(snapshot, actor, member, now)?;
    // An Implementation Admin whose role ends leaves the organization, as on
    // expiry (API.md).
    if current == Some(OrgRole::ImplementationAdmin) && role.is_none() {
        end(&mut change, snapshot, member, EndReason::Removed);
        return Ok(change);
    }
    let assignment = match role {
        Some(OrgRole::Owner) => {
            require_owner(
                snapshot,
                actor,
                now,
                "only an Owner may assign the Owner role",
            )?;
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
            let invited_by = match &member.ia {
                Some(ia) => ia.invited_by.clone(),
                None => inviter(snapshot, actor.user_id()),
            };
            Some(IaAssignment::new(duration, now, invited_by))
        }
        Some(OrgRole::Admin) | None => None,
    };
    let mut after = member.clone();
    after.org_role = role;
    after.ia = assignment.clone().map(Box::new);
    guard_seat(snapshot, member, &after, now)?;
    let kept_space_roles = if current.is_some() && role.is_none() {
        snapshot
            .space_roles_of(member)
            .map(|(space, role)| (space.clone(), role))
            .collect()
    } else {
        Vec::new()
    };
    Ok(change.with(Outcome::RoleChanged {
        user_id: user_id.clone(),
        from: current,
        to: role,
        assignment,
        kept_space_roles,
    }))
}

/// Whether going from `from` to `to` gives power up: Owner to Admin, or any
/// role to none.
fn steps_down(from: Option<OrgRole>, to: Option<OrgRole>) -> bool {
    matches!(
        (from, to),
        (Some(_), None) | (Some(OrgRole::Owner), Some(OrgRole::Admin))
    )
}
