//! Invitations (API.md "Invitations"): batches, listing, resend, revoke and
//! acceptance with the token from the email.

use roster_core::invite::{self, invitations_of, InviteRequest, NewIds};
use roster_core::{
    Action, BatchId, Email, InvitationId, InvitationStatus, OrgId, OrgSnapshot, RuleError, UserId,
};
use roster_store::{AccountRequest, Lookups, Written};
use serde_json::json;

use super::{paginate, Ctx, PageRequest, RequestId};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::secrets::{self, new_id};
use crate::state::AppState;
use crate::views::{AcceptedView, BatchView, InvitationView, Page};

impl AppState {
    /// A batch, all or nothing (SPEC §5).
    pub async fn invite(
        &self,
        ctx: &Ctx,
        org: &OrgId,
        request: &InviteRequest,
    ) -> ApiResult<Written<BatchView>> {
        let actor = ctx.actor(org)?;
        let ttl = self.config.invitation_ttl;
        let batch_id: BatchId = new_id();
        self.change(
            org,
            Some(&ctx.request_id),
            &Lookups::default(),
            |snap, _, now| {
                let ids = NewIds {
                    batch: batch_id.clone(),
                    invitation: &mut new_id,
                };
                let change = invite::invite(snap, &actor, request, now, ttl, ids)
                    .map_err(|e| batch_problem(e, request, snap))?;
                let view = BatchView {
                    batch_id,
                    invitations: invitations_of(&change)
                        .iter()
                        .map(|inv| InvitationView::of(inv, now))
                        .collect(),
                };
                Ok((change, view))
            },
        )
        .await
    }

    pub async fn invitations(
        &self,
        caller: &Caller,
        org: &OrgId,
        status: Option<InvitationStatus>,
        page: &PageRequest,
    ) -> ApiResult<Page<InvitationView>> {
        self.read_as(caller, org, Action::MembersView).await?;
        let rows = self
            .store
            .invitations(org, status, page.cursor.as_deref(), page.limit as i64 + 1)
            .await?;
        let (rows, next_cursor) = paginate(rows, page.limit, |inv| inv.id.to_string());
        let now = self.now();
        Ok(Page {
            items: rows
                .iter()
                .map(|inv| InvitationView::of(inv, now))
                .collect(),
            next_cursor,
        })
    }

    pub async fn resend_invitation(
        &self,
        ctx: &Ctx,
        org: &OrgId,
        id: &InvitationId,
    ) -> ApiResult<Written<InvitationView>> {
        let actor = ctx.actor(org)?;
        let ttl = self.config.invitation_ttl;
        self.change(
            org,
            Some(&ctx.request_id),
            &Lookups::default(),
            |snap, _, now| {
                let change = invite::resend_invitation(snap, &actor, id, now, ttl)?;
                let view = change.outcomes().iter().find_map(|o| match o {
                    roster_core::Outcome::InvitationResent { invitation } => {
                        Some(InvitationView::of(invitation, now))
                    }
                    _ => None,
                });
                let view = view.ok_or_else(|| ApiError::not_found("pending invitation"))?;
                Ok((change, view))
            },
        )
        .await
    }

    pub async fn revoke_invitation(
        &self,
        ctx: &Ctx,
        org: &OrgId,
        id: &InvitationId,
    ) -> ApiResult<i64> {
        self.act(ctx, org, |snap, actor, now| {
            invite::revoke_invitation(snap, actor, id, now)
        })
        .await
    }

    /// Accepts the invitation a token names. The account is found or
    /// created by address under the organization's lock, so two acceptances
    /// for one new address at once both succeed.
    pub async fn accept_invitation(
        &self,
        request_id: &RequestId,
        token: &str,
        name: Option<roster_core::Name>,
    ) -> ApiResult<Written<AcceptedView>> {
        let invalid = || ApiError::not_found("invitation");
        if !token.starts_with("inv_") || token.len() > 200 {
            return Err(invalid());
        }
        let (org_id, invitation) = self
            .store
            .invitation_by_token(&secrets::hash(token))
            .await?
            .ok_or_else(invalid)?;
        let email = invitation.email.clone();
        let lookups = Lookups {
            accounts: vec![AccountRequest {
                email: email.clone(),
                fresh_id: new_id(),
                name: name
                    .as_ref()
                    .map_or_else(|| default_name(&email), |n| n.as_str().to_owned()),
            }],
            token: None,
        };
        let org = org_id.clone();
        self.change(&org_id, Some(request_id), &lookups, |snap, found, now| {
            let account = found
                .account(&email)
                .ok_or_else(|| ApiError::internal("the invitee's account was not found"))?;
            let change = invite::accept_invitation(snap, &invitation.id, account, name, now)?;
            let user_id: UserId = account.user_id.clone();
            Ok((
                change,
                AcceptedView {
                    user_id,
                    org_id: org,
                },
            ))
        })
        .await
    }
}

/// A new account's name until the person gives one: the address's local part.
pub fn default_name(email: &Email) -> String {
    email
        .as_str()
        .split('@')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// A refused batch names every address (API.md: `rejected`, and
/// `allowed_domains` whenever the allowlist refused one), also when the
/// reason is not about one address in particular.
fn batch_problem(e: RuleError, request: &InviteRequest, snap: &OrgSnapshot) -> ApiError {
    let whole_batch = matches!(
        e,
        RuleError::ImplementationAdminDisabled | RuleError::SeatLimitReached { .. }
    );
    let code = e.code();
    let outside_allowlist = e.rejected().iter().any(|r| r.code == "domain_not_allowed");
    let mut problem = ApiError::from(e);
    if whole_batch {
        let rejected: Vec<_> = request
            .emails
            .entries()
            .iter()
            .map(|email| json!({"email": email, "code": code}))
            .collect();
        problem = problem.with("rejected", json!(rejected));
    }
    if outside_allowlist && !problem.extra.contains_key("allowed_domains") {
        problem = problem.with("allowed_domains", json!(roster_core::allowed_domains(snap)));
    }
    problem
}
