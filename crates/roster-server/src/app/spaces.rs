//! Spaces and their members (API.md "Spaces").

use roster_core::page::first_in_order;
use roster_core::space_roles::{self, retained_access};
use roster_core::spaces::{create_space, delete_space, rename_space};
use roster_core::{
    access, decide, Action, Actor, Name, OrgId, OrgRole, OrgSnapshot, Resource, SpaceId, SpaceRole,
    UserId,
};
use roster_store::Written;

use super::{paginate, Ctx, PageRequest};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::secrets::new_id;
use crate::state::AppState;
use crate::views::{
    Page, RecipientsView, RetainedAccessView, SpaceMemberView, SpaceMembersView, SpaceView,
};

fn view(snap: &OrgSnapshot, id: &SpaceId) -> ApiResult<SpaceView> {
    let space = snap.space(id).ok_or_else(|| ApiError::not_found("space"))?;
    Ok(SpaceView {
        id: space.id.clone(),
        name: space.name.clone(),
    })
}

/// Space member lists: anyone who may `members.view` the space, or the platform.
fn authorize_space_members(
    snap: &OrgSnapshot,
    actor: &Actor,
    space: &SpaceId,
    app: &AppState,
) -> ApiResult<()> {
    view(snap, space)?;
    access::authorize(
        snap,
        actor,
        Action::MembersView,
        Resource::Space(space),
        app.now(),
    )?;
    Ok(())
}

impl AppState {
    pub async fn create_space(
        &self,
        ctx: &Ctx,
        org: &OrgId,
        name: Name,
    ) -> ApiResult<Written<SpaceView>> {
        let actor = ctx.actor(org)?;
        let id: SpaceId = new_id();
        let revision = self
            .apply(org, Some(&ctx.request_id), |snap, now| {
                Ok(create_space(snap, &actor, id.clone(), name, now)?)
            })
            .await?;
        let snap = self.snapshot(org, Some(revision)).await?;
        Ok(Written {
            value: view(&snap, &id)?,
            revision,
        })
    }

    /// Spaces the caller can open (all of them for org admins and the platform).
    pub async fn spaces(
        &self,
        caller: &Caller,
        org: &OrgId,
        page: &PageRequest,
    ) -> ApiResult<Page<SpaceView>> {
        let actor = caller.acting_in(org)?;
        let snap = self.snapshot(org, None).await?;
        let now = self.now();
        // SPEC §4 rule 1: no membership, or a deactivated one, sees nothing.
        if let Actor::User(user) = &actor {
            if !access::holds_access(&snap, user, now) {
                return Err(ApiError::forbidden("no access to this organization"));
            }
        }
        let cursor = page.cursor.as_deref();
        let mut spaces: Vec<SpaceView> = snap
            .spaces()
            .filter(|s| cursor.is_none_or(|c| s.id.as_str() > c))
            .filter(|s| {
                access::allows(
                    &snap,
                    &actor,
                    Action::SpaceView,
                    Resource::Space(&s.id),
                    now,
                )
            })
            .map(|s| SpaceView {
                id: s.id.clone(),
                name: s.name.clone(),
            })
            .collect();
        spaces.sort_by(|a, b| a.id.cmp(&b.id));
        let (items, next_cursor) = paginate(spaces, page.limit, |s| s.id.to_string());
        Ok(Page { items, next_cursor })
    }

    pub async fn space(
        &self,
        caller: &Caller,
        org: &OrgId,
        space: &SpaceId,
    ) -> ApiResult<SpaceView> {
        let actor = caller.acting_in(org)?;
        let snap = self.snapshot(org, None).await?;
        let found = view(&snap, space)?;
        access::authorize(
            &snap,
            &actor,
            Action::SpaceView,
            Resource::Space(space),
            self.now(),
        )?;
        Ok(found)
    }

    /// Partial: a missing `name` leaves the space as it is.
    pub async fn update_space(
        &self,
        ctx: &Ctx,
        org: &OrgId,
        space: &SpaceId,
        name: Option<Name>,
    ) -> ApiResult<Written<SpaceView>> {
        let actor = ctx.actor(org)?;
        let revision = match name {
            Some(name) => {
                self.apply(org, Some(&ctx.request_id), |snap, now| {
                    Ok(rename_space(snap, &actor, space, name, now)?)
                })
                .await?
            }
            None => {
                let snap = self.snapshot(org, None).await?;
                view(&snap, space)?;
                access::authorize(
                    &snap,
                    &actor,
                    Action::SpacesManage,
                    Resource::Space(space),
                    self.now(),
                )?;
                snap.revision
            }
        };
        let snap = self.snapshot(org, Some(revision)).await?;
        Ok(Written {
            value: view(&snap, space)?,
            revision,
        })
    }

    pub async fn delete_space(&self, ctx: &Ctx, org: &OrgId, space: &SpaceId) -> ApiResult<i64> {
        self.act(ctx, org, |snap, actor, now| {
            delete_space(snap, actor, space, now)
        })
        .await
    }

    pub async fn space_members(
        &self,
        caller: &Caller,
        org: &OrgId,
        space: &SpaceId,
        page: &PageRequest,
    ) -> ApiResult<SpaceMembersView> {
        let actor = caller.acting_in(org)?;
        let snap = self.snapshot(org, None).await?;
        authorize_space_members(&snap, &actor, space, self)?;
        let now = self.now();
        let mut rows: Vec<SpaceMemberView> = Vec::new();
        let mut member_total = 0usize;
        for m in snap
            .members()
            .filter(|m| m.is_active() && !m.ia_expired(now))
        {
            let row = match (snap.space_role(m, space), m.effective_org_role(now)) {
                (Some(role), _) => {
                    if role != SpaceRole::Sponsor {
                        member_total += 1;
                    }
                    (Some(role), "space")
                }
                (None, Some(org_role)) => (None, org_role.as_str()),
                (None, None) => continue,
            };
            rows.push(SpaceMemberView {
                user_id: m.user_id.clone(),
                role: row.0,
                via: row.1.to_owned(),
            });
        }
        let cursor = page.cursor.as_deref();
        rows.retain(|r| cursor.is_none_or(|c| r.user_id.as_str() > c));
        let rows = first_in_order(rows, page.limit, |a, b| a.user_id.cmp(&b.user_id), |_| true);
        let (items, next_cursor) = paginate(rows, page.limit, |r| r.user_id.to_string());
        Ok(SpaceMembersView {
            items,
            member_total,
            next_cursor,
        })
    }

    /// Add an existing member to a space or change their role there.
    pub async fn set_space_role(
        &self,
        ctx: &Ctx,
        org: &OrgId,
        space: &SpaceId,
        user: &UserId,
        role: SpaceRole,
    ) -> ApiResult<Written<SpaceMemberView>> {
        let actor = ctx.actor(org)?;
        let revision = self
            .apply(org, Some(&ctx.request_id), |snap, now| {
                Ok(space_roles::set_space_role(
                    snap, &actor, space, user, role, now,
                )?)
            })
            .await?;
        Ok(Written {
            value: SpaceMemberView {
                user_id: user.clone(),
                role: Some(role),
                via: "space".into(),
            },
            revision,
        })
    }

    pub async fn remove_space_role(
        &self,
        ctx: &Ctx,
        org: &OrgId,
        space: &SpaceId,
        user: &UserId,
    ) -> ApiResult<Written<RetainedAccessView>> {
        let actor = ctx.actor(org)?;
        self.change(
            org,
            Some(&ctx.request_id),
            &Default::default(),
            |snap, _, now| {
                let change = space_roles::remove_space_role(snap, &actor, space, user, now)?;
                let retained: Option<OrgRole> = retained_access(&change);
                Ok((
                    change,
                    RetainedAccessView {
                        retained_access: retained,
                    },
                ))
            },
        )
        .await
    }

    /// The actor leaves the space (a participant, with confirmation).
    pub async fn leave_space(
        &self,
        ctx: &Ctx,
        org: &OrgId,
        space: &SpaceId,
        confirm: bool,
    ) -> ApiResult<i64> {
        self.act(ctx, org, |snap, actor, now| {
            space_roles::leave_space(snap, actor, space, confirm, now)
        })
        .await
    }

    /// Who receives the space's notifications: active members whose column
    /// includes `notifications.receive` (never sponsors).
    pub async fn notification_recipients(
        &self,
        caller: &Caller,
        org: &OrgId,
        space: &SpaceId,
    ) -> ApiResult<RecipientsView> {
        let actor = caller.acting_in(org)?;
        let snap = self.snapshot(org, None).await?;
        authorize_space_members(&snap, &actor, space, self)?;
        let now = self.now();
        let mut user_ids: Vec<UserId> = snap
            .members()
            .filter(|m| {
                decide(
                    &snap,
                    &m.user_id,
                    Action::NotificationsReceive,
                    Resource::Space(space),
                    now,
                )
                .allowed
            })
            .map(|m| m.user_id.clone())
            .collect();
        user_ids.sort_unstable();
        Ok(RecipientsView { user_ids })
    }
}
