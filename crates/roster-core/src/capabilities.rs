//! What the Admin Area shows a person (SPEC §11, seed `001_…` "Roles appear
//! when you need them"), derived from the same decisions as everything else.

use crate::action::Action;
use crate::decide::{decide, Resource};
use crate::ids::{SpaceId, UserId};
use crate::page::first_in_order;
use crate::policy::SPACE_ACTIONS;
use crate::role::SpaceRole;
use crate::snapshot::{OrgSnapshot, Timestamp};

/// Admin Area sections and the action that opens each (API.md).
pub const SECTIONS: [(&str, Action); 9] = [
    ("users", Action::MembersView),
    ("spaces", Action::SpacesManage),
    ("reports", Action::ReportsView),
    ("offers", Action::OffersManage),
    ("integrations", Action::IntegrationsManage),
    ("brand_settings", Action::BrandManage),
    ("audit", Action::AuditView),
    ("billing", Action::BillingView),
    ("financials", Action::FinancialsView),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SpaceView {
    Admin,
    Facilitator,
    Participant,
    Sponsor,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SpaceCapabilities {
    pub space_id: SpaceId,
    pub view: SpaceView,
    pub actions: Vec<Action>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Capabilities {
    pub role_management: bool,
    pub sections: Vec<&'static str>,
    pub spaces: Vec<SpaceCapabilities>,
}

pub fn capabilities(snapshot: &OrgSnapshot, user_id: &UserId, now: Timestamp) -> Capabilities {
    let allowed = |action, resource| decide(snapshot, user_id, action, resource, now).allowed;
    let sections = SECTIONS
        .iter()
        .filter(|(_, action)| allowed(*action, Resource::Organization))
        .map(|(name, _)| *name)
        .collect();
    let not_alone =
        snapshot.member_count() > 1 || snapshot.pending_invitations().any(|inv| inv.is_open(now));
    let role_management = not_alone && allowed(Action::MembersChangeRole, Resource::Organization);
    let member = snapshot.member(user_id);
    // A facilitator who is also an org admin holds the union (rule 5):
    // they see the space as an admin.
    let admin_tier = member.and_then(|m| m.effective_org_role(now)).is_some();
    // A decision on a space depends on the space only through the
    // person's role there: the spaces are asked once per role they hold
    // (or none), on the first space where they hold it.
    let mut by_role: [Option<Option<Vec<Action>>>; 5] = Default::default();
    let mut spaces = Vec::new();
    for (index, space) in snapshot.spaces_indexed() {
        let role = member.and_then(|m| snapshot.space_role_at(m, index));
        let asked = by_role[role.map_or(0, |r| r as usize + 1)].get_or_insert_with(|| {
            allowed(Action::SpaceView, Resource::Space(&space.id))
                .then(|| space_actions(snapshot, user_id, &space.id, now))
        });
        let Some(actions) = asked else { continue };
        let view = match role {
            Some(SpaceRole::Participant) => SpaceView::Participant,
            Some(SpaceRole::Sponsor) => SpaceView::Sponsor,
            Some(SpaceRole::Facilitator) if !admin_tier => SpaceView::Facilitator,
            Some(SpaceRole::Facilitator | SpaceRole::ProgramAdmin) | None => SpaceView::Admin,
        };
        spaces.push(SpaceCapabilities {
            space_id: space.id.clone(),
            view,
            actions: actions.clone(),
        });
    }
    Capabilities {
        role_management,
        sections,
        spaces,
    }
}

/// The SPEC §4 space actions a person may do in a space. `item.remove` is
/// listed when they may remove at least their own items.
fn space_actions(
    snapshot: &OrgSnapshot,
    user_id: &UserId,
    space_id: &SpaceId,
    now: Timestamp,
) -> Vec<Action> {
    let own_item = Resource::Item {
        space_id,
        added_by: Some(user_id),
    };
    SPACE_ACTIONS
        .iter()
        .filter(|action| {
            let resource = match action {
                Action::ItemRemove => own_item,
                _ => Resource::Space(space_id),
            };
            decide(snapshot, user_id, *action, resource, now).allowed
        })
        .collect()
}

/// Every action of the catalog a person may do on `resource` (AuthZEN
/// action search): on a space, the same list as that space's capabilities;
/// elsewhere each action the decision allows there.
pub fn allowed_actions(
    snapshot: &OrgSnapshot,
    user_id: &UserId,
    resource: Resource<'_>,
    now: Timestamp,
) -> Vec<Action> {
    match resource {
        Resource::Space(space_id) => space_actions(snapshot, user_id, space_id, now),
        _ => Action::ALL
            .iter()
            .copied()
            .filter(|action| decide(snapshot, user_id, *action, resource, now).allowed)
            .collect(),
    }
}

/// The active members who may do `action` on `resource` (AuthZEN subject
/// search): the first `limit + 1` in id order after the id `after` (`""`
/// from the start), enough for a page and to tell whether another follows.
pub fn allowed_subjects<'a>(
    snapshot: &'a OrgSnapshot,
    action: Action,
    resource: Resource<'_>,
    now: Timestamp,
    after: &str,
    limit: usize,
) -> Vec<&'a UserId> {
    let candidates = snapshot
        .members()
        .filter(|member| after.is_empty() || member.id_after(after));
    first_in_order(
        candidates,
        limit,
        |a, b| a.cmp_by_id(b),
        |member| {
            member.is_active() && decide(snapshot, &member.user_id, action, resource, now).allowed
        },
    )
    .into_iter()
    .map(|member| &member.user_id)
    .collect()
}
