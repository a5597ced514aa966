//! The end of an Implementation Admin assignment (SPEC §6): the same audit
//! entry and the same two emails whether it expired, was removed early or
//! the setting was turned off.

use roster_core::{Effect, InvitationStatus, Member, OrgSnapshot};
use roster_store::{AuditActor, AuditDraft, Write};
use rustc_hash::FxHashMap;
use serde_json::json;

use crate::mail::{self, EndReason};

/// Adds the audit entry and the two emails for one ended assignment.
/// `inviter_email` is the original inviter's address, when a person invited.
pub fn ia_ended<T>(
    write: Write<T>,
    snap: &OrgSnapshot,
    member: &Member,
    inviter_email: Option<&str>,
    reason: EndReason,
) -> Write<T> {
    let ia = member.ia.as_ref();
    let invited_by = ia.and_then(|ia| ia.invited_by.clone());
    let mut entry = AuditDraft::new("implementation_admin.removed")
        .target(&member.user_id)
        .details(json!({
            "email": member.email.as_str(),
            "duration": ia.map(|ia| ia.duration.as_str()),
            "expires_at": ia.and_then(|ia| ia.expires_at).map(crate::views::time),
            "invited_by": invited_by,
            "tokens_revoked": true,
        }));
    entry = match reason {
        // SPEC §6: the original inviter is recorded as the actor of an expiry.
        EndReason::Expired => entry
            .trigger("expiry")
            .actor(AuditActor::system_on_behalf_of(invited_by.clone())),
        EndReason::SettingDisabled => entry.trigger("setting_disabled"),
        EndReason::Removed => entry,
    };
    let mut write = write.audit(entry).email(mail::ia_ended_to_user(
        &snap.name,
        member.email.as_str(),
        reason,
    ));
    if let Some(inviter) = inviter_email {
        write = write.email(mail::ia_ended_to_inviter(
            &snap.name,
            inviter,
            member.email.as_str(),
            reason,
        ));
    }
    write
}

/// Adds a rule's effects, with an `invitation.revoked` entry for each
/// invitation they revoke (sent by someone whose access ended, or for a role
/// just turned off).
pub fn with_effects<T>(
    mut write: Write<T>,
    effects: Vec<Effect>,
    trigger: &'static str,
) -> Write<T> {
    for effect in &effects {
        if let Effect::PutInvitation(inv) = effect {
            if inv.status == InvitationStatus::Revoked {
                write = write.audit(
                    AuditDraft::new("invitation.revoked")
                        .trigger(trigger)
                        .details(json!({
                            "invitation_id": inv.id,
                            "email": inv.email.as_str(),
                            "invited_by": inv.invited_by,
                        })),
                );
            }
        }
    }
    write.effects(effects)
}

/// The original inviters' emails of every Implementation Admin of the
/// organization, read before a write (accounts outlive memberships, so an
/// inviter who left still hears of it).
pub async fn inviter_emails(
    store: &roster_store::Store,
    snap: &OrgSnapshot,
) -> Result<FxHashMap<String, String>, roster_store::StoreError> {
    let mut emails = FxHashMap::default();
    for member in snap.members() {
        let Some(inviter) = member.ia.as_ref().and_then(|ia| ia.invited_by.as_deref()) else {
            continue;
        };
        if emails.contains_key(inviter) {
            continue;
        }
        if let Some(user) = store.user(inviter).await? {
            emails.insert(user.id, user.email);
        }
    }
    Ok(emails)
}

/// The inviter's address for one member, from [`inviter_emails`].
pub fn inviter_of<'a>(emails: &'a FxHashMap<String, String>, member: &Member) -> Option<&'a str> {
    let inviter = member.ia.as_ref()?.invited_by.as_deref()?;
    emails.get(inviter).map(String::as_str)
}
