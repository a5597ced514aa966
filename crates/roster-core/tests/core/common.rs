//! Builders shared by the modules: a small organization, people in it, ids
//! from short names, and readers for what a change did.

use std::fmt::Debug;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{Duration, TimeZone, Utc};
use roster_core::invite::{self, invitations_of, EmailInput, InviteRequest, NewIds};
use roster_core::*;

pub const OWNER: Option<OrgRole> = Some(OrgRole::Owner);
pub const ADMIN: Option<OrgRole> = Some(OrgRole::Admin);
pub const IA: Option<OrgRole> = Some(OrgRole::ImplementationAdmin);

pub fn now() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap()
}

/// How long an invitation stays open (the default of SPEC §5).
pub fn ttl() -> Duration {
    Duration::days(14)
}

pub fn uid(id: &str) -> UserId {
    UserId::from(id)
}

pub fn sid(id: &str) -> SpaceId {
    SpaceId::from(id)
}

/// The person `user` acting.
pub fn by(user: &str) -> Actor {
    Actor::user(user)
}

pub fn email(address: &str) -> Email {
    Email::parse(address).unwrap()
}

/// Fresh ids, unique across the whole test binary (tests run in parallel).
pub fn fresh(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(1);
    format!("{prefix}{:06}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// An organization with two spaces, `s1` and `s2`, and nobody in it.
pub fn org() -> OrgSnapshot {
    let mut snap = OrgSnapshot::new("org".into(), "Coaching Co".into(), OrgSettings::default());
    for space in ["s1", "s2"] {
        snap.add_space(Space {
            id: space.into(),
            name: space.into(),
        });
    }
    snap
}

/// A member `user` at `user@example.com`; an Implementation Admin gets one
/// month from [`now`], assigned by the platform.
pub fn add(snap: &mut OrgSnapshot, user: &str, org_role: Option<OrgRole>) {
    add_with_email(snap, user, &format!("{user}@example.com"), org_role);
}

/// [`add`] with a chosen address.
pub fn add_with_email(
    snap: &mut OrgSnapshot,
    user: &str,
    address: &str,
    org_role: Option<OrgRole>,
) {
    let mut m = Member::new(uid(user), email(address), user.into());
    m.org_role = org_role;
    if org_role == IA {
        m.ia = Some(Box::new(IaAssignment::new(
            IaDuration::OneMonth,
            now(),
            None,
        )));
    }
    snap.add_member(m);
}

pub fn set_space(snap: &mut OrgSnapshot, user: &str, space: &str, role: SpaceRole) {
    snap.load_space_role(uid(user), sid(space), role);
}

pub fn deactivated(snap: &mut OrgSnapshot, user: &str) {
    snap.apply(&Effect::SetStatus {
        user_id: uid(user),
        status: MemberStatus::Deactivated,
    });
}

pub fn seat_limit(snap: &mut OrgSnapshot, limit: u32) {
    let mut settings = snap.settings.clone();
    settings.seat_limit = Some(limit);
    snap.apply(&Effect::SetSettings(settings));
}

/// Turns the Implementation Admin setting on with this allowlist.
pub fn enable_ia(snap: &mut OrgSnapshot, domains: &[&str]) {
    let mut settings = snap.settings.clone();
    settings.allow_implementation_admin = true;
    settings.ia_domains = DomainAllowlist::parse_all(domains.iter().copied()).unwrap();
    snap.apply(&Effect::SetSettings(settings));
}

/// An organization with two Owners, an Admin, an Implementation Admin and a
/// participant of `s1`, so no "last Owner" rule hides a permission rule.
pub fn staffed() -> OrgSnapshot {
    let mut snap = org();
    add(&mut snap, "owner", OWNER);
    add(&mut snap, "owner2", OWNER);
    add(&mut snap, "admin", ADMIN);
    add(&mut snap, "ia", IA);
    add(&mut snap, "member", None);
    set_space(&mut snap, "member", "s1", SpaceRole::Participant);
    snap
}

/// [`staffed`] plus `pa`, Program Admin of `s1`, and `target`, a member
/// with no role.
pub fn with_program_admin() -> OrgSnapshot {
    let mut snap = staffed();
    add(&mut snap, "pa", None);
    set_space(&mut snap, "pa", "s1", SpaceRole::ProgramAdmin);
    add(&mut snap, "target", None);
    snap
}

/// Stores what a change did.
pub fn apply(snap: &mut OrgSnapshot, change: &Change) {
    for effect in change.effects() {
        snap.apply(&effect);
    }
}

pub fn role_of(snap: &OrgSnapshot, user: &str) -> Option<OrgRole> {
    snap.member(&uid(user)).unwrap().org_role
}

pub fn space_role_of(snap: &OrgSnapshot, user: &str, space: &str) -> Option<SpaceRole> {
    snap.space_role(snap.member(&uid(user)).unwrap(), &sid(space))
}

/// A member's explicit space roles, by space id.
pub fn space_roles(snap: &OrgSnapshot, user: &str) -> Vec<(String, SpaceRole)> {
    let m = snap.member(&uid(user)).unwrap();
    snap.space_roles_of(m)
        .map(|(space, role)| (space.to_string(), role))
        .collect()
}

pub fn is_member(snap: &OrgSnapshot, user: &str) -> bool {
    snap.member(&uid(user)).is_some()
}

/// When the Implementation Admin `user`'s assignment ends.
pub fn ia_expiry(snap: &OrgSnapshot, user: &str) -> Timestamp {
    snap.member(&uid(user))
        .and_then(|m| m.ia.as_ref())
        .and_then(|ia| ia.expires_at)
        .unwrap()
}

pub fn allowed(snap: &OrgSnapshot, user: &str, action: Action, resource: Resource<'_>) -> bool {
    decide(snap, &uid(user), action, resource, now()).allowed
}

#[track_caller]
pub fn forbidden<T: Debug>(result: Result<T, RuleError>) {
    match result {
        Err(RuleError::Forbidden(_)) => {}
        other => panic!("expected forbidden, got {other:?}"),
    }
}

#[track_caller]
pub fn validation<T: Debug>(result: Result<T, RuleError>, field: &str) {
    match result {
        Err(RuleError::Validation { field: f, .. }) if f == field => {}
        other => panic!("expected a validation error on {field}, got {other:?}"),
    }
}

/// The addresses an error names, sorted.
pub fn rejected_emails(err: &RuleError) -> Vec<String> {
    let mut v: Vec<String> = err.rejected().iter().map(|r| r.email.clone()).collect();
    v.sort();
    v
}

pub fn org_role(r: OrgRole) -> Role {
    Role::Org(r)
}

pub fn space_role(r: SpaceRole) -> Role {
    Role::Space(r)
}

pub fn request(
    emails: &[&str],
    role: Role,
    spaces: &[&str],
    duration: Option<IaDuration>,
) -> InviteRequest {
    InviteRequest {
        emails: EmailInput::List(emails.iter().map(|s| s.to_string()).collect()),
        role,
        space_ids: spaces.iter().copied().map(sid).collect(),
        duration,
        message: None,
    }
}

/// A batch sent by `actor` at `at`, with fresh ids.
pub fn send(
    snap: &OrgSnapshot,
    actor: &Actor,
    request: &InviteRequest,
    at: Timestamp,
    ttl: Duration,
) -> Result<Change, RuleError> {
    let mut next = || InvitationId::from(fresh("inv"));
    invite::invite(
        snap,
        actor,
        request,
        at,
        ttl,
        NewIds {
            batch: BatchId::from(fresh("bat")),
            invitation: &mut next,
        },
    )
}

/// A batch sent by the person `actor` now.
pub fn invite(
    snap: &OrgSnapshot,
    actor: &str,
    emails: &[&str],
    role: Role,
    spaces: &[&str],
    duration: Option<IaDuration>,
) -> Result<Change, RuleError> {
    send(
        snap,
        &by(actor),
        &request(emails, role, spaces, duration),
        now(),
        ttl(),
    )
}

/// The ids of the invitations a batch made, in the order of its addresses.
pub fn invited(change: &Change) -> Vec<InvitationId> {
    invitations_of(change)
        .into_iter()
        .map(|inv| inv.id.clone())
        .collect()
}

/// The account of a person accepting: `user` with the invitation's address.
pub fn account(snap: &OrgSnapshot, invitation: &InvitationId, user: &str) -> Account {
    let address = snap
        .invitation(invitation)
        .map(|inv| inv.email.clone())
        .unwrap_or_else(|| email(&format!("{user}@example.com")));
    Account {
        user_id: uid(user),
        email: address,
        name: user.into(),
        created: snap.member(&uid(user)).is_none(),
    }
}

/// `user` accepts the invitation at `at`; what happened is stored.
pub fn accept(
    snap: &mut OrgSnapshot,
    invitation: &InvitationId,
    user: &str,
    at: Timestamp,
) -> Result<Change, RuleError> {
    let account = account(snap, invitation, user);
    let change = invite::accept_invitation(snap, invitation, &account, None, at)?;
    apply(snap, &change);
    Ok(change)
}

/// Who left the organization in a change, and why.
pub fn left(change: &Change) -> Vec<(String, LeaveReason)> {
    change
        .outcomes()
        .iter()
        .filter_map(|o| match o {
            Outcome::LeftOrganization { user_id, reason } => Some((user_id.to_string(), *reason)),
            _ => None,
        })
        .collect()
}

/// Whose Implementation Admin role ended in a change, and why.
pub fn ended(change: &Change) -> Vec<(String, EndReason)> {
    change
        .outcomes()
        .iter()
        .filter_map(|o| match o {
            Outcome::ImplementationAdminEnded { member, reason } => {
                Some((member.user_id.to_string(), *reason))
            }
            _ => None,
        })
        .collect()
}

/// The invitations a change revoked, with the kind of cause.
pub fn revoked(change: &Change) -> Vec<(InvitationId, Trigger)> {
    change
        .outcomes()
        .iter()
        .filter_map(|o| match o {
            Outcome::InvitationRevoked {
                invitation,
                trigger,
            } => Some((invitation.id.clone(), *trigger)),
            _ => None,
        })
        .collect()
}

/// Whether storing the change revokes every token `user` holds, for `reason`.
pub fn revokes_tokens(change: &Change, user: &str, reason: RevokeReason) -> bool {
    change.effects().contains(&Effect::RevokeTokens {
        user_id: uid(user),
        reason,
    })
}
