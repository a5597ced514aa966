//! Deactivate, reactivate, remove (SPEC §7), one at a time or in bulk.

use crate::access::{authorize_org, target, Actor};
use crate::action::Action;
use crate::catalog::{BulkAction, Trigger};
use crate::error::RuleError;
use crate::guards::{guard_owner, guard_seat, require_owner};
use crate::ids::UserId;
use crate::outcome::{Change, EndReason, LeaveReason, Outcome};
use crate::role::OrgRole;
use crate::snapshot::{Invitation, Member, MemberStatus, OrgSnapshot, Timestamp};

/// SPEC §7 Deactivate: keeps roles and history, denies everything, frees the
/// seat, revokes tokens.
pub fn deactivate(
    snapshot: &OrgSnapshot,
    actor: &Actor,
    user_id: &UserId,
    now: Timestamp,
) -> Result<Change, RuleError> {
    single(snapshot, actor, BulkAction::Deactivate, user_id, now)
}

/// One person's step of an action, added to `change`.
type Step = fn(&mut Change, &OrgSnapshot, &Actor, &UserId, Timestamp) -> Result<(), RuleError>;

/// The action that guards each status change, and its step.
fn step(action: BulkAction) -> (Action, Step) {
    match action {
        BulkAction::Deactivate => (Action::MembersDeactivate, deactivate_into),
        BulkAction::Reactivate => (Action::MembersDeactivate, reactivate_into),
        BulkAction::Remove => (Action::MembersRemove, remove_into),
    }
}

fn single(
    snapshot: &OrgSnapshot,
    actor: &Actor,
    action: BulkAction,
    user_id: &UserId,
    now: Timestamp,
) -> Result<Change, RuleError> {
    let (guard, step) = step(action);
    let mut change = Change::new(authorize_org(snapshot, actor, guard, now)?);
    step(&mut change, snapshot, actor, user_id, now)?;
    Ok(change)
}

fn deactivate_into(
    change: &mut Change,
    snapshot: &OrgSnapshot,
    actor: &Actor,
    user_id: &UserId,
    now: Timestamp,
) -> Result<(), RuleError> {
    let member = target(snapshot, user_id, now)?;
    guard_owner(snapshot, actor, member, now)?;
    if member.is_active() {
        change.push(Outcome::Deactivated {
            user_id: user_id.clone(),
        });
        change.extend(revoke_sent_invitations(snapshot, user_id, Trigger::Request));
    }
    Ok(())
}

/// SPEC §7 Reactivate: needs a free seat.
pub fn reactivate(
    snapshot: &OrgSnapshot,
    actor: &Actor,
    user_id: &UserId,
    now: Timestamp,
) -> Result<Change, RuleError> {
    single(snapshot, actor, BulkAction::Reactivate, user_id, now)
}

fn reactivate_into(
    change: &mut Change,
    snapshot: &OrgSnapshot,
    actor: &Actor,
    user_id: &UserId,
    now: Timestamp,
) -> Result<(), RuleError> {
    let member = target(snapshot, user_id, now)?;
    if member.is_active() {
        return Ok(());
    }
    if member.org_role == Some(OrgRole::Owner) {
        require_owner(
            snapshot,
            actor,
            now,
            "only an Owner may reactivate an Owner",
        )?;
    }
    let mut after = member.clone();
    after.status = MemberStatus::Active;
    guard_seat(snapshot, member, &after, now)?;
    change.push(Outcome::Reactivated {
        user_id: user_id.clone(),
    });
    Ok(())
}

/// SPEC §7 Remove: membership and space roles deleted, tokens revoked. An
/// Implementation Admin removed this way ends their assignment too.
pub fn remove_member(
    snapshot: &OrgSnapshot,
    actor: &Actor,
    user_id: &UserId,
    now: Timestamp,
) -> Result<Change, RuleError> {
    single(snapshot, actor, BulkAction::Remove, user_id, now)
}

fn remove_into(
    change: &mut Change,
    snapshot: &OrgSnapshot,
    actor: &Actor,
    user_id: &UserId,
    now: Timestamp,
) -> Result<(), RuleError> {
    let member = target(snapshot, user_id, now)?;
    guard_owner(snapshot, actor, member, now)?;
    leave(change, snapshot, member, LeaveReason::Removed);
    if member.org_role == Some(OrgRole::ImplementationAdmin) {
        change.push(Outcome::ImplementationAdminEnded {
            member: member.clone(),
            reason: EndReason::Removed,
        });
    }
    Ok(())
}

/// Someone leaves the organization: their membership goes, and the
/// invitations they sent die with their authority.
pub(crate) fn leave(
    change: &mut Change,
    snapshot: &OrgSnapshot,
    member: &Member,
    reason: LeaveReason,
) {
    let trigger = match reason {
        LeaveReason::Removed => Trigger::Request,
        LeaveReason::ImplementationAdminEnded(end) => end.trigger(),
    };
    change.push(Outcome::LeftOrganization {
        user_id: member.user_id.clone(),
        reason,
    });
    change.extend(revoke_sent_invitations(snapshot, &member.user_id, trigger));
}

/// Invitations a person sent die when their access ends: they could not be
/// accepted any more, and would go on reserving seats until they expire.
fn revoke_sent_invitations(
    snapshot: &OrgSnapshot,
    user_id: &UserId,
    trigger: Trigger,
) -> Vec<Outcome> {
    let mut sent: Vec<&Invitation> = snapshot
        .pending_invitations()
        .filter(|inv| inv.invited_by.as_ref() == Some(user_id))
        .collect();
    sent.sort_by(|a, b| a.id.cmp(&b.id));
    sent.into_iter()
        .map(|inv| Outcome::InvitationRevoked {
            invitation: inv.clone(),
            trigger,
        })
        .collect()
}

/// The most people one bulk request names (API.md).
pub const MAX_BULK: usize = 500;

/// The values of a list field, each once, in their first order (API.md:
/// repeated values count once).
pub fn distinct<T: Eq + std::hash::Hash>(values: &[T]) -> Vec<&T> {
    let mut seen = rustc_hash::FxHashSet::default();
    values.iter().filter(|v| seen.insert(*v)).collect()
}

/// One person's result in a bulk request (SPEC §7: one failure does not
/// hide the others' results).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BulkResult {
    pub user_id: UserId,
    pub outcome: Result<(), RuleError>,
}

/// `POST …/members/bulk`: each person decided on the state the previous
/// ones left (two Owners deactivated together: the second is the last one).
/// Someone who may not do the action at all is refused as a whole.
pub fn bulk(
    snapshot: &OrgSnapshot,
    actor: &Actor,
    action: BulkAction,
    user_ids: &[UserId],
    now: Timestamp,
) -> Result<(Change, Vec<BulkResult>), RuleError> {
    let (guard, step) = step(action);
    let user_ids = distinct(user_ids);
    if user_ids.is_empty() || user_ids.len() > MAX_BULK {
        return Err(RuleError::Validation {
            field: "user_ids",
            message: format!("user_ids must hold 1 to {MAX_BULK} distinct ids"),
        });
    }
    let grant = authorize_org(snapshot, actor, guard, now)?;
    let mut change = Change::new(grant);
    let mut working = snapshot.clone();
    let mut results = Vec::with_capacity(user_ids.len());
    for user_id in user_ids {
        let mut one = Change::new(change.grant().clone());
        let done = step(&mut one, &working, actor, user_id, now);
        if done.is_ok() {
            for effect in one.effects() {
                working.apply(&effect);
            }
            change.extend(one.outcomes().iter().cloned());
        }
        results.push(BulkResult {
            user_id: user_id.clone(),
            outcome: done,
        });
    }
    Ok((change, results))
}
