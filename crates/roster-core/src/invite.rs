//! Invitations (SPEC §5): batches that are all-or-nothing, acceptance,
//! resend, revoke and expiry.

use chrono::{Duration, SubsecRound};

use crate::action::Action;
use crate::decide::Resource;
use crate::duration::IaDuration;
use crate::email::{split_email_list, Email};
use crate::error::{Rejected, RuleError};
use crate::manage::{
    allowed_domains, authorize, authorize_space_roles, guard_implementation_admin, Actor,
};
use crate::role::{OrgRole, Role, SpaceRole};
use crate::snapshot::{
    Effect, IaAssignment, Invitation, InvitationStatus, Member, OrgSnapshot, Timestamp,
};

/// The most addresses one batch may hold.
pub const MAX_BATCH: usize = 500;

/// The addresses of a request: a JSON list, or one pasted string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EmailInput {
    List(Vec<String>),
    Text(String),
}

impl EmailInput {
    /// Raw entries: list items are trimmed, a string is split on commas,
    /// semicolons and white space; empty entries are dropped.
    pub fn entries(&self) -> Vec<&str> {
        match self {
            EmailInput::List(items) => items
                .iter()
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
                .collect(),
            EmailInput::Text(text) => split_email_list(text),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InviteRequest {
    pub emails: EmailInput,
    pub role: Role,
    pub space_ids: Vec<String>,
    pub duration: Option<IaDuration>,
    pub message: Option<String>,
}

/// What a valid batch creates: the invitations (pending ones get an email;
/// `accepted` ones were existing members added to spaces at once) and the
/// effects to persist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvitePlan {
    pub batch_id: String,
    pub invitations: Vec<Invitation>,
    pub effects: Vec<Effect>,
}

/// Validates a whole batch and plans it. `new_id` is called for the batch
/// id first, then once per invitation. Nothing is planned unless every
/// address passes every rule; the error names each failing address.
pub fn plan_invitations(
    snapshot: &OrgSnapshot,
    actor: Actor<'_>,
    request: &InviteRequest,
    now: Timestamp,
    ttl: Duration,
    new_id: &mut dyn FnMut() -> String,
) -> Result<InvitePlan, RuleError> {
    authorize_invite(snapshot, actor, request, now)?;
    let (emails, invalid) = parse_batch(request)?;
    if invalid.is_empty()
        && request.role == Role::Org(OrgRole::ImplementationAdmin)
        && !snapshot.settings.allow_implementation_admin
    {
        return Err(RuleError::ImplementationAdminDisabled);
    }
    check_addresses(snapshot, request, &emails, invalid, now)?;
    check_batch_seats(snapshot, request.role, &emails, now)?;

    let batch_id = new_id();
    let mut plan = InvitePlan {
        batch_id: batch_id.clone(),
        invitations: Vec::with_capacity(emails.len()),
        effects: Vec::new(),
    };
    for email in emails {
        let mut invitation = Invitation {
            id: new_id(),
            batch_id: batch_id.clone(),
            email,
            role: request.role,
            space_ids: request.space_ids.clone(),
            duration: request.duration,
            message: request.message.clone(),
            status: InvitationStatus::Pending,
            expires_at: (now + ttl).trunc_subsecs(0),
            invited_by: actor.user_id().map(str::to_owned),
            send_count: 1,
            created_at: now,
        };
        // SPEC §5: inviting an existing member into a space adds the role.
        if let (Role::Space(role), Some(member)) =
            (request.role, snapshot.member_by_email(&invitation.email))
        {
            crate::manage::guard_space_target(snapshot, actor, member, now)?;
            invitation.status = InvitationStatus::Accepted;
            plan.effects.extend(space_role_effects(
                &member.user_id,
                &request.space_ids,
                role,
            ));
        }
        plan.effects.push(Effect::PutInvitation(invitation.clone()));
        plan.invitations.push(invitation);
    }
    Ok(plan)
}

/// Who may invite whom: Owners alone invite Owners; org roles need
/// `members.invite`; space roles need the right to manage roles in every
/// named space.
fn authorize_invite(
    snapshot: &OrgSnapshot,
    actor: Actor<'_>,
    request: &InviteRequest,
    now: Timestamp,
) -> Result<(), RuleError> {
    match (request.role, request.duration) {
        (Role::Org(OrgRole::ImplementationAdmin), None) => {
            return Err(RuleError::Validation {
                field: "duration",
                message: "a duration is required for implementation_admin".into(),
            })
        }
        (Role::Org(OrgRole::ImplementationAdmin), Some(_)) | (_, None) => {}
        (_, Some(_)) => {
            return Err(RuleError::Validation {
                field: "duration",
                message: "a duration is only for implementation_admin".into(),
            })
        }
    }
    match request.role {
        Role::Org(role) => {
            if !request.space_ids.is_empty() {
                return Err(RuleError::Validation {
                    field: "space_ids",
                    message: "spaces are only for space roles".into(),
                });
            }
            authorize(
                snapshot,
                actor,
                Action::MembersInvite,
                Resource::Organization,
                now,
            )?;
            if role == OrgRole::Owner {
                authorize(
                    snapshot,
                    actor,
                    Action::OwnerAssign,
                    Resource::Organization,
                    now,
                )
                .map_err(|_| RuleError::Forbidden("only an Owner may invite an Owner".into()))?;
            }
            Ok(())
        }
        Role::Space(_) => {
            if request.space_ids.is_empty() {
                return Err(RuleError::Validation {
                    field: "space_ids",
                    message: "a space role needs at least one space".into(),
                });
            }
            request
                .space_ids
                .iter()
                .try_for_each(|space| authorize_space_roles(snapshot, actor, space, now))
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
            message: format!("at most {MAX_BATCH} addresses per batch"),
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
/// Admins, and no second org role for an existing member. The error names
/// every failing address of the batch (SPEC §5), `invalid` ones included;
/// its code is the first failing rule of: validation, domain, membership.
fn check_addresses(
    snapshot: &OrgSnapshot,
    request: &InviteRequest,
    emails: &[Email],
    invalid: Vec<Rejected>,
    now: Timestamp,
) -> Result<(), RuleError> {
    let mut outside_allowlist = Vec::new();
    let mut members = Vec::new();
    for email in emails {
        if request.role == Role::Org(OrgRole::ImplementationAdmin)
            && !snapshot.settings.ia_domains.allows(email)
        {
            outside_allowlist.push(Rejected::new(email.as_str(), "domain_not_allowed"));
        }
        let member = snapshot
            .member_by_email(email)
            .filter(|m| !m.ia_expired(now));
        let conflicts = member.is_some_and(|m| match request.role {
            Role::Org(_) => true,
            Role::Space(_) => request
                .space_ids
                .iter()
                .any(|space| snapshot.space_role(m, space).is_some()),
        });
        if conflicts {
            members.push(Rejected::new(email.as_str(), "already_member"));
        }
    }
    if !invalid.is_empty() {
        let mut rejected = invalid;
        rejected.extend(outside_allowlist);
        rejected.extend(members);
        return Err(RuleError::InvalidEmails { rejected });
    }
    if !outside_allowlist.is_empty() {
        let mut rejected = outside_allowlist;
        rejected.extend(members);
        return Err(RuleError::DomainNotAllowed {
            allowed: allowed_domains(snapshot),
            rejected,
        });
    }
    if !members.is_empty() {
        return Err(RuleError::AlreadyMember { rejected: members });
    }
    Ok(())
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
    let reserving = snapshot.reserving_emails(now);
    let needed = emails
        .iter()
        .filter(|email| !reserving.contains(email))
        .filter(|email| {
            !snapshot
                .member_by_email(email)
                .is_some_and(|m| snapshot.uses_seat(m, now) || !m.is_active())
        })
        .count() as u32;
    let usage = snapshot.seat_usage(now);
    if usage.fits(needed) {
        Ok(())
    } else {
        Err(RuleError::SeatLimitReached {
            limit: usage.limit.unwrap_or(0),
        })
    }
}

fn space_role_effects(user_id: &str, space_ids: &[String], role: SpaceRole) -> Vec<Effect> {
    space_ids
        .iter()
        .map(|space_id| Effect::SetSpaceRole {
            user_id: user_id.to_owned(),
            space_id: space_id.clone(),
            role: Some(role),
        })
        .collect()
}

/// The person accepting: their account id, and whether it is new.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invitee {
    pub user_id: String,
    pub name: String,
}

/// `POST /v1/invitations/accept`: the membership and roles the invitation
/// promised, if it is still open and its rules still hold.
pub fn accept_invitation(
    snapshot: &OrgSnapshot,
    invitation_id: &str,
    invitee: &Invitee,
    now: Timestamp,
) -> Result<Vec<Effect>, RuleError> {
    let invitation = snapshot
        .invitation(invitation_id)
        .filter(|inv| inv.is_open(now))
        .ok_or_else(|| RuleError::Conflict {
            code: "invitation_not_pending",
            message: "this invitation is no longer valid".into(),
        })?;
    let existing = snapshot.member(&invitee.user_id);
    let mut effects = Vec::new();
    let mut member = existing.cloned().unwrap_or_else(|| {
        Member::new(
            invitee.user_id.clone(),
            invitation.email.clone(),
            invitee.name.clone(),
        )
    });
    let before = existing.cloned().unwrap_or_else(|| member.clone());
    match invitation.role {
        Role::Org(role) => {
            if existing.is_some() {
                return Err(RuleError::AlreadyMember {
                    rejected: vec![Rejected::new(invitation.email.as_str(), "already_member")],
                });
            }
            member.org_role = Some(role);
            if role == OrgRole::ImplementationAdmin {
                let duration =
                    guard_implementation_admin(snapshot, &invitation.email, invitation.duration)?;
                member.ia = Some(IaAssignment::new(
                    duration,
                    now,
                    invitation.invited_by.clone(),
                ));
            }
            effects.push(Effect::AddMember(member.clone()));
        }
        Role::Space(role) => {
            if existing.is_none() {
                effects.push(Effect::AddMember(member.clone()));
            }
            for space_id in &invitation.space_ids {
                if let Some(space) = snapshot.space_index(space_id) {
                    member.set_space_role(space, Some(role));
                }
            }
            effects.extend(
                space_role_effects(&invitee.user_id, &invitation.space_ids, role)
                    .into_iter()
                    .filter(|e| match e {
                        Effect::SetSpaceRole { space_id, .. } => snapshot.space(space_id).is_some(),
                        _ => true,
                    }),
            );
        }
    }
    guard_inviter(snapshot, invitation, now)?;
    guard_acceptance_seat(snapshot, &before, &member, existing.is_some(), now)?;
    let mut accepted = invitation.clone();
    accepted.status = InvitationStatus::Accepted;
    effects.push(Effect::PutInvitation(accepted));
    Ok(effects)
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
    let usage = snapshot.seat_usage(now);
    if usage.limit.is_none_or(|limit| usage.used < limit) {
        Ok(())
    } else {
        Err(RuleError::SeatLimitReached {
            limit: usage.limit.unwrap_or(0),
        })
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
    let Some(inviter) = invitation.invited_by.as_deref() else {
        return Ok(());
    };
    let actor = Actor::User(inviter);
    let still_may = match invitation.role {
        Role::Org(OrgRole::Owner) => authorize(
            snapshot,
            actor,
            Action::OwnerAssign,
            Resource::Organization,
            now,
        ),
        Role::Org(_) => authorize(
            snapshot,
            actor,
            Action::MembersInvite,
            Resource::Organization,
            now,
        ),
        Role::Space(_) => invitation
            .space_ids
            .iter()
            .filter(|space| snapshot.space(space).is_some())
            .try_for_each(|space| authorize_space_roles(snapshot, actor, space, now)),
    };
    still_may.map_err(|_| RuleError::Conflict {
        code: "invitation_not_pending",
        message: "this invitation is no longer valid: the person who sent it can no longer grant this role".into(),
    })
}

fn authorize_on_invitation<'s>(
    snapshot: &'s OrgSnapshot,
    actor: Actor<'_>,
    invitation_id: &str,
    now: Timestamp,
) -> Result<&'s Invitation, RuleError> {
    let invitation = snapshot
        .invitation(invitation_id)
        .ok_or(RuleError::NotFound("pending invitation"))?;
    let mut spaces = invitation
        .space_ids
        .iter()
        .filter(|space| snapshot.space(space).is_some())
        .peekable();
    match invitation.role {
        // Once every invited space is deleted, nobody manages it there: only
        // org-level inviters may act on it.
        Role::Space(_) if spaces.peek().is_some() => {
            spaces.try_for_each(|space| authorize_space_roles(snapshot, actor, space, now))?
        }
        Role::Org(_) | Role::Space(_) => authorize(
            snapshot,
            actor,
            Action::MembersInvite,
            Resource::Organization,
            now,
        )?,
    }
    Ok(invitation)
}

/// Resend: a fresh expiry and one more send.
pub fn resend_invitation(
    snapshot: &OrgSnapshot,
    actor: Actor<'_>,
    invitation_id: &str,
    now: Timestamp,
    ttl: Duration,
) -> Result<Invitation, RuleError> {
    let mut invitation = authorize_on_invitation(snapshot, actor, invitation_id, now)?.clone();
    // A resend renews the grant (even past its expiry): Owners alone grant Owner.
    if invitation.role == Role::Org(OrgRole::Owner) {
        authorize(
            snapshot,
            actor,
            Action::OwnerAssign,
            Resource::Organization,
            now,
        )
        .map_err(|_| RuleError::Forbidden("only an Owner may resend an Owner invitation".into()))?;
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
    Ok(invitation)
}

pub fn revoke_invitation(
    snapshot: &OrgSnapshot,
    actor: Actor<'_>,
    invitation_id: &str,
    now: Timestamp,
) -> Result<Invitation, RuleError> {
    let mut invitation = authorize_on_invitation(snapshot, actor, invitation_id, now)?.clone();
    invitation.status = InvitationStatus::Revoked;
    Ok(invitation)
}

/// Pending invitations past their expiry, marked expired (the job's work).
pub fn expire_invitations(snapshot: &OrgSnapshot, now: Timestamp) -> Vec<Invitation> {
    let mut expired: Vec<Invitation> = snapshot
        .pending_invitations()
        .filter(|inv| inv.expires_at <= now)
        .cloned()
        .map(|mut inv| {
            inv.status = InvitationStatus::Expired;
            inv
        })
        .collect();
    expired.sort_by(|a, b| a.id.cmp(&b.id));
    expired
}
