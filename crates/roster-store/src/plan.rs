//! What a write hands the store: the core's [`Change`] (its grant and
//! outcomes, from which the stored effects follow), and what the server
//! derived from it in one place — audit entries, emails, the invitation
//! links' hashes. The store persists all of it in one transaction.

use roster_core::{
    Account, ActorKind, AuditAction, Change, Email, InvitationId, Principal, SpaceId, Timestamp,
    TokenId, Trigger, UserId,
};
use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::outbox::EmailDraft;
use crate::records::TokenRecord;

/// When, and for which request (for the audit log).
#[derive(Clone, Debug)]
pub struct WriteContext {
    pub now: Timestamp,
    pub request_id: Option<String>,
    /// Run the rules under the lock, answer what they planned, keep nothing.
    pub dry_run: bool,
}

/// Who an audit entry names as actor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditActor {
    pub kind: ActorKind,
    pub user_id: Option<UserId>,
}

impl AuditActor {
    /// The actor a grant records.
    pub fn of(principal: &Principal) -> Self {
        match principal {
            Principal::Platform => AuditActor {
                kind: ActorKind::Platform,
                user_id: None,
            },
            Principal::User(id) => AuditActor {
                kind: ActorKind::User,
                user_id: Some(id.clone()),
            },
            Principal::System => AuditActor {
                kind: ActorKind::System,
                user_id: None,
            },
        }
    }

    /// Background work on a person's behalf (SPEC §6: an expiry names the
    /// original inviter).
    pub fn system_on_behalf_of(user_id: Option<UserId>) -> Self {
        AuditActor {
            kind: ActorKind::SystemOnBehalfOf,
            user_id,
        }
    }
}

/// An entry to append, in the transaction of the change it records.
#[derive(Clone, Debug)]
pub struct AuditDraft {
    pub action: AuditAction,
    pub trigger: Trigger,
    pub target_user_id: Option<UserId>,
    pub space_id: Option<SpaceId>,
    pub details: serde_json::Value,
    /// Overrides the grant's actor (an expiry names the original inviter).
    pub actor: Option<AuditActor>,
}

/// Rows a change needs beyond its effects.
#[derive(Clone, Debug)]
pub enum Row {
    /// The hash of the secret in an invitation's email link.
    InvitationToken {
        invitation_id: InvitationId,
        token_hash: String,
    },
}

/// A change ready to persist, and the value the write answers with.
#[derive(Debug)]
pub struct Planned<T> {
    pub value: T,
    change: Change,
    pub audit: Vec<AuditDraft>,
    pub emails: Vec<EmailDraft>,
    pub rows: Vec<Row>,
}

impl<T> Planned<T> {
    /// Only a core [`Change`] can be planned: no write without its grant.
    pub fn new(change: Change, value: T) -> Self {
        Planned {
            value,
            change,
            audit: Vec::new(),
            emails: Vec::new(),
            rows: Vec::new(),
        }
    }

    pub fn change(&self) -> &Change {
        &self.change
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.change.is_empty()
            && self.audit.is_empty()
            && self.emails.is_empty()
            && self.rows.is_empty()
    }
}

/// An account a write needs, by address: found, or created with this id
/// and name, inside the write's transaction (so two requests introducing
/// the same new address at once both succeed).
#[derive(Clone, Debug)]
pub struct AccountRequest {
    pub email: Email,
    pub fresh_id: UserId,
    pub name: String,
}

/// What a write reads under the organization's lock before its rules run.
#[derive(Clone, Debug, Default)]
pub struct Lookups {
    pub accounts: Vec<AccountRequest>,
    pub token: Option<TokenId>,
}

/// What [`Lookups`] found.
#[derive(Clone, Debug, Default)]
pub struct Found {
    pub accounts: FxHashMap<Email, Account>,
    pub token: Option<TokenRecord>,
}

impl Found {
    pub fn account(&self, email: &Email) -> Option<&Account> {
        self.accounts.get(email)
    }
}
