//! Members (API.md "Members"): listing, role changes, deactivation,
//! removal, bulk actions, seats and capabilities.

use std::sync::Arc;

use memchr::memmem;
use roster_core::implementation_admin::remove_implementation_admin as remove_ia_rule;
use roster_core::org_roles::change_org_role;
use roster_core::page::first_in_order;
use roster_core::status::{self, BulkResult};
use roster_core::{
    access, Action, BulkAction, Change, IaDuration, Member, MemberStatus, OrgId, OrgRole,
    OrgSnapshot, Outcome, Role, Timestamp, UserId,
};

use super::{paginate, Ctx, PageRequest};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::views::{
    space_roles, BulkItemView, BulkView, MemberView, Page, RoleChangeView, SpaceRoleView,
};
use roster_store::Written;

/// `GET …/members` filters.
#[derive(Clone, Debug, Default)]
pub struct MemberFilter {
    pub role: Option<Role>,
    pub status: Option<MemberStatus>,
    /// Part of a name or address, any case.
    pub q: Option<String>,
}

/// Members matching the filter, a page of them in id order, and the cursor
/// of the next page. Expired Implementation Admins have left already.
pub fn select<'s>(
    snap: &'s OrgSnapshot,
    filter: &MemberFilter,
    page: &PageRequest,
    now: Timestamp,
) -> (Vec<&'s Member>, Option<String>) {
    let q = filter
        .q
        .as_deref()
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(Needle::new);
    let cursor = page.cursor.as_deref();
    let after_cursor = snap
        .members()
        .filter(|m| cursor.is_none_or(|c| m.id_after(c)));
    let matches = |m: &&Member| {
        !m.ia_expired(now)
            && filter.status.is_none_or(|s| m.status == s)
            && match filter.role {
                None => true,
                Some(Role::Org(r)) => m.org_role == Some(r),
                Some(Role::Space(r)) => snap.space_roles_of(m).any(|(_, held)| held == r),
            }
            && q.as_ref()
                .is_none_or(|q| q.in_address(m.email.as_str()) || q.in_name(&m.name))
    };
    let by_id = |a: &&Member, b: &&Member| a.cmp_by_id(b);
    let items = first_in_order(after_cursor, page.limit, by_id, matches);
    paginate(items, page.limit, |m| m.user_id.to_string())
}

/// `q=`, lowercased, with its searcher made once for the whole walk
/// rather than once per member.
struct Needle {
    lowercase: String,
    finder: memmem::Finder<'static>,
}

impl Needle {
    fn new(q: &str) -> Needle {
        let lowercase = q.to_lowercase();
        Needle {
            finder: memmem::Finder::new(lowercase.as_bytes()).into_owned(),
            lowercase,
        }
    }

    /// Addresses are kept lowercase.
    fn in_address(&self, address: &str) -> bool {
        self.in_lowercase(address.as_bytes())
    }

    fn in_lowercase(&self, text: &[u8]) -> bool {
        self.finder.find(text).is_some()
    }

    /// Whether the name contains the needle in any case: the same answer as
    /// lowercasing the name first, without a new string for the ASCII
    /// names most members have.
    fn in_name(&self, name: &str) -> bool {
        const SHORT: usize = 128;
        if !name.is_ascii() {
            return name.to_lowercase().contains(&self.lowercase);
        }
        // An ASCII name keeps its length when lowercased.
        if name.len() < self.lowercase.len() {
            return false;
        }
        if name.len() > SHORT {
            return self.in_lowercase(name.to_ascii_lowercase().as_bytes());
        }
        let mut lowered = [0u8; SHORT];
        let lowered = &mut lowered[..name.len()];
        lowered.copy_from_slice(name.as_bytes());
        lowered.make_ascii_lowercase();
        self.in_lowercase(lowered)
    }
}

impl AppState {
    pub async fn list_members(
        &self,
        caller: &Caller,
        org: &OrgId,
        filter: &MemberFilter,
        page: &PageRequest,
    ) -> ApiResult<Page<MemberView>> {
        let (_, snap) = self.read_as(caller, org, Action::MembersView).await?;
        let now = self.now();
        let (items, next_cursor) = select(&snap, filter, page, now);
        Ok(Page {
            items: items
                .iter()
                .map(|m| MemberView::of(&snap, m, now))
                .collect(),
            next_cursor,
        })
    }

    /// The person themselves, or someone with `members.view`.
    pub async fn member(
        &self,
        caller: &Caller,
        org: &OrgId,
        user: &UserId,
    ) -> ApiResult<MemberView> {
        self.member_at(caller, org, user, None).await
    }

    async fn member_at(
        &self,
        caller: &Caller,
        org: &OrgId,
        user: &UserId,
        revision: Option<i64>,
    ) -> ApiResult<MemberView> {
        let actor = caller.acting_in(org)?;
        let snap = self.snapshot(org, revision).await?;
        let now = self.now();
        access::authorize_self_or(&snap, &actor, user, Action::MembersView, now)?;
        let member = access::target(&snap, user, now)?;
        Ok(MemberView::of(&snap, member, now))
    }

    /// `PATCH …/members/{user}`: `org_role` missing leaves the role as it
    /// is (the member is answered, to whoever may change roles).
    pub async fn change_role(
        &self,
        ctx: &Ctx,
        org: &OrgId,
        user: &UserId,
        role: Option<Option<OrgRole>>,
        duration: Option<IaDuration>,
    ) -> ApiResult<Written<RoleChangeView>> {
        let actor = ctx.actor(org)?;
        let Some(role) = role else {
            if duration.is_some() {
                return Err(ApiError::invalid(
                    "duration",
                    "a duration goes with org_role implementation_admin",
                ));
            }
            let snap = self.snapshot(org, None).await?;
            access::authorize(
                &snap,
                &actor,
                Action::MembersChangeRole,
                roster_core::Resource::Organization,
                self.now(),
            )?;
            let member = self.member_at(&ctx.caller, org, user, None).await?;
            return Ok(Written {
                value: RoleChangeView {
                    member,
                    kept_space_roles: None,
                    left_organization: false,
                },
                revision: snap.revision,
            });
        };
        let done = self
            .change(
                org,
                Some(&ctx.request_id),
                &Default::default(),
                |snap, _, now| {
                    let change = change_org_role(snap, &actor, user, role, duration, now)?;
                    let answer = (left_organization(&change, snap, now), kept(&change));
                    Ok((change, answer))
                },
            )
            .await?;
        let value = match done.value {
            (Some(left), _) => left,
            (None, kept_space_roles) => RoleChangeView {
                member: self
                    .member_at(&ctx.caller, org, user, Some(done.revision))
                    .await?,
                kept_space_roles,
                left_organization: false,
            },
        };
        Ok(Written {
            value,
            revision: done.revision,
        })
    }

    pub async fn deactivate(
        &self,
        ctx: &Ctx,
        org: &OrgId,
        user: &UserId,
    ) -> ApiResult<Written<MemberView>> {
        let revision = self
            .act(ctx, org, |snap, actor, now| {
                status::deactivate(snap, actor, user, now)
            })
            .await?;
        self.member_after(&ctx.caller, org, user, revision).await
    }

    pub async fn reactivate(
        &self,
        ctx: &Ctx,
        org: &OrgId,
        user: &UserId,
    ) -> ApiResult<Written<MemberView>> {
        let revision = self
            .act(ctx, org, |snap, actor, now| {
                status::reactivate(snap, actor, user, now)
            })
            .await?;
        self.member_after(&ctx.caller, org, user, revision).await
    }

    async fn member_after(
        &self,
        caller: &Caller,
        org: &OrgId,
        user: &UserId,
        revision: i64,
    ) -> ApiResult<Written<MemberView>> {
        Ok(Written {
            value: self.member_at(caller, org, user, Some(revision)).await?,
            revision,
        })
    }

    pub async fn remove_member(&self, ctx: &Ctx, org: &OrgId, user: &UserId) -> ApiResult<i64> {
        self.act(ctx, org, |snap, actor, now| {
            status::remove_member(snap, actor, user, now)
        })
        .await
    }

    pub async fn remove_implementation_admin(
        &self,
        ctx: &Ctx,
        org: &OrgId,
        user: &UserId,
        confirm: bool,
    ) -> ApiResult<i64> {
        self.act(ctx, org, |snap, actor, now| {
            remove_ia_rule(snap, actor, user, confirm, now)
        })
        .await
    }

    /// One transaction; each person's result decided on the state the
    /// previous ones left.
    pub async fn bulk(
        &self,
        ctx: &Ctx,
        org: &OrgId,
        action: BulkAction,
        user_ids: &[UserId],
    ) -> ApiResult<Written<BulkView>> {
        let actor = ctx.actor(org)?;
        self.change(
            org,
            Some(&ctx.request_id),
            &Default::default(),
            |snap, _, now| {
                let (change, results) = status::bulk(snap, &actor, action, user_ids, now)?;
                Ok((change, bulk_view(results)))
            },
        )
        .await
    }

    /// The snapshot to read the seats from, once the caller may
    /// (`seats.view`), and the time to read them at.
    pub async fn seats(
        &self,
        caller: &Caller,
        org: &OrgId,
    ) -> ApiResult<(Arc<OrgSnapshot>, Timestamp)> {
        let (_, snap) = self.read_as(caller, org, Action::SeatsView).await?;
        Ok((snap, self.now()))
    }

    /// The snapshot to read what the Admin Area shows a person from, once
    /// the caller may (the person themselves, or `members.view`), and the
    /// time to read it at (see [`roster_core::capabilities::capabilities`]).
    pub async fn capabilities(
        &self,
        caller: &Caller,
        org: &OrgId,
        user: &UserId,
    ) -> ApiResult<(Arc<OrgSnapshot>, Timestamp)> {
        let actor = caller.acting_in(org)?;
        let snap = self.snapshot(org, None).await?;
        let now = self.now();
        access::authorize_self_or(&snap, &actor, user, Action::MembersView, now)?;
        access::target(&snap, user, now)?;
        Ok((snap, now))
    }
}

/// An Implementation Admin whose role was removed has left: the answer is
/// the person as they were, with no role and `left_organization`.
fn left_organization(
    change: &Change,
    snap: &OrgSnapshot,
    now: Timestamp,
) -> Option<RoleChangeView> {
    change.outcomes().iter().find_map(|o| match o {
        Outcome::ImplementationAdminEnded { member, .. } => {
            let mut view = MemberView::of(snap, member, now);
            view.org_role = None;
            view.uses_seat = false;
            view.implementation_admin = None;
            view.space_roles = Vec::new();
            Some(RoleChangeView {
                member: view,
                kept_space_roles: Some(Vec::new()),
                left_organization: true,
            })
        }
        _ => None,
    })
}

/// `kept_space_roles` goes with the removal of an admin-tier role.
fn kept(change: &Change) -> Option<Vec<SpaceRoleView>> {
    change.outcomes().iter().find_map(|o| match o {
        Outcome::RoleChanged {
            to: None,
            kept_space_roles,
            ..
        } => Some(space_roles(kept_space_roles.iter().map(|(s, r)| (s, *r)))),
        _ => None,
    })
}

fn bulk_view(results: Vec<BulkResult>) -> BulkView {
    BulkView {
        results: results
            .into_iter()
            .map(|r| match r.outcome {
                Ok(()) => BulkItemView {
                    user_id: r.user_id,
                    ok: true,
                    code: None,
                    detail: None,
                },
                Err(e) => BulkItemView {
                    user_id: r.user_id,
                    ok: false,
                    code: Some(e.code().to_owned()),
                    detail: Some(e.to_string()),
                },
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::Needle;

    #[test]
    fn a_name_matches_in_any_case_as_when_lowercased() {
        let long = format!("{} Seven", "Member ".repeat(30));
        for (text, q) in [
            ("Member Seven", "seven"),
            ("MEMBER", "member"),
            ("Member", "members"),
            ("Équipe Nord", "équipe"),
            ("ÉQUIPE", "équipe"),
            ("Member", "é"),
            ("Straße", "ss"),
            ("", "a"),
            ("Member", ""),
            ("İ", "i"),
            ("Member", "MEMBER"),
            (long.as_str(), "seven"),
            (long.as_str(), "eight"),
        ] {
            assert_eq!(
                Needle::new(q).in_name(text),
                text.to_lowercase().contains(&q.to_lowercase()),
                "{text:?} / {q:?}"
            );
        }
    }
}
