//! Where a change's outcomes become its effects beyond stored state: audit
//! entries (and, through them, events), emails and the secrets their links
//! carry. Called inside the write's transaction, under the organization's
//! lock, for every change whatever started it (an API call, a page, a job,
//! an import). Adding a consumer of changes touches this module only.

mod audit;
pub mod templates;

use roster_core::{Change, InvitationStatus, OrgSnapshot, Outcome};
use roster_store::{EmailDraft, Planned, Row};

use crate::secrets;

/// What effects need from the configuration.
#[derive(Clone, Debug)]
pub struct EffectsConfig {
    /// Base of the links in emails (`ROSTER_PUBLIC_URL`).
    pub public_url: String,
}

/// The change, planned: its audit entries, its emails and the rows their
/// links need. `snapshot` is the organization before the change.
pub fn plan<T>(
    change: Change,
    snapshot: &OrgSnapshot,
    config: &EffectsConfig,
    value: T,
) -> Planned<T> {
    let mut audit = Vec::new();
    let mut emails = Vec::new();
    let mut rows = Vec::new();
    for outcome in change.outcomes() {
        audit.extend(audit::entries(outcome));
        emails.extend(mail(outcome, snapshot, config, &mut rows));
    }
    let mut planned = Planned::new(change, value);
    planned.audit = audit;
    planned.emails = emails;
    planned.rows = rows;
    planned
}

/// The emails one outcome sends (API.md: the invitation, the sign-in link
/// and the two "Implementation Admin ended" messages; nothing else).
fn mail(
    outcome: &Outcome,
    snapshot: &OrgSnapshot,
    config: &EffectsConfig,
    rows: &mut Vec<Row>,
) -> Vec<EmailDraft> {
    match outcome {
        Outcome::InvitationCreated { invitation } | Outcome::InvitationResent { invitation }
            if invitation.status == InvitationStatus::Pending =>
        {
            // A fresh secret per send; only its hash is kept.
            let secret = format!("inv_{}", secrets::random_secret());
            let link = format!("{}/invitations/accept?token={secret}", config.public_url);
            rows.push(Row::InvitationToken {
                invitation_id: invitation.id.clone(),
                token_hash: secrets::hash(&secret),
            });
            let inviter = invitation
                .invited_by
                .as_ref()
                .and_then(|id| snapshot.member(id))
                .map(|m| m.name.as_str());
            vec![templates::invitation(
                &snapshot.name,
                invitation,
                inviter,
                &link,
            )]
        }
        Outcome::ImplementationAdminEnded { member, reason } => {
            let mut sent = vec![templates::ia_ended_to_user(
                &snapshot.name,
                member.email.as_str(),
                *reason,
            )];
            if let Some(inviter) = member.ia.as_ref().and_then(|ia| ia.invited_by.as_ref()) {
                sent.push(templates::ia_ended_to_inviter(
                    &snapshot.name,
                    inviter.email.as_str(),
                    member.email.as_str(),
                    *reason,
                ));
            }
            sent
        }
        Outcome::SignInLinkCreated {
            link,
            email: Some((address, url)),
            ..
        } => vec![templates::sign_in(
            &snapshot.name,
            address.as_str(),
            url,
            link.expires_at,
        )],
        _ => Vec::new(),
    }
}
