//! Organizations (API.md "Organizations"): created by the platform, read by
//! their members, settings and the Implementation Admin toggle.

use roster_core::implementation_admin::{removed_by, set_implementation_admin_enabled};
use roster_core::org::{self, OrgUpdate};
use roster_core::{
    allowed_domains, Action, Actor, DomainAllowlist, Email, Name, OrgId, OrgSettings,
};
use roster_store::{AccountRequest, Lookups, WriteContext, Written};

use super::invitations::default_name;
use super::{Ctx, RequestId};
use crate::auth::Caller;
use crate::effects;
use crate::error::{ApiError, ApiResult};
use crate::secrets::new_id;
use crate::state::AppState;
use crate::views::{DomainsView, IaSettingView, OrgView};

/// `POST /v1/orgs`, parsed.
#[derive(Clone, Debug)]
pub struct NewOrg {
    pub name: Name,
    pub owner_email: Email,
    pub owner_name: Option<Name>,
    pub seat_limit: Option<u32>,
}

impl AppState {
    /// The platform creates an organization with its first Owner; the
    /// owner's account is found or created under the same transaction.
    pub async fn create_org(
        &self,
        caller: &Caller,
        request_id: Option<&RequestId>,
        new: NewOrg,
    ) -> ApiResult<Written<OrgView>> {
        caller.require_platform()?;
        org::check_seat_limit(new.seat_limit)?;
        let settings = OrgSettings {
            seat_limit: new.seat_limit,
            ia_domains: self.default_allowlist()?,
            ..OrgSettings::default()
        };
        let org_id: OrgId = new_id();
        let owner = AccountRequest {
            email: new.owner_email.clone(),
            fresh_id: new_id(),
            name: new
                .owner_name
                .map_or_else(|| default_name(&new.owner_email), Name::into_string),
        };
        let ctx = WriteContext {
            now: self.now(),
            request_id: request_id.map(|r| r.0.clone()),
            dry_run: false,
        };
        let lookups = Lookups {
            accounts: vec![owner],
            token: None,
        };
        let effects = &self.effects;
        let done = self
            .store
            .create_org(
                &org_id,
                new.name.as_str(),
                &settings,
                &ctx,
                &lookups,
                |snap, found| {
                    let account = found
                        .account(&new.owner_email)
                        .ok_or_else(|| ApiError::internal("the owner's account was not found"))?;
                    let change = org::create_organization(snap, &Actor::Platform, account)?;
                    Ok::<_, ApiError>(effects::plan(change, snap, effects, ()))
                },
            )
            .await?;
        let snap = self.snapshot(&org_id, Some(done.revision)).await?;
        Ok(Written {
            value: OrgView::of(&snap),
            revision: done.revision,
        })
    }

    fn default_allowlist(&self) -> ApiResult<DomainAllowlist> {
        DomainAllowlist::parse_all(self.config.default_ia_domains.iter().map(String::as_str))
            .map_err(|(entry, e)| {
                ApiError::internal(format!("ROSTER_DEFAULT_IA_DOMAINS entry {entry}: {e}"))
            })
    }

    pub async fn org(&self, caller: &Caller, org: &OrgId) -> ApiResult<OrgView> {
        let (_, snap) = self.read_as(caller, org, Action::MembersView).await?;
        Ok(OrgView::of(&snap))
    }

    pub async fn update_org(
        &self,
        ctx: &Ctx,
        org: &OrgId,
        update: OrgUpdate,
    ) -> ApiResult<Written<OrgView>> {
        let revision = self
            .act(ctx, org, |snap, actor, now| {
                org::update_organization(snap, actor, update, now)
            })
            .await?;
        let snap = self.snapshot(org, Some(revision)).await?;
        Ok(Written {
            value: OrgView::of(&snap),
            revision,
        })
    }

    pub async fn delete_org(&self, ctx: &Ctx, org: &OrgId) -> ApiResult<i64> {
        self.act(ctx, org, |snap, actor, now| {
            org::delete_organization(snap, actor, now)
        })
        .await
    }

    pub async fn set_domains(
        &self,
        ctx: &Ctx,
        org: &OrgId,
        allowlist: DomainAllowlist,
    ) -> ApiResult<Written<DomainsView>> {
        ctx.caller.require_platform()?;
        let revision = self
            .act(ctx, org, |snap, actor, _| {
                org::set_allowlist(snap, actor, allowlist)
            })
            .await?;
        let snap = self.snapshot(org, Some(revision)).await?;
        Ok(Written {
            value: DomainsView {
                domains: allowed_domains(&snap),
            },
            revision,
        })
    }

    pub async fn domains(&self, caller: &Caller, org: &OrgId) -> ApiResult<DomainsView> {
        let (_, snap) = self.read_as(caller, org, Action::MembersInvite).await?;
        Ok(DomainsView {
            domains: allowed_domains(&snap),
        })
    }

    /// The Implementation Admin toggle (SPEC §6).
    pub async fn set_ia_setting(
        &self,
        ctx: &Ctx,
        org: &OrgId,
        enabled: bool,
        confirm: bool,
    ) -> ApiResult<Written<IaSettingView>> {
        let actor = ctx.actor(org)?;
        self.change(
            org,
            Some(&ctx.request_id),
            &Lookups::default(),
            |snap, _, now| {
                let change = set_implementation_admin_enabled(snap, &actor, enabled, confirm, now)?;
                let removed = removed_by(&change);
                Ok((change, IaSettingView { enabled, removed }))
            },
        )
        .await
    }
}
