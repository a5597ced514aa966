//! What a change did, as a typed list: the one description of a change.
//! Storage derives its effects from it, and the server turns it into audit
//! entries, events and emails in one place; no edge names an audit action.

use crate::access::Grant;
use crate::catalog::{LinkRequester, RevokeReason, SessionEnd, TokenKind, Trigger};
use crate::email::Email;
use crate::ids::{SpaceId, TokenId, UserId, WebhookId};
use crate::import::ImportMode;
use crate::role::{OrgRole, SpaceRole};
use crate::snapshot::{
    Effect, IaAssignment, Invitation, InvitationStatus, Member, MemberStatus, NewToken,
    OrgSettings, SignInLink, Space, Timestamp,
};
use crate::webhooks::{Secret, Webhook};

/// Why an Implementation Admin's role ended (SPEC §6): the same effects,
/// the same audit action and the same two emails however it ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndReason {
    /// Time ran out; the original inviter is recorded as actor.
    Expired,
    /// Someone removed the role (early removal, `org_role: null`, removal
    /// from the organization, a bulk removal).
    Removed,
    /// The organization turned the Implementation Admin setting off.
    SettingDisabled,
}

impl EndReason {
    pub fn trigger(self) -> Trigger {
        match self {
            EndReason::Expired => Trigger::Expiry,
            EndReason::Removed => Trigger::Request,
            EndReason::SettingDisabled => Trigger::SettingDisabled,
        }
    }

    fn revoke_reason(self) -> RevokeReason {
        match self {
            EndReason::Expired => RevokeReason::ImplementationAdminExpired,
            EndReason::Removed => RevokeReason::ImplementationAdminRemoved,
            EndReason::SettingDisabled => RevokeReason::ImplementationAdminDisabled,
        }
    }
}

/// Why someone left the organization.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaveReason {
    Removed,
    ImplementationAdminEnded(EndReason),
}

/// One thing that happened. Each names everything its audit entry, event
/// and emails need, as it was when it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    OrgCreated {
        name: String,
        seat_limit: Option<u32>,
    },
    /// The fields that changed.
    OrgUpdated {
        name: Option<String>,
        settings: Option<OrgSettings>,
    },
    OrgDeleted {
        name: String,
    },
    /// The Implementation Admin toggle (SPEC §6).
    ImplementationAdminSetting {
        enabled: bool,
        settings: OrgSettings,
    },
    AllowlistChanged {
        settings: OrgSettings,
    },
    /// A membership begins (no roles yet: the outcomes after it give them).
    MemberAdded {
        member: Member,
    },
    /// The name on an account changed (given when accepting an invitation).
    NameSaved {
        user_id: UserId,
        name: String,
    },
    RoleChanged {
        user_id: UserId,
        from: Option<OrgRole>,
        to: Option<OrgRole>,
        /// The Implementation Admin terms, when `to` is that role.
        assignment: Option<IaAssignment>,
        /// Explicit space roles left in place when an admin-tier role was
        /// removed (SPEC §4: the answer lists them).
        kept_space_roles: Vec<(SpaceId, SpaceRole)>,
    },
    Deactivated {
        user_id: UserId,
    },
    Reactivated {
        user_id: UserId,
    },
    /// Membership and space roles deleted, tokens revoked; the account stays.
    LeftOrganization {
        user_id: UserId,
        reason: LeaveReason,
    },
    /// The person as they were, with the terms and inviter of the role.
    ImplementationAdminEnded {
        member: Member,
        reason: EndReason,
    },
    SpaceCreated {
        space: Space,
    },
    SpaceRenamed {
        space_id: SpaceId,
        from: String,
        to: String,
    },
    SpaceDeleted {
        space: Space,
    },
    SpaceRoleSet {
        user_id: UserId,
        space_id: SpaceId,
        from: Option<SpaceRole>,
        to: SpaceRole,
    },
    SpaceRoleRemoved {
        user_id: UserId,
        space_id: SpaceId,
        from: SpaceRole,
        /// The org role that still reaches the space (`retained_access`).
        retained_access: Option<OrgRole>,
    },
    LeftSpace {
        user_id: UserId,
        space_id: SpaceId,
    },
    InvitationCreated {
        invitation: Invitation,
    },
    InvitationResent {
        invitation: Invitation,
    },
    /// Revoked by someone, or with the sender's access, the role's toggle
    /// or the last of its spaces (`trigger` says which kind of cause).
    InvitationRevoked {
        invitation: Invitation,
        trigger: Trigger,
    },
    InvitationExpired {
        invitation: Invitation,
    },
    /// `existing_member`: someone already in the organization invited into
    /// spaces, who got the roles at once.
    InvitationAccepted {
        invitation: Invitation,
        user_id: UserId,
        existing_member: bool,
    },
    TokenCreated {
        token: NewToken,
    },
    TokenRevoked {
        token_id: TokenId,
        user_id: UserId,
        kind: TokenKind,
        reason: RevokeReason,
    },
    ForeverReviewRecorded {
        user_id: UserId,
    },
    /// `email`: the address and link to send, when the person asked for it
    /// (a link minted by the platform is handed to the platform instead).
    SignInLinkCreated {
        link: SignInLink,
        requested_by: LinkRequester,
        email: Option<(Email, String)>,
    },
    SessionStarted {
        session: NewToken,
        link_hash: String,
    },
    SessionEnded {
        user_id: UserId,
        session_id: TokenId,
        how: SessionEnd,
    },
    /// An import (its people's own outcomes come before it).
    MembersImported {
        mode: ImportMode,
        rows: usize,
        people: usize,
        created: usize,
        invited: usize,
        unchanged: usize,
    },
    WebhookCreated {
        webhook: Box<Webhook>,
    },
    WebhookUpdated {
        before: Box<Webhook>,
        after: Box<Webhook>,
    },
    WebhookDeleted {
        webhook: Box<Webhook>,
    },
    WebhookSecretRotated {
        webhook_id: WebhookId,
        secret: Secret,
        /// The old secret, and until when it still signs.
        previous: (Secret, Timestamp),
    },
}

impl Outcome {
    /// The stored changes this outcome stands for.
    pub fn effects(&self) -> Vec<Effect> {
        match self {
            // The store creates the organization's row; an ended
            // Implementation Admin leaves through `LeftOrganization`.
            Outcome::OrgCreated { .. }
            | Outcome::ImplementationAdminEnded { .. }
            | Outcome::MembersImported { .. } => Vec::new(),
            Outcome::OrgUpdated { name, settings } => name
                .iter()
                .map(|n| Effect::SetName(n.clone()))
                .chain(settings.iter().map(|s| Effect::SetSettings(s.clone())))
                .collect(),
            Outcome::OrgDeleted { .. } => vec![Effect::DeleteOrg],
            Outcome::ImplementationAdminSetting { settings, .. }
            | Outcome::AllowlistChanged { settings } => vec![Effect::SetSettings(settings.clone())],
            Outcome::MemberAdded { member } => vec![Effect::AddMember(member.clone())],
            Outcome::NameSaved { user_id, name } => vec![Effect::SetUserName {
                user_id: user_id.clone(),
                name: name.clone(),
            }],
            Outcome::RoleChanged {
                user_id,
                to,
                assignment,
                ..
            } => vec![Effect::SetOrgRole {
                user_id: user_id.clone(),
                role: *to,
                ia: assignment.clone(),
            }],
            Outcome::Deactivated { user_id } => vec![
                Effect::SetStatus {
                    user_id: user_id.clone(),
                    status: MemberStatus::Deactivated,
                },
                Effect::RevokeTokens {
                    user_id: user_id.clone(),
                    reason: RevokeReason::MemberDeactivated,
                },
            ],
            Outcome::Reactivated { user_id } => vec![Effect::SetStatus {
                user_id: user_id.clone(),
                status: MemberStatus::Active,
            }],
            Outcome::LeftOrganization { user_id, reason } => vec![
                Effect::RevokeTokens {
                    user_id: user_id.clone(),
                    reason: match reason {
                        LeaveReason::Removed => RevokeReason::MemberRemoved,
                        LeaveReason::ImplementationAdminEnded(end) => end.revoke_reason(),
                    },
                },
                Effect::RemoveMember {
                    user_id: user_id.clone(),
                },
            ],
            Outcome::SpaceCreated { space } => vec![Effect::AddSpace(space.clone())],
            Outcome::SpaceRenamed { space_id, to, .. } => vec![Effect::RenameSpace {
                space_id: space_id.clone(),
                name: to.clone(),
            }],
            Outcome::SpaceDeleted { space } => vec![Effect::RemoveSpace {
                space_id: space.id.clone(),
            }],
            Outcome::SpaceRoleSet {
                user_id,
                space_id,
                to,
                ..
            } => vec![Effect::SetSpaceRole {
                user_id: user_id.clone(),
                space_id: space_id.clone(),
                role: Some(*to),
            }],
            Outcome::SpaceRoleRemoved {
                user_id, space_id, ..
            }
            | Outcome::LeftSpace { user_id, space_id } => vec![Effect::SetSpaceRole {
                user_id: user_id.clone(),
                space_id: space_id.clone(),
                role: None,
            }],
            Outcome::InvitationCreated { invitation }
            | Outcome::InvitationResent { invitation } => {
                vec![Effect::PutInvitation(invitation.clone())]
            }
            Outcome::InvitationRevoked { invitation, .. } => {
                vec![Effect::PutInvitation(with_status(
                    invitation,
                    InvitationStatus::Revoked,
                ))]
            }
            Outcome::InvitationExpired { invitation } => vec![Effect::PutInvitation(with_status(
                invitation,
                InvitationStatus::Expired,
            ))],
            Outcome::InvitationAccepted { invitation, .. } => vec![Effect::PutInvitation(
                with_status(invitation, InvitationStatus::Accepted),
            )],
            Outcome::TokenCreated { token } => vec![Effect::CreateToken(token.clone())],
            Outcome::TokenRevoked {
                token_id, reason, ..
            } => vec![Effect::RevokeToken {
                token_id: token_id.clone(),
                reason: *reason,
            }],
            Outcome::ForeverReviewRecorded { user_id } => vec![Effect::RecordReview {
                user_id: user_id.clone(),
            }],
            Outcome::SignInLinkCreated { link, .. } => vec![Effect::CreateSignInLink(link.clone())],
            Outcome::SessionStarted { session, link_hash } => vec![
                Effect::UseSignInLink {
                    token_hash: link_hash.clone(),
                },
                Effect::CreateToken(session.clone()),
            ],
            Outcome::SessionEnded {
                session_id, how, ..
            } => vec![Effect::RevokeToken {
                token_id: session_id.clone(),
                reason: match how {
                    SessionEnd::SignOut => RevokeReason::SignedOut,
                    SessionEnd::Expiry => RevokeReason::Expired,
                    SessionEnd::LostAccess => RevokeReason::AccessEnded,
                },
            }],
            Outcome::WebhookCreated { webhook }
            | Outcome::WebhookUpdated { after: webhook, .. } => {
                vec![Effect::PutWebhook(webhook.as_ref().clone())]
            }
            Outcome::WebhookDeleted { webhook } => vec![Effect::DeleteWebhook {
                id: webhook.id.clone(),
            }],
            Outcome::WebhookSecretRotated {
                webhook_id,
                secret,
                previous,
            } => vec![Effect::RotateWebhookSecret {
                id: webhook_id.clone(),
                secret: secret.clone(),
                previous: previous.clone(),
            }],
        }
    }
}

fn with_status(invitation: &Invitation, status: InvitationStatus) -> Invitation {
    let mut changed = invitation.clone();
    changed.status = status;
    changed
}

/// A change the rules allowed: its grant and what happened. Only this
/// crate's rules make one; storage accepts nothing else.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    grant: Grant,
    outcomes: Vec<Outcome>,
}

impl Change {
    pub(crate) fn new(grant: Grant) -> Change {
        Change {
            grant,
            outcomes: Vec::new(),
        }
    }

    pub(crate) fn with(mut self, outcome: Outcome) -> Change {
        self.outcomes.push(outcome);
        self
    }

    pub(crate) fn push(&mut self, outcome: Outcome) {
        self.outcomes.push(outcome);
    }

    pub(crate) fn extend(&mut self, outcomes: impl IntoIterator<Item = Outcome>) {
        self.outcomes.extend(outcomes);
    }

    pub fn grant(&self) -> &Grant {
        &self.grant
    }

    pub fn outcomes(&self) -> &[Outcome] {
        &self.outcomes
    }

    /// Nothing happened (the request asked for what already was).
    pub fn is_empty(&self) -> bool {
        self.outcomes.is_empty()
    }

    /// Every stored change, in order.
    pub fn effects(&self) -> Vec<Effect> {
        self.outcomes.iter().flat_map(Outcome::effects).collect()
    }
}
