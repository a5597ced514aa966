//! The decision function: SPEC §4 "How permissions add up", one rule at a
//! time, each decision carrying the rule that made it (rule 7).

use std::fmt;

use crate::action::Action;
use crate::ids::{SpaceId, UserId};
use crate::policy::{self, ORG_ACTIONS, ORG_ADMIN_TIER_COLUMN, SPACE_ACTIONS};
use crate::role::{OrgRole, Role, SpaceRole};
use crate::snapshot::{Member, OrgSnapshot, Timestamp};

/// What a decision is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource<'a> {
    Organization,
    Space(&'a SpaceId),
    /// Another person, for the report cells of SPEC §4 ¹.
    User(&'a UserId),
    /// Something inside a space, with who added it (SPEC §4 ²).
    Item {
        space_id: &'a SpaceId,
        added_by: Option<&'a UserId>,
    },
}

/// The rule that decided. Names are stable: clients read them from `explain`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rule {
    /// Rule 1: not a member of the organization.
    NoMembership,
    /// Rule 1: the membership is deactivated.
    MembershipDeactivated,
    /// Rule 2: the Implementation Admin assignment has expired.
    ImplementationAdminExpired,
    /// Organization actions: the org role's column allows it.
    OrgRoleAllows,
    /// Organization actions: the org role's column does not include it.
    OrgRoleLacks,
    /// Organization actions need an org role.
    NoOrgRole,
    /// Rule 3: a participant gets exactly the participant column.
    ParticipantLock,
    /// Rule 4: a sponsor gets exactly the sponsor column.
    SponsorReadOnly,
    /// Rule 5: the program admin or facilitator column allows it.
    SpaceRoleAllows,
    /// Rule 5/6: the org admin tier allows it in any space.
    OrgAdminTier,
    /// Neither the space role nor an org role allows it.
    SpaceRoleLacks,
    /// No role in this space and no org admin-tier role.
    NoSpaceRole,
    /// SPEC §4 ¹: a facilitator sees the reports of the space's participants.
    ParticipantsOnly,
    /// SPEC §4 ¹: the target is a participant of a space the subject oversees.
    OverseesParticipant,
    /// SPEC §4 ¹: the target is not a participant of any space the subject oversees.
    NotOverseenParticipant,
    /// SPEC §4 ²: the item was added by the subject.
    OwnItem,
    /// SPEC §4 ²: a facilitator removes only items they added.
    NotOwnItem,
    /// The space is not in this organization.
    UnknownSpace,
    /// The target user is not a member of this organization.
    UnknownTarget,
    /// The action does not apply to this kind of resource.
    NotApplicable,
}

impl Rule {
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::NoMembership => "no_membership",
            Rule::MembershipDeactivated => "membership_deactivated",
            Rule::ImplementationAdminExpired => "implementation_admin_expired",
            Rule::OrgRoleAllows => "org_role_allows",
            Rule::OrgRoleLacks => "org_role_lacks",
            Rule::NoOrgRole => "no_org_role",
            Rule::ParticipantLock => "participant_lock",
            Rule::SponsorReadOnly => "sponsor_read_only",
            Rule::SpaceRoleAllows => "space_role_allows",
            Rule::OrgAdminTier => "org_admin_tier",
            Rule::SpaceRoleLacks => "space_role_lacks",
            Rule::NoSpaceRole => "no_space_role",
            Rule::ParticipantsOnly => "facilitator_participants_only",
            Rule::OverseesParticipant => "oversees_participant",
            Rule::NotOverseenParticipant => "not_overseen_participant",
            Rule::OwnItem => "own_item",
            Rule::NotOwnItem => "not_own_item",
            Rule::UnknownSpace => "unknown_space",
            Rule::UnknownTarget => "unknown_target",
            Rule::NotApplicable => "not_applicable",
        }
    }

    /// One sentence for people reading an explanation.
    pub fn describe(self) -> &'static str {
        match self {
            Rule::NoMembership => "the subject is not a member of this organization",
            Rule::MembershipDeactivated => "the subject's membership is deactivated",
            Rule::ImplementationAdminExpired => {
                "the subject's Implementation Admin assignment has expired"
            }
            Rule::OrgRoleAllows => "the subject's organization role allows this action",
            Rule::OrgRoleLacks => "the subject's organization role does not include this action",
            Rule::NoOrgRole => "organization actions need an organization role",
            Rule::ParticipantLock => {
                "a participant of this space gets exactly the participant permissions here"
            }
            Rule::SponsorReadOnly => "a sponsor of this space is read-only here",
            Rule::SpaceRoleAllows => "the subject's role in this space allows this action",
            Rule::OrgAdminTier => "the subject's organization admin role reaches every space",
            Rule::SpaceRoleLacks => "the subject's role in this space does not include this action",
            Rule::NoSpaceRole => "the subject has no role in this space",
            Rule::ParticipantsOnly => "a facilitator sees this for the participants of the space",
            Rule::OverseesParticipant => {
                "the target is a participant of a space the subject oversees"
            }
            Rule::NotOverseenParticipant => {
                "the target is not a participant of any space the subject oversees"
            }
            Rule::OwnItem => "the subject added this item",
            Rule::NotOwnItem => "a facilitator removes only items they added",
            Rule::UnknownSpace => "the space is not in this organization",
            Rule::UnknownTarget => "the target user is not a member of this organization",
            Rule::NotApplicable => "the action does not apply to this kind of resource",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Allow or deny, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub rule: Rule,
    /// The role the rule looked at, when one did.
    pub role: Option<Role>,
}

impl Decision {
    fn allow(rule: Rule, role: Option<Role>) -> Self {
        Decision {
            allowed: true,
            rule,
            role,
        }
    }

    fn deny(rule: Rule, role: Option<Role>) -> Self {
        Decision {
            allowed: false,
            rule,
            role,
        }
    }

    fn by(allowed: bool, rule: Rule, role: Option<Role>) -> Self {
        Decision {
            allowed,
            rule,
            role,
        }
    }
}

/// May `subject` do `action` on `resource` at `now`?
pub fn decide(
    snapshot: &OrgSnapshot,
    subject: &UserId,
    action: Action,
    resource: Resource<'_>,
    now: Timestamp,
) -> Decision {
    let member = match active_member(snapshot, subject, now) {
        Ok(member) => member,
        Err(denied) => return denied,
    };
    let org_role = member.effective_org_role(now);
    match resource {
        Resource::Organization => org_decision(org_role, action),
        Resource::Space(space_id) => {
            space_decision(snapshot, member, org_role, action, space_id, None)
        }
        Resource::Item { space_id, added_by } => {
            space_decision(snapshot, member, org_role, action, space_id, Some(added_by))
        }
        Resource::User(target) => user_decision(snapshot, member, org_role, action, target),
    }
}

/// Rules 1 and 2: who is denied everything.
fn active_member<'s>(
    snapshot: &'s OrgSnapshot,
    subject: &UserId,
    now: Timestamp,
) -> Result<&'s Member, Decision> {
    let Some(member) = snapshot.member(subject) else {
        return Err(Decision::deny(Rule::NoMembership, None));
    };
    if !member.is_active() {
        return Err(Decision::deny(Rule::MembershipDeactivated, None));
    }
    // An expired Implementation Admin has left the organization in all but
    // storage: the expiry job will delete the membership and space roles, so
    // nothing they held is honoured from the instant of expiry.
    if member.ia_expired(now) {
        return Err(Decision::deny(
            Rule::ImplementationAdminExpired,
            Some(Role::Org(OrgRole::ImplementationAdmin)),
        ));
    }
    Ok(member)
}

fn org_decision(org_role: Option<OrgRole>, action: Action) -> Decision {
    if !ORG_ACTIONS.contains(action) {
        return Decision::deny(Rule::NotApplicable, None);
    }
    match org_role {
        None => Decision::deny(Rule::NoOrgRole, None),
        Some(role) => {
            let allowed = policy::org_column(role).contains(action);
            let rule = if allowed {
                Rule::OrgRoleAllows
            } else {
                Rule::OrgRoleLacks
            };
            Decision::by(allowed, rule, Some(Role::Org(role)))
        }
    }
}

/// `added_by` is `Some` for item resources: `Some(None)` is an item whose
/// author is unknown.
fn space_decision(
    snapshot: &OrgSnapshot,
    member: &Member,
    org_role: Option<OrgRole>,
    action: Action,
    space_id: &SpaceId,
    added_by: Option<Option<&UserId>>,
) -> Decision {
    let Some(space) = snapshot.space_index(space_id.as_str()) else {
        return Decision::deny(Rule::UnknownSpace, None);
    };
    // Organization-only actions asked on a space (`spaces.manage`,
    // `spaces.delete`, …) are decided by the org role alone (rule 3's
    // "only through organization actions").
    if !SPACE_ACTIONS.contains(action) {
        return org_decision(org_role, action);
    }
    let admin_tier = org_role.is_some();
    match snapshot.space_role_at(member, space) {
        Some(role @ SpaceRole::Participant) => {
            column_decision(role, action, Rule::ParticipantLock, Rule::ParticipantLock)
        }
        Some(role @ SpaceRole::Sponsor) => {
            column_decision(role, action, Rule::SponsorReadOnly, Rule::SponsorReadOnly)
        }
        Some(role) => {
            let by_space = space_role_decision(member, role, action, added_by);
            if by_space.allowed || !admin_tier {
                return by_space;
            }
            // Rule 5: a program admin or facilitator who is also org admin
            // tier holds the union of both columns.
            tier_decision(org_role, action).unwrap_or(by_space)
        }
        None => tier_decision(org_role, action)
            .unwrap_or_else(|| Decision::deny(Rule::NoSpaceRole, None)),
    }
}

fn column_decision(role: SpaceRole, action: Action, allow: Rule, deny: Rule) -> Decision {
    let allowed = policy::space_column(role).contains(action);
    Decision::by(
        allowed,
        if allowed { allow } else { deny },
        Some(Role::Space(role)),
    )
}

/// The program admin and facilitator columns, with the facilitator's
/// conditional cells.
fn space_role_decision(
    member: &Member,
    role: SpaceRole,
    action: Action,
    added_by: Option<Option<&UserId>>,
) -> Decision {
    let as_role = Some(Role::Space(role));
    if !policy::space_column(role).contains(action) {
        return Decision::deny(Rule::SpaceRoleLacks, as_role);
    }
    if role != SpaceRole::Facilitator {
        return Decision::allow(Rule::SpaceRoleAllows, as_role);
    }
    if action == Action::ItemRemove {
        return match added_by {
            Some(Some(author)) if *author == member.user_id => {
                Decision::allow(Rule::OwnItem, as_role)
            }
            _ => Decision::deny(Rule::NotOwnItem, as_role),
        };
    }
    if policy::SPACE_OVERSIGHT.contains(action) {
        return Decision::allow(Rule::ParticipantsOnly, as_role);
    }
    Decision::allow(Rule::SpaceRoleAllows, as_role)
}

/// Rule 6: the org admin tier's column, or `None` without an org role.
fn tier_decision(org_role: Option<OrgRole>, action: Action) -> Option<Decision> {
    let role = org_role?;
    let allowed = ORG_ADMIN_TIER_COLUMN.contains(action);
    Some(Decision::by(
        allowed,
        if allowed {
            Rule::OrgAdminTier
        } else {
            Rule::SpaceRoleLacks
        },
        Some(Role::Org(role)),
    ))
}

/// SPEC §4 ¹: reports and activity of one person; any other action on a
/// person is an organization action (e.g. `members.change_role`).
fn user_decision(
    snapshot: &OrgSnapshot,
    member: &Member,
    org_role: Option<OrgRole>,
    action: Action,
    target: &UserId,
) -> Decision {
    let Some(target) = snapshot.member(target) else {
        return Decision::deny(Rule::UnknownTarget, None);
    };
    if !policy::SPACE_OVERSIGHT.contains(action) {
        return org_decision(org_role, action);
    }
    if let Some(role) = org_role {
        return Decision::allow(Rule::OrgAdminTier, Some(Role::Org(role)));
    }
    let overseen = snapshot.space_role_indexes(member).find(|(space, role)| {
        role.oversees_participants()
            && snapshot.space_role_at(target, *space) == Some(SpaceRole::Participant)
    });
    match overseen {
        Some((_, role)) => Decision::allow(Rule::OverseesParticipant, Some(Role::Space(role))),
        None => Decision::deny(Rule::NotOverseenParticipant, None),
    }
}
