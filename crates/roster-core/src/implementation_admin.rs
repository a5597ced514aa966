//! The Implementation Admin lifecycle (SPEC §6, seed `000_…`): early
//! removal, automatic expiry, the organization's toggle and the platform's
//! reviews of Forever assignments.

use crate::access::{authorize_org, authorize_platform, target, Actor, Grant};
use crate::action::Action;
use crate::catalog::Trigger;
use crate::error::RuleError;
use crate::ids::UserId;
use crate::outcome::{Change, EndReason, LeaveReason, Outcome};
use crate::role::{OrgRole, Role};
use crate::snapshot::{Inviter, Member, OrgSnapshot, Timestamp};
use crate::status::leave;

/// The inviter a new assignment records: the person acting, with the
/// address their "access ended" email will go to; `None` for the platform.
pub(crate) fn inviter(snapshot: &OrgSnapshot, user: Option<&UserId>) -> Option<Inviter> {
    let member = snapshot.member(user?)?;
    Some(Inviter {
        user_id: member.user_id.clone(),
        email: member.email.clone(),
    })
}

/// Ends one assignment: the person leaves the organization.
pub(crate) fn end(change: &mut Change, snapshot: &OrgSnapshot, member: &Member, reason: EndReason) {
    leave(
        change,
        snapshot,
        member,
        LeaveReason::ImplementationAdminEnded(reason),
    );
    change.push(Outcome::ImplementationAdminEnded {
        member: member.clone(),
        reason,
    });
}

/// Early removal by an Owner, Admin or Implementation Admin (SPEC §6): they
/// leave the organization at once, as on expiry. `confirm` is the explicit
/// confirmation the API asks for.
pub fn remove_implementation_admin(
    snapshot: &OrgSnapshot,
    actor: &Actor,
    user_id: &UserId,
    confirm: bool,
    now: Timestamp,
) -> Result<Change, RuleError> {
    let grant = authorize_org(snapshot, actor, Action::MembersRemove, now)?;
    let member = target(snapshot, user_id, now)?;
    if member.org_role != Some(OrgRole::ImplementationAdmin) {
        return Err(RuleError::Conflict {
            code: "not_implementation_admin",
            message: "this member is not an Implementation Admin".into(),
        });
    }
    if !confirm {
        return Err(RuleError::ConfirmationRequired { affected: 1 });
    }
    let mut change = Change::new(grant);
    end(&mut change, snapshot, member, EndReason::Removed);
    Ok(change)
}

/// Implementation Admins whose assignment has ended at `now`.
pub fn expired_implementation_admins(snapshot: &OrgSnapshot, now: Timestamp) -> Vec<&Member> {
    snapshot
        .members()
        .filter(|m| m.org_role == Some(OrgRole::ImplementationAdmin) && m.ia_expired(now))
        .collect()
}

/// The expiry job's work for one organization (SPEC §6): every assignment
/// that has ended leaves, with the original inviter as actor. Run under the
/// organization's lock on a fresh snapshot, so it happens exactly once.
pub fn expire_due(snapshot: &OrgSnapshot, now: Timestamp) -> Change {
    let mut change = Change::new(Grant::system(snapshot));
    let mut due = expired_implementation_admins(snapshot, now);
    due.sort_by(|a, b| a.user_id.cmp(&b.user_id));
    for member in due {
        end(&mut change, snapshot, member, EndReason::Expired);
    }
    change
}

/// `PUT settings/implementation-admin`: turning it off removes every active
/// Implementation Admin, but only when confirmed (SPEC §6).
pub fn set_implementation_admin_enabled(
    snapshot: &OrgSnapshot,
    actor: &Actor,
    enabled: bool,
    confirm: bool,
    now: Timestamp,
) -> Result<Change, RuleError> {
    let grant = authorize_org(snapshot, actor, Action::SettingsManage, now)?;
    let mut change = Change::new(grant);
    if enabled == snapshot.settings.allow_implementation_admin {
        return Ok(change);
    }
    if !enabled {
        let mut active: Vec<&Member> = snapshot
            .members()
            .filter(|m| m.org_role == Some(OrgRole::ImplementationAdmin) && !m.ia_expired(now))
            .collect();
        if !active.is_empty() && !confirm {
            return Err(RuleError::ConfirmationRequired {
                affected: active.len(),
            });
        }
        active.sort_by(|a, b| a.user_id.cmp(&b.user_id));
        for member in &active {
            end(&mut change, snapshot, member, EndReason::SettingDisabled);
        }
        let mut open: Vec<_> = snapshot
            .pending_invitations()
            .filter(|inv| inv.role == Role::Org(OrgRole::ImplementationAdmin))
            // Those the removed people sent are revoked with them already.
            .filter(|inv| {
                !inv.invited_by
                    .as_ref()
                    .is_some_and(|sender| active.iter().any(|m| &m.user_id == sender))
            })
            .collect();
        open.sort_by(|a, b| a.id.cmp(&b.id));
        change.extend(open.into_iter().map(|inv| Outcome::InvitationRevoked {
            invitation: inv.clone(),
            trigger: Trigger::SettingDisabled,
        }));
    }
    let mut settings = snapshot.settings.clone();
    settings.allow_implementation_admin = enabled;
    Ok(change.with(Outcome::ImplementationAdminSetting { enabled, settings }))
}

/// The users a toggle change removed.
pub fn removed_by(change: &Change) -> Vec<UserId> {
    change
        .outcomes()
        .iter()
        .filter_map(|o| match o {
            Outcome::ImplementationAdminEnded { member, .. } => Some(member.user_id.clone()),
            _ => None,
        })
        .collect()
}

/// The platform records a periodic review of a Forever assignment (SPEC §1).
pub fn record_forever_review(
    snapshot: &OrgSnapshot,
    actor: &Actor,
    user_id: &UserId,
    now: Timestamp,
) -> Result<Change, RuleError> {
    let grant = authorize_platform(snapshot, actor)?;
    let forever = snapshot.member(user_id).is_some_and(|m| {
        m.org_role == Some(OrgRole::ImplementationAdmin)
            && m.ia.as_ref().is_some_and(|ia| ia.expires_at.is_none())
            && !m.ia_expired(now)
    });
    if !forever {
        return Err(RuleError::NotFound(
            "Forever Implementation Admin assignment",
        ));
    }
    Ok(Change::new(grant).with(Outcome::ForeverReviewRecorded {
        user_id: user_id.clone(),
    }))
}
