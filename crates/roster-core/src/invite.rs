//! Invitations (SPEC §5): batches that are all-or-nothing, acceptance,
//! resend, revoke and expiry.

use chrono::{Duration, SubsecRound};

use crate::access::{authorize_org, Actor, Grant};
use crate::action::Action;
use crate::catalog::Trigger;
use crate::duration::IaDuration;
use crate::email::{split_email_list, Email};
use crate::error::{Rejected, RuleError};
use crate::guards::{
    allowed_domains, guard_duration, guard_implementation_admin, require_owner, seat_limit_reached,
};
use crate::ids::{BatchId, InvitationId, SpaceId};
use crate::implementation_admin::{end, inviter};
use crate::org::Account;
use crate::outcome::{Change, EndReason, Outcome};
use crate::role::{OrgRole, Role, SpaceRole};
use crate::snapshot::{IaAssignment, Invitation, InvitationStatus, Member, OrgSnapshot, Timestamp};
use crate::space_roles::{authorize_space_roles, guard_space_target};
use crate::status::distinct;
use crate::text::Name;

/// The most distinct addresses one batch may hold (SPEC §19).
pub const MAX_BATCH: usize = 500;
/// The most distinct spaces one request may name (SPEC §19).
pub const MAX_SPACES: usize = 100;

/// The addresses of a request: a JSON list, or one pasted string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EmailInput {
    List(Vec<String>),
    Text(String),
}

impl EmailInput {
    /// Raw entries, each once: list items are trimmed, a string is split on
    /// commas, semicolons and white space; empty entries are dropped.
    pub fn entries(&self) -> Vec<&str> {
        let raw: Vec<&str> = match self {
            EmailInput::List(items) => items
                .iter()
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
                .collect(),
            EmailInput::Text(text) => split_email_list(text),
        };
        distinct(&raw).into_iter().copied().collect()
    }
}

/// The spaces a request names, each once, at most [`MAX_SPACES`].
pub fn distinct_spaces(space_ids: &[SpaceId]) -> Result<Vec<SpaceId>, RuleError> {
    let spaces: Vec<SpaceId> = distinct(space_ids).into_iter().cloned().collect();
    if spaces.len() > MAX_SPACES {
        return Err(RuleError::Validation {
            field: "space_ids",
            message: format!("at most {MAX_SPACES} distinct spaces per request"),
        });
    }
    Ok(spaces)
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InviteRequest {
    pub emails: EmailInput,
    pub role: Role,
    pub space_ids: Vec<SpaceId>,
    pub duration: Option<IaDuration>,
    pub message: Option<String>,
}

/// Fresh ids for a batch and each of its invitations (made at the edge).
pub struct NewIds<'a> {
    pub batch: BatchId,
    pub invitation: &'a mut dyn FnMut() -> InvitationId,
}

/// Validates a whole batch and plans it. Nothing is planned unless every
/// address passes every rule; the error names each failing address.
/// Pending invitations get an email; existing members invited into spaces
/// get the roles at once (their invitation is `accepted`).
pub fn invite(
    snapshot: &OrgSnapshot,
    actor: &Actor,
    request: &InviteRequest,
    now: Timestamp,
    ttl: Duration,
    ids: NewIds<'_>,
) -> Result<Change, RuleError> {
    let space_ids = distinct_spaces(&request.space_ids)?;
    let grant = authorize_invite(
        snapshot,
        actor,
        request.role,
        request.duration,
        &space_ids,
        now,
    )?;
    let (emails, invalid) = parse_batch(request)?;
    if invalid.is_empty()
        && request.role == Role::Org(OrgRole::ImplementationAdmin)
        && !snapshot.settings.allow_implementation_admin
    {
        return Err(RuleError::ImplementationAdminDisabled);
    }
    check_addresses(
        snapshot,
        actor,
        request.role,
        &space_ids,
        &emails,
        invalid,
        now,
    )?;
    check_batch_seats(snapshot, request.role, &emails, now)?;

    let mut change = Change::new(grant);
    for email in emails {
        let mut invitation = Invitation {
            id: (ids.invitation)(),
            batch_id: ids.batch.clone(),
            email,
            role: request.role,
            space_ids: space_ids.clone(),
            duration: request.duration,
            message: request.message.clone(),
            status: InvitationStatus::Pending,
            expires_at: (now + ttl).trunc_subsecs(0),
            invited_by: actor.user_id().cloned(),
            send_count: 1,
            created_at: now,
        };
        // SPEC §5: inviting an existing member into a space adds the role.
        match (
            request.role,
            current_member(snapshot, &invitation.email, now),
        ) {
            (Role::Space(role), Some(member)) => {
                invitation.status = InvitationStatus::Accepted;
                change.push(Outcome::InvitationAccepted {
                    invitation,
                    user_id: member.user_id.clone(),
                    existing_member: true,
                });
                change.extend(space_roles_for(snapshot, member, &space_ids, role));
            }
            _ => change.push(Outcome::InvitationCreated { invitation }),
        }
    }
    Ok(change)
}

/// The invitations a batch made (pending or, for existing members,
/// accepted), in the order of its addresses.
pub fn invitations_of(change: &Change) -> Vec<&Invitation> {
    change
        .outcomes()
        .iter()
        .filter_map(|o| match o {
            Outcome::InvitationCreated { invitation }
            | Outcome::InvitationAccepted {
                invitation,
                existing_member: true,
                ..
            } => Some(invitation),
            _ => None,
        })
        .collect()
}

/// A member found by address, unless their access already ended (an
/// Implementation Admin past expiry has left, whether or not the job ran).
fn current_member<'s>(
    snapshot: &'s OrgSnapshot,
    email: &Email,
    now: Timestamp,
) -> Option<&'s Member> {
    snapshot
        .member_by_email(email)
        .filter(|m| !m.ia_expired(now))
}

fn space_roles_for(
    snapshot: &OrgSnapshot,
    member: &Member,
    space_ids: &[SpaceId],
    role: SpaceRole,
) -> Vec<Outcome> {
    space_ids
        .iter()
        .filter(|space| snapshot.space(space).is_some())
        .filter(|space| snapshot.space_role(member, space) != Some(role))
        .map(|space| Outcome::SpaceRoleSet {
            user_id: member.user_id.clone(),
            space_id: space.clone(),
            from: snapshot.space_role(member, space),
            to: role,
        })
        .collect()
}

/// Who may invite whom: Owners alone invite Owners; org roles need
/// `members.invite`; space roles need the right to manage roles in every
/// named space.
fn authorize_invite(
    snapshot: &OrgSnapshot,
    actor: &Actor,
    role: Role,
    duration: Option<IaDuration>,
    space_ids: &[SpaceId],
    now: Timestamp,
) -> Result<Grant, RuleError> {
    guard_duration(role == Role::Org(OrgRole::ImplementationAdmin), duration)?;
    match role {
        Role::Org(role) => {
            if !space_ids.is_empty() {
                return Err(RuleError::Validation {
                    field: "space_ids",
                    message: "spaces are only for space roles".into(),
                });
            }
            let grant = authorize_org(snapshot, actor, Action::MembersInvite, now)?;
            if role == OrgRole::Owner {
                require_owner(snapshot, actor, now, "only an Owner may invite an Owner")?;
            }
            Ok(grant)
        }
        Role::Space(_) => {
            let Some((first, rest)) = space_ids.split_first() else {
                return Err(RuleError::Validation {
                    field: "space_ids",
                    message: "a space role needs at least one space".into(),
                });
            };
            let grant = authorize_space_roles(snapshot, actor, first, now)?;
            for space in rest {
                authorize_space_roles(snapshot, actor, space, now)?;
            }
            Ok(grant)
        }
    }
}

/// Parses every address, deduplicated in order, with every unparsable one
/// named (reported together with the other rules' failures).
fn parse_batch(request: &InviteRequest) -> Result<(Vec<Email>, Vec<Rejected>), RuleError> {
    let entries = request.emails.entries();
    if entries.is_empty() {
        return Err(RuleError::Validation {
            field: "emails",
            message: "at least one email address is required".into(),
        });
    }
    if entries.len() > MAX_BATCH {
        return Err(RuleError::Validation {
            field: "emails",
            message: format!("at most {MAX_BATCH} distinct addresses per batch"),
        });
    }
    let mut emails: Vec<Email> = Vec::with_capacity(entries.len());
    let mut rejected = Vec::new();
    for entry in entries {
        match Email::parse(entry) {
            Ok(email) if !emails.contains(&email) => emails.push(email),
            Ok(_) => {}
            Err(err) => rejected.push(Rejected {
                email: entry.to_owned(),
                code: "validation_failed",
                reason: err.to_string(),
            }),
        }
    }
    Ok((emails, rejected))
}

/// The per-address business rules: the allowlist for Implementation
/// Admins, no second org role for an existing member, and no program role
/// a Program Admin may not touch. The error names every failing address of
/// the batch (SPEC §5), `invalid` ones included; its code is the first
/// failing rule of: validation, domain, membership, permission.
fn check_addresses(
    snapshot: &OrgSnapshot,
    actor: &Actor,
    role: Role,
    space_ids: &[SpaceId],
    emails: &[Email],
    invalid: Vec<Rejected>,
    now: Timestamp,
) -> Result<(), RuleError> {
    let mut outside_allowlist = Vec::new();
    let mut members = Vec::new();
    let mut forbidden = Vec::new();
    for email in emails {
        if role == Role::Org(OrgRole::ImplementationAdmin)
            && !snapshot.settings.ia_domains.allows(email)
        {
            outside_allowlist.push(Rejected::new(email.as_str(), "domain_not_allowed"));
        }
        let Some(member) = current_member(snapshot, email, now) else {
            continue;
        };
        let conflicts = match role {
            Role::Org(_) => true,
            Role::Space(_) => space_ids
                .iter()
                .any(|space| snapshot.space_role(member, space).is_some()),
        };
        if conflicts {
            members.push(Rejected::new(email.as_str(), "already_member"));
        } else if guard_space_target(snapshot, actor, member, now).is_err() {
            forbidden.push(Rejected::new(email.as_str(), "forbidden"));
        }
    }
    let mut groups = [
        (invalid, None),
        (outside_allowlist, Some("domain")),
        (members, Some("member")),
        (forbidden, Some("forbidden")),
    ]
    .into_iter()
    .filter(|(rejected, _)| !rejected.is_empty());
    let Some((mut rejected, first)) = groups.next() else {
        return Ok(());
    };
    for (more, _) in groups {
        rejected.extend(more);
    }
    Err(match first {
        None => RuleError::InvalidEmails { rejected },
        Some("domain") => RuleError::DomainNotAllowed {
            allowed: allowed_domains(snapshot),
            rejected,
        },
        Some("member") => RuleError::AlreadyMember { rejected },
        _ => RuleError::ForbiddenAddresses { rejected },
    })
}

/// Each new person with a seat-using role needs a seat (reserved while the
/// invitation is pending).
fn check_batch_seats(
    snapshot: &OrgSnapshot,
    role: Role,
    emails: &[Email],
    now: Timestamp,
) -> Result<(), RuleError> {
    if !snapshot.settings.seat_policy.uses_seat(role) {
        return Ok(());
    }
    let needed = || {
        let reserving = snapshot.reserving_emails(now);
        emails
            .iter()
            .filter(|email| !reserving.contains(email))
            .filter(|email| {
                !current_member(snapshot, email, now)
                    .is_some_and(|m| snapshot.uses_seat(m, now) || !m.is_active())
            })
            .count() as u32
    };
    if snapshot.seats_fit(needed, now) {
        Ok(())
    } else {
        Err(seat_limit_reached(snapshot))
    }
}

/// `POST /v1/invitations/accept`: the membership and roles the invitation
/// promised, if it is still open and its rules still hold. `account` is
/// the person's account, found or created by address under the lock;
/// `name` is the name they gave, saved on the account.
pub fn accept_invitation(
    snapshot: &OrgSnapshot,
    invitation_id: &InvitationId,
    account: &Account,
    name: Option<Name>,
    now: Timestamp,
) -> Result<Change, RuleError> {
    let not_pending = |message: &str| RuleError::Conflict {
        code: "invitation_not_pending",
        message: message.to_owned(),
    };
    let invitation = snapshot
        .invitation(invitation_id)
        .filter(|inv| inv.is_open(now))
        .ok_or_else(|| not_pending("this invitation is no longer valid"))?;
    let spaces: Vec<&SpaceId> = invitation
        .space_ids
        .iter()
        .filter(|space| snapshot.space(space).is_some())
        .collect();
    if matches!(invitation.role, Role::Space(_)) && spaces.is_empty() {
        return Err(not_pending(
            "this invitation is no longer valid: its programs were deleted",
        ));
    }
    guard_inviter(snapshot, invitation, now)?;
    let mut change = Change::new(Grant::person(snapshot, &account.user_id));
    // An Implementation Admin past expiry has left already (SPEC §4 rule 2):
    // their stale membership ends here if the job has not ended it yet.
    let stored = snapshot.member(&account.user_id);
    let existing = match stored {
        Some(m) if m.ia_expired(now) => {
            end(&mut change, snapshot, m, EndReason::Expired);
            None
        }
        other => other,
    };
    let mut before = Member::new(
        account.user_id.clone(),
        invitation.email.clone(),
        account.name.clone(),
    );
    if let Some(member) = existing {
        before = member.clone();
    } else {
        change.push(Outcome::MemberAdded {
            member: before.clone(),
        });
    }
    // A new account was created with the name given; an existing one saves it.
    if let Some(name) = name.map(Name::into_string) {
        if !account.created && name != account.name {
            change.push(Outcome::NameSaved {
                user_id: account.user_id.clone(),
                name,
            });
        }
    }
    let mut accepted = invitation.clone();
    accepted.status = InvitationStatus::Accepted;
    change.push(Outcome::InvitationAccepted {
        invitation: accepted,
        user_id: account.user_id.clone(),
        existing_member: false,
    });
    let mut after = before.clone();
    match invitation.role {
        Role::Org(role) => {
            if existing.is_some() {
                return Err(RuleError::AlreadyMember {
                    rejected: vec![Rejected::new(invitation.email.as_str(), "already_member")],
                });
            }
            let assignment = match role {
                OrgRole::ImplementationAdmin => {
                    let duration = guard_implementation_admin(
                        snapshot,
                        &invitation.email,
                        invitation.duration,
                    )?;
                    let invited_by = inviter(snapshot, invitation.invited_by.as_ref());
                    Some(IaAssignment::new(duration, now, invited_by))
                }
                OrgRole::Owner | OrgRole::Admin => None,
            };
            after.org_role = Some(role);
            after.ia = assignment.clone().map(Box::new);
            change.push(Outcome::RoleChanged {
                user_id: account.user_id.clone(),
                from: None,
                to: Some(role),
                assignment,
                kept_space_roles: Vec::new(),
            });
        }
        Role::Space(role) => {
            for space in spaces {
                if let Some(index) = snapshot.space_index(space.as_str()) {
                    after.set_space_role(index, Some(role));
                }
            }
            change.extend(space_roles_for(
                snapshot,
                &before,
                &invitation.space_ids,
                role,
            ));
        }
    }
    guard_acceptance_seat(snapshot, &before, &after, existing.is_some(), now)?;
    Ok(change)
}

/// The invitation's reservation becomes the person's seat: accepting fails
/// only when the limit was lowered below what was reserved.
fn guard_acceptance_seat(
    snapshot: &OrgSnapshot,
    before: &Member,
    after: &Member,
    was_member: bool,
    now: Timestamp,
) -> Result<(), RuleError> {
    let uses_before = was_member && snapshot.uses_seat(before, now);
    if uses_before || !snapshot.uses_seat(after, now) {
        return Ok(());
    }
    // The invitation's reservation becomes a seat, so the seats used after
    // it must fit the limit whatever else is reserved.
    let Some(limit) = snapshot.settings.seat_limit else {
        return Ok(());
    };
    if snapshot.seat_usage(now).used < limit {
        Ok(())
    } else {
        Err(seat_limit_reached(snapshot))
    }
}

/// An invitation grants only what its sender may still grant: one sent by
/// someone who has since lost that power (removed, deactivated, demoted, an
/// Implementation Admin whose time ran out) cannot be accepted.
fn guard_inviter(
    snapshot: &OrgSnapshot,
    invitation: &Invitation,
    now: Timestamp,
) -> Result<(), RuleError> {
    let Some(inviter) = invitation.invited_by.clone() else {
        return Ok(());
    };
    let actor = Actor::User(inviter);
    let still_may = match invitation.role {
        Role::Org(OrgRole::Owner) => {
            authorize_org(snapshot, &actor, Action::OwnerAssign, now).map(drop)
        }
        Role::Org(_) => authorize_org(snapshot, &actor, Action::MembersInvite, now).map(drop),
        Role::Space(_) => invitation
            .space_ids
            .iter()
            .filter(|space| snapshot.space(space).is_some())
            .try_for_each(|space| authorize_space_roles(snapshot, &actor, space, now).map(drop)),
    };
    still_may.map_err(|_| RuleError::Conflict {
        code: "invitation_not_pending",
        message: "this invitation is no longer valid: the person who sent it can no longer grant this role".into(),
    })
}

fn authorize_on_invitation<'s>(
    snapshot: &'s OrgSnapshot,
    actor: &Actor,
    invitation_id: &InvitationId,
    now: Timestamp,
) -> Result<(Grant, &'s Invitation), RuleError> {
    let invitation = snapshot
        .invitation(invitation_id)
        .ok_or(RuleError::NotFound("pending invitation"))?;
    let spaces: Vec<&SpaceId> = invitation
        .space_ids
        .iter()
        .filter(|space| snapshot.space(space).is_some())
        .collect();
    let grant = match (invitation.role, spaces.split_first()) {
        // Once every invited space is deleted, nobody manages it there: only
        // org-level inviters may act on it.
        (Role::Space(_), Some((first, rest))) => {
            let grant = authorize_space_roles(snapshot, actor, first, now)?;
            for space in rest {
                authorize_space_roles(snapshot, actor, space, now)?;
            }
            grant
        }
        (Role::Org(_) | Role::Space(_), _) => {
            authorize_org(snapshot, actor, Action::MembersInvite, now)?
        }
    };
    Ok((grant, invitation))
}

/// Resend: a fresh expiry and one more send.
pub fn resend_invitation(
    snapshot: &OrgSnapshot,
    actor: &Actor,
    invitation_id: &InvitationId,
    now: Timestamp,
    ttl: Duration,
) -> Result<Change, RuleError> {
    let (grant, invitation) = authorize_on_invitation(snapshot, actor, invitation_id, now)?;
    let mut invitation = invitation.clone();
    // A resend renews the grant (even past its expiry): Owners alone grant Owner.
    if invitation.role == Role::Org(OrgRole::Owner) {
        require_owner(
            snapshot,
            actor,
            now,
            "only an Owner may resend an Owner invitation",
        )?;
    }
    if invitation.role == Role::Org(OrgRole::ImplementationAdmin)
        && !snapshot.settings.allow_implementation_admin
    {
        return Err(RuleError::ImplementationAdminDisabled);
    }
    // A lapsed invitation reserves nothing any more: renewing it takes a
    // seat again, so it needs one.
    if !invitation.is_open(now) {
        check_batch_seats(
            snapshot,
            invitation.role,
            std::slice::from_ref(&invitation.email),
            now,
        )?;
    }
    invitation.expires_at = (now + ttl).trunc_subsecs(0);
    invitation.send_count = invitation.send_count.saturating_add(1);
    Ok(Change::new(grant).with(Outcome::InvitationResent { invitation }))
}

pub fn revoke_invitation(
    snapshot: &OrgSnapshot,
    actor: &Actor,
    invitation_id: &InvitationId,
    now: Timestamp,
) -> Result<Change, RuleError> {
    let (grant, invitation) = authorize_on_invitation(snapshot, actor, invitation_id, now)?;
    Ok(Change::new(grant).with(Outcome::InvitationRevoked {
        invitation: invitation.clone(),
        trigger: Trigger::Request,
    }))
}

/// The job's work: pending invitations past their expiry become expired.
pub fn expire_invitations(snapshot: &OrgSnapshot, now: Timestamp) -> Change {
    let mut expired: Vec<&Invitation> = snapshot
        .pending_invitations()
        .filter(|inv| inv.expires_at <= now)
        .collect();
    expired.sort_by(|a, b| a.id.cmp(&b.id));
    let mut change = Change::new(Grant::system(snapshot));
    change.extend(expired.into_iter().map(|inv| Outcome::InvitationExpired {
        invitation: inv.clone(),
    }));
    change
}
