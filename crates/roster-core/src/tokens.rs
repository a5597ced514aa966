//! Tokens (SPEC §8), admin UI sign-in links and sessions: credentials
//! Roster issues to people for one organization.

use crate::access::{
    authorize_platform, authorize_self_or, holds_access, token_holder, Actor, Grant,
};
use crate::action::Action;
use crate::catalog::{LinkRequester, RevokeReason, SessionEnd, TokenKind};
use crate::error::RuleError;
use crate::ids::{TokenId, UserId};
use crate::outcome::{Change, Outcome};
use crate::snapshot::{NewToken, OrgSnapshot, SignInLink, Timestamp};
use crate::text::Name;

/// What `POST …/tokens` asks for; the secret was made (and hashed) at the edge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRequest {
    pub id: TokenId,
    pub kind: TokenKind,
    pub name: Name,
    pub secret_hash: String,
    pub expires_at: Option<Timestamp>,
    /// The expiry of the credential this one is minted with, if any: a
    /// token minted by a token lives no longer than it.
    pub minted_with: Option<Timestamp>,
}

/// People create their own tokens while they hold access; the platform
/// itself holds none.
pub fn issue_token(
    snapshot: &OrgSnapshot,
    actor: &Actor,
    request: TokenRequest,
    now: Timestamp,
) -> Result<Change, RuleError> {
    if !TokenKind::ISSUED.contains(&request.kind) {
        return Err(RuleError::Validation {
            field: "kind",
            message: "kind must be api, mcp or oauth".into(),
        });
    }
    if request.expires_at.is_some_and(|at| at <= now) {
        return Err(RuleError::Validation {
            field: "expires_at",
            message: "expires_at must be in the future".into(),
        });
    }
    let grant = token_holder(snapshot, actor, now)?;
    let Some(user_id) = actor.user_id() else {
        return Err(RuleError::Forbidden("tokens belong to people".into()));
    };
    let expires_at = match (request.expires_at, request.minted_with) {
        (Some(asked), Some(limit)) => Some(asked.min(limit)),
        (asked, limit) => asked.or(limit),
    };
    Ok(Change::new(grant).with(Outcome::TokenCreated {
        token: NewToken {
            id: request.id,
            user_id: user_id.clone(),
            kind: request.kind,
            name: request.name.into_string(),
            secret_hash: request.secret_hash,
            expires_at,
        },
    }))
}

/// A stored token as the revocation rule needs it (read under the lock).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenState {
    pub id: TokenId,
    pub user_id: UserId,
    pub kind: TokenKind,
    pub revoked: bool,
}

/// The owner revokes their own token; `tokens.manage` revokes anyone's.
pub fn revoke_token(
    snapshot: &OrgSnapshot,
    actor: &Actor,
    token: &TokenState,
    now: Timestamp,
) -> Result<Change, RuleError> {
    if token.kind == TokenKind::Session {
        return Err(RuleError::NotFound("token"));
    }
    let grant = authorize_self_or(snapshot, actor, &token.user_id, Action::TokensManage, now)?;
    let change = Change::new(grant);
    if token.revoked {
        return Ok(change);
    }
    Ok(change.with(Outcome::TokenRevoked {
        token_id: token.id.clone(),
        user_id: token.user_id.clone(),
        kind: token.kind,
        reason: RevokeReason::Revoked,
    }))
}

fn link_for_member(
    snapshot: &OrgSnapshot,
    link: &SignInLink,
    now: Timestamp,
) -> Result<(), RuleError> {
    if holds_access(snapshot, &link.user_id, now) {
        Ok(())
    } else {
        Err(RuleError::NotFound("member"))
    }
}

/// A sign-in link the platform mints for a member (and hands to the host
/// platform, which embeds the admin UI): an impersonation capability, so
/// it is audited.
pub fn platform_sign_in_link(
    snapshot: &OrgSnapshot,
    actor: &Actor,
    link: SignInLink,
    now: Timestamp,
) -> Result<Change, RuleError> {
    let grant = authorize_platform(snapshot, actor)?;
    link_for_member(snapshot, &link, now)?;
    let link = SignInLink {
        emailed: false,
        ..link
    };
    Ok(Change::new(grant).with(Outcome::SignInLinkCreated {
        link,
        requested_by: LinkRequester::Platform,
        email: None,
    }))
}

/// A sign-in link a person asked for on the sign-in page: it goes to their
/// own address only, which is what makes it theirs.
pub fn emailed_sign_in_link(
    snapshot: &OrgSnapshot,
    link: SignInLink,
    url: String,
    now: Timestamp,
) -> Result<Change, RuleError> {
    link_for_member(snapshot, &link, now)?;
    let Some(member) = snapshot.member(&link.user_id) else {
        return Err(RuleError::NotFound("member"));
    };
    let email = Some((member.email.clone(), url));
    let link = SignInLink {
        emailed: true,
        ..link
    };
    Ok(
        Change::new(Grant::person(snapshot, &link.user_id)).with(Outcome::SignInLinkCreated {
            link,
            requested_by: LinkRequester::SelfService,
            email,
        }),
    )
}

/// A stored sign-in link, as the session rule needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkState {
    pub token_hash: String,
    pub user_id: UserId,
    pub expires_at: Timestamp,
    pub used: bool,
}

/// Using a sign-in link starts a session for its person, once, while the
/// link is fresh and the person still holds access.
pub fn start_session(
    snapshot: &OrgSnapshot,
    link: &LinkState,
    session: NewToken,
    now: Timestamp,
) -> Result<Change, RuleError> {
    let usable = !link.used
        && link.expires_at > now
        && session.user_id == link.user_id
        && session.kind == TokenKind::Session
        && holds_access(snapshot, &link.user_id, now);
    if !usable {
        return Err(RuleError::Conflict {
            code: "invalid_link",
            message: "This link is not valid, was already used, or has expired.".into(),
        });
    }
    Ok(
        Change::new(Grant::person(snapshot, &link.user_id)).with(Outcome::SessionStarted {
            session,
            link_hash: link.token_hash.clone(),
        }),
    )
}

/// Sessions that ended on their own: past their end, or their person lost
/// access. Run by a job (or when such a session is next presented).
pub fn end_sessions(
    snapshot: &OrgSnapshot,
    sessions: &[(UserId, TokenId)],
    now: Timestamp,
) -> Change {
    let mut change = Change::new(Grant::system(snapshot));
    for (user_id, session_id) in sessions {
        let how = if holds_access(snapshot, user_id, now) {
            SessionEnd::Expiry
        } else {
            SessionEnd::LostAccess
        };
        change.push(Outcome::SessionEnded {
            user_id: user_id.clone(),
            session_id: session_id.clone(),
            how,
        });
    }
    change
}

/// A person signs out of the admin UI.
pub fn end_session(
    snapshot: &OrgSnapshot,
    user_id: &UserId,
    session_id: &TokenId,
    how: SessionEnd,
) -> Change {
    Change::new(Grant::person(snapshot, user_id)).with(Outcome::SessionEnded {
        user_id: user_id.clone(),
        session_id: session_id.clone(),
        how,
    })
}
