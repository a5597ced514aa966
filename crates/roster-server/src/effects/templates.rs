//! The emails Roster sends (API.md: invitation, sign-in link, and the two
//! "Implementation Admin ended" messages), in text and HTML.

use roster_core::{EndReason, Invitation, Timestamp};
use roster_store::EmailDraft;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Wraps paragraphs (already escaped) in a minimal HTML message.
fn html(paragraphs: &[String]) -> String {
    let body: String = paragraphs.iter().map(|p| format!("<p>{p}</p>\n")).collect();
    format!("<!doctype html>\n<html><body style=\"font-family: sans-serif; color: #1a1a1a\">\n{body}</body></html>\n")
}

fn link_html(url: &str, label: &str) -> String {
    format!("<a href=\"{}\">{}</a>", escape(url), escape(label))
}

pub fn invitation(
    org_name: &str,
    inv: &Invitation,
    inviter: Option<&str>,
    link: &str,
) -> EmailDraft {
    let who = inviter.unwrap_or("The account team");
    let role = inv.role.label();
    let duration = inv
        .duration
        .map(|d| format!(" for {}", d.label()))
        .unwrap_or_default();
    let expires = crate::views::time(inv.expires_at);
    let mut text = format!(
        "{who} invited you to join {org_name} on Roster as {role}{duration}.\n\nAccept the invitation: {link}\n\nThe link works until {expires}.\n"
    );
    let mut paragraphs = vec![
        format!(
            "{} invited you to join <strong>{}</strong> on Roster as {}{}.",
            escape(who),
            escape(org_name),
            escape(role),
            escape(&duration)
        ),
        link_html(link, "Accept the invitation"),
        format!("The link works until {}.", escape(&expires)),
    ];
    if let Some(message) = inv.message.as_deref().filter(|m| !m.trim().is_empty()) {
        text.push_str(&format!("\nMessage from {who}:\n{message}\n"));
        paragraphs.push(format!("Message from {}: {}", escape(who), escape(message)));
    }
    EmailDraft {
        recipient: inv.email.as_str().to_owned(),
        template: "invitation",
        subject: format!("You're invited to {org_name} on Roster"),
        body_text: text,
        body_html: html(&paragraphs),
    }
}

/// Why an Implementation Admin's access ended, as a sentence.
fn sentence(reason: EndReason) -> &'static str {
    match reason {
        EndReason::Expired => "the assignment's duration ran out",
        EndReason::Removed => "an administrator removed the role",
        EndReason::SettingDisabled => "the organization turned off the Implementation Admin role",
    }
}

pub fn ia_ended_to_user(org_name: &str, recipient: &str, reason: EndReason) -> EmailDraft {
    let text = format!(
        "Your Implementation Admin access to {org_name} has ended: {}.\n\nYour Roster account remains, and your MCP, API and OAuth tokens for {org_name} were revoked. If you still need access, ask someone at {org_name} to re-invite you.\n",
        sentence(reason)
    );
    EmailDraft {
        recipient: recipient.to_owned(),
        template: "implementation_admin_ended_user",
        subject: format!("Your Implementation Admin access to {org_name} has ended"),
        body_html: html(&[
            format!(
                "Your Implementation Admin access to <strong>{}</strong> has ended: {}.",
                escape(org_name),
                sentence(reason)
            ),
            format!(
                "Your Roster account remains, and your MCP, API and OAuth tokens for {} were revoked. If you still need access, ask someone at {} to re-invite you.",
                escape(org_name),
                escape(org_name)
            ),
        ]),
        body_text: text,
    }
}

pub fn ia_ended_to_inviter(
    org_name: &str,
    recipient: &str,
    person: &str,
    reason: EndReason,
) -> EmailDraft {
    let text = format!(
        "The Implementation Admin access you gave {person} to {org_name} has ended: {}.\n\nTheir tokens for {org_name} were revoked. If they still need access, re-invite them from Admin Area > Users > Invite Users.\n",
        sentence(reason)
    );
    EmailDraft {
        recipient: recipient.to_owned(),
        template: "implementation_admin_ended_inviter",
        subject: format!("Implementation Admin access for {person} to {org_name} has ended"),
        body_html: html(&[
            format!(
                "The Implementation Admin access you gave {} to <strong>{}</strong> has ended: {}.",
                escape(person),
                escape(org_name),
                sentence(reason)
            ),
            format!(
                "Their tokens for {} were revoked. If they still need access, re-invite them from Admin Area › Users › Invite Users.",
                escape(org_name)
            ),
        ]),
        body_text: text,
    }
}

pub fn sign_in(org_name: &str, recipient: &str, link: &str, expires_at: Timestamp) -> EmailDraft {
    let expires = crate::views::time(expires_at);
    EmailDraft {
        recipient: recipient.to_owned(),
        template: "sign_in",
        subject: format!("Sign in to {org_name} on Roster"),
        body_text: format!(
            "Sign in to {org_name} on Roster: {link}\n\nThe link works once, until {expires}. If you did not ask for it, ignore this email.\n"
        ),
        body_html: html(&[
            link_html(link, &format!("Sign in to {org_name}")),
            format!("The link works once, until {}. If you did not ask for it, ignore this email.", escape(&expires)),
        ]),
    }
}
