//! Outcome → audit entries: the one place that names audit actions
//! (API.md "Audit"), their triggers and their details.

use roster_core::{
    AuditAction, IaAssignment, Invitation, OrgSettings, Outcome, SpaceId, Trigger, UserId, Webhook,
};
use roster_store::{AuditActor, AuditDraft};
use serde_json::{json, Value};

use crate::views::{opt_time, time};

fn draft(action: AuditAction, details: Value) -> AuditDraft {
    AuditDraft {
        action,
        trigger: Trigger::Request,
        target_user_id: None,
        space_id: None,
        details,
        actor: None,
    }
}

fn about(mut entry: AuditDraft, user: &UserId) -> AuditDraft {
    entry.target_user_id = Some(user.clone());
    entry
}

fn within(mut entry: AuditDraft, space: &SpaceId) -> AuditDraft {
    entry.space_id = Some(space.clone());
    entry
}

fn invitation_details(inv: &Invitation) -> Value {
    json!({
        "invitation_id": inv.id,
        "email": inv.email,
        "role": inv.role,
        "space_ids": inv.space_ids,
        "duration": inv.duration,
        "send_count": inv.send_count,
        "invited_by": inv.invited_by,
    })
}

fn seat_details(settings: &OrgSettings) -> Value {
    json!({
        "seat_limit": settings.seat_limit,
        "seat_roles": settings.seat_policy.seat_roles().collect::<Vec<_>>(),
    })
}

fn assignment_details(ia: Option<&IaAssignment>) -> Value {
    json!({
        "duration": ia.map(|ia| ia.duration),
        "expires_at": ia.and_then(|ia| ia.expires_at).map(time),
        "invited_by": ia.and_then(|ia| ia.invited_by.as_ref()).map(|i| &i.user_id),
    })
}

/// The audit entries one outcome writes (none for the parts of a change
/// that another outcome already describes).
pub fn entries(outcome: &Outcome) -> Vec<AuditDraft> {
    use AuditAction as A;
    match outcome {
        Outcome::OrgCreated { name, seat_limit } => vec![draft(
            A::OrgCreated,
            json!({"name": name, "seat_limit": seat_limit}),
        )],
        Outcome::OrgUpdated { name, settings } => {
            let mut details = json!({});
            if let Some(name) = name {
                details["name"] = json!(name);
            }
            if let (Some(Value::Object(seats)), Some(all)) =
                (settings.as_ref().map(seat_details), details.as_object_mut())
            {
                all.extend(seats);
            }
            vec![draft(A::OrgUpdated, details)]
        }
        Outcome::OrgDeleted { name } => vec![draft(A::OrgDeleted, json!({"name": name}))],
        Outcome::ImplementationAdminSetting { enabled, .. } => vec![draft(
            A::SettingChanged,
            json!({"setting": "allow_implementation_admin", "from": !enabled, "to": enabled}),
        )],
        Outcome::AllowlistChanged { settings } => vec![draft(
            A::AllowlistChanged,
            json!({"domains": settings.ia_domains.patterns()}),
        )],
        // Described by the role, space and invitation entries that follow.
        Outcome::MemberAdded { .. } | Outcome::NameSaved { .. } => Vec::new(),
        Outcome::RoleChanged {
            user_id,
            from,
            to,
            assignment,
            ..
        } => {
            let mut out = vec![about(
                draft(A::MemberRoleChanged, json!({"from": from, "to": to})),
                user_id,
            )];
            if assignment.is_some() {
                out.push(about(
                    draft(
                        A::ImplementationAdminAssigned,
                        assignment_details(assignment.as_ref()),
                    ),
                    user_id,
                ));
            }
            out
        }
        Outcome::Deactivated { user_id } => {
            vec![about(draft(A::MemberDeactivated, json!({})), user_id)]
        }
        Outcome::Reactivated { user_id } => {
            vec![about(draft(A::MemberReactivated, json!({})), user_id)]
        }
        Outcome::LeftOrganization { user_id, reason } => match reason {
            roster_core::LeaveReason::Removed => {
                vec![about(draft(A::MemberRemoved, json!({})), user_id)]
            }
            // `implementation_admin.removed` records it.
            roster_core::LeaveReason::ImplementationAdminEnded(_) => Vec::new(),
        },
        Outcome::ImplementationAdminEnded { member, reason } => {
            let ia = member.ia.as_deref();
            let mut details = assignment_details(ia);
            details["email"] = json!(member.email);
            details["tokens_revoked"] = json!(true);
            let mut entry = about(
                draft(A::ImplementationAdminRemoved, details),
                &member.user_id,
            );
            entry.trigger = reason.trigger();
            // SPEC §6: the original inviter is recorded as the actor of an expiry.
            if *reason == roster_core::EndReason::Expired {
                entry.actor = Some(AuditActor::system_on_behalf_of(
                    ia.and_then(|ia| ia.invited_by.as_ref())
                        .map(|i| i.user_id.clone()),
                ));
            }
            vec![entry]
        }
        Outcome::SpaceCreated { space } => vec![within(
            draft(A::SpaceCreated, json!({"name": space.name})),
            &space.id,
        )],
        Outcome::SpaceRenamed { space_id, from, to } => vec![within(
            draft(A::SpaceUpdated, json!({"name": to, "from": from})),
            space_id,
        )],
        Outcome::SpaceDeleted { space } => vec![within(
            draft(A::SpaceDeleted, json!({"name": space.name})),
            &space.id,
        )],
        Outcome::SpaceRoleSet {
            user_id,
            space_id,
            from,
            to,
        } => vec![within(
            about(
                draft(A::SpaceRoleSet, json!({"from": from, "to": to})),
                user_id,
            ),
            space_id,
        )],
        Outcome::SpaceRoleRemoved {
            user_id,
            space_id,
            from,
            retained_access,
        } => vec![within(
            about(
                draft(
                    A::SpaceRoleRemoved,
                    json!({"from": from, "retained_access": retained_access}),
                ),
                user_id,
            ),
            space_id,
        )],
        Outcome::LeftSpace { user_id, space_id } => vec![within(
            about(draft(A::MemberLeftSpace, json!({})), user_id),
            space_id,
        )],
        Outcome::InvitationCreated { invitation } => {
            vec![draft(A::InvitationCreated, invitation_details(invitation))]
        }
        Outcome::InvitationResent { invitation } => {
            vec![draft(A::InvitationResent, invitation_details(invitation))]
        }
        Outcome::InvitationRevoked {
            invitation,
            trigger,
        } => {
            let mut entry = draft(A::InvitationRevoked, invitation_details(invitation));
            entry.trigger = *trigger;
            vec![entry]
        }
        Outcome::InvitationExpired { invitation } => {
            let mut entry = draft(A::InvitationExpired, invitation_details(invitation));
            entry.trigger = Trigger::Expiry;
            vec![entry]
        }
        Outcome::InvitationAccepted {
            invitation,
            user_id,
            existing_member,
        } => {
            let mut details = invitation_details(invitation);
            details["existing_member"] = json!(existing_member);
            vec![about(draft(A::InvitationAccepted, details), user_id)]
        }
        Outcome::TokenCreated { token } => vec![about(
            draft(
                A::TokenCreated,
                json!({"token_id": token.id, "kind": token.kind, "name": token.name, "expires_at": opt_time(token.expires_at)}),
            ),
            &token.user_id,
        )],
        Outcome::TokenRevoked {
            token_id,
            user_id,
            kind,
            reason,
        } => vec![about(
            draft(
                A::TokenRevoked,
                json!({"token_id": token_id, "kind": kind, "reason": reason}),
            ),
            user_id,
        )],
        Outcome::ForeverReviewRecorded { user_id } => {
            vec![about(draft(A::ForeverReviewRecorded, json!({})), user_id)]
        }
        Outcome::SignInLinkCreated {
            link, requested_by, ..
        } => vec![about(
            draft(
                A::SignInLinkCreated,
                json!({"requested_by": requested_by, "expires_at": time(link.expires_at)}),
            ),
            &link.user_id,
        )],
        Outcome::SessionStarted { session, .. } => vec![about(
            draft(
                A::SessionStarted,
                json!({"session_id": session.id, "expires_at": opt_time(session.expires_at)}),
            ),
            &session.user_id,
        )],
        Outcome::SessionEnded {
            user_id,
            session_id,
            how,
        } => vec![about(
            draft(
                A::SessionEnded,
                json!({"session_id": session_id, "how": how}),
            ),
            user_id,
        )],
        Outcome::MembersImported {
            mode,
            rows,
            people,
            created,
            invited,
            unchanged,
        } => vec![draft(
            A::MembersImported,
            json!({"mode": mode, "rows": rows, "people": people, "created": created, "invited": invited, "unchanged": unchanged}),
        )],
        Outcome::WebhookCreated { webhook } => {
            vec![draft(A::WebhookCreated, webhook_details(webhook))]
        }
        Outcome::WebhookUpdated { before, after } => {
            let mut details = webhook_details(after);
            details["before"] = webhook_details(before);
            vec![draft(A::WebhookUpdated, details)]
        }
        Outcome::WebhookDeleted { webhook } => {
            vec![draft(A::WebhookDeleted, webhook_details(webhook))]
        }
        Outcome::WebhookSecretRotated {
            webhook_id,
            previous,
            ..
        } => vec![draft(
            A::WebhookSecretRotated,
            json!({"webhook_id": webhook_id, "previous_secret_until": time(previous.1)}),
        )],
    }
}

/// An endpoint as the audit log records it: never its secret.
fn webhook_details(webhook: &Webhook) -> Value {
    json!({
        "webhook_id": webhook.id,
        "url": webhook.url,
        "types": webhook.types,
        "enabled": webhook.enabled,
        "description": webhook.description,
    })
}
