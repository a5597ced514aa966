//! Random organizations, random actors, random sequences of management
//! operations: after every step the invariants of SPEC §3–§7 still hold,
//! and every outcome of a change was within its actor's rights.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Duration;
use proptest::prelude::*;
use roster_core::implementation_admin::{
    expire_due, remove_implementation_admin, set_implementation_admin_enabled,
};
use roster_core::invite::{
    accept_invitation, expire_invitations, invite, EmailInput, InviteRequest, NewIds,
};
use roster_core::org_roles::change_org_role;
use roster_core::space_roles::{leave_space, remove_space_role, set_space_role};
use roster_core::status::{bulk, deactivate, reactivate, remove_member};
use roster_core::*;

use crate::common;

const SPACES: [&str; 4] = ["s0", "s1", "s2", "s3"];

// Generators

#[derive(Clone, Debug)]
struct MemberSpec {
    org_role: Option<OrgRole>,
    active: bool,
    partner: bool,
    ia_duration: IaDuration,
    space_roles: [Option<SpaceRole>; 4],
}

#[derive(Clone, Debug)]
struct OrgSpec {
    spaces: usize,
    seat_limit: Option<u32>,
    allow_ia: bool,
    allowlist: Vec<&'static str>,
    members: Vec<MemberSpec>,
}

#[derive(Clone, Debug)]
enum Op {
    ChangeOrgRole {
        actor: usize,
        target: usize,
        role: Option<OrgRole>,
        duration: Option<IaDuration>,
    },
    Deactivate {
        actor: usize,
        target: usize,
    },
    Reactivate {
        actor: usize,
        target: usize,
    },
    Remove {
        actor: usize,
        target: usize,
    },
    RemoveIa {
        actor: usize,
        target: usize,
    },
    Bulk {
        actor: usize,
        action: BulkAction,
        targets: Vec<usize>,
    },
    SetSpaceRole {
        actor: usize,
        target: usize,
        space: usize,
        role: SpaceRole,
    },
    RemoveSpaceRole {
        actor: usize,
        target: usize,
        space: usize,
    },
    Invite {
        actor: usize,
        emails: Vec<usize>,
        role: Role,
        spaces: Vec<usize>,
        duration: Option<IaDuration>,
    },
    Accept {
        pick: usize,
        gives_name: bool,
    },
    Toggle {
        actor: usize,
        enabled: bool,
        confirm: bool,
    },
    Leave {
        user: usize,
        space: usize,
    },
    Advance {
        days: i64,
    },
    ExpiryJob,
}

fn org_role() -> impl Strategy<Value = Option<OrgRole>> {
    prop_oneof![
        3 => Just(None),
        2 => Just(Some(OrgRole::Owner)),
        2 => Just(Some(OrgRole::Admin)),
        1 => Just(Some(OrgRole::ImplementationAdmin)),
    ]
}

fn space_role() -> impl Strategy<Value = SpaceRole> {
    prop::sample::select(SpaceRole::ALL)
}

fn duration() -> impl Strategy<Value = IaDuration> {
    prop::sample::select(IaDuration::ALL)
}

fn member_spec() -> impl Strategy<Value = MemberSpec> {
    (
        org_role(),
        prop::bool::weighted(0.85),
        any::<bool>(),
        duration(),
        prop::array::uniform4(prop::option::weighted(0.4, space_role())),
    )
        .prop_map(
            |(org_role, active, partner, ia_duration, space_roles)| MemberSpec {
                org_role,
                active,
                partner,
                ia_duration,
                space_roles,
            },
        )
}

fn org_spec() -> impl Strategy<Value = OrgSpec> {
    (
        2usize..=4,
        prop::option::weighted(0.7, 1u32..12),
        prop::bool::weighted(0.7),
        prop::sample::select(vec![
            vec!["example.com"],
            vec!["*.partner.io"],
            vec!["example.com", "*.partner.io"],
        ]),
        prop::collection::vec(member_spec(), 1..8),
    )
        .prop_map(
            |(spaces, seat_limit, allow_ia, allowlist, members)| OrgSpec {
                spaces,
                seat_limit,
                allow_ia,
                allowlist,
                members,
            },
        )
}

/// A role with its duration; one time in ten the duration is deliberately
/// wrong (missing for implementation_admin, present for the others).
fn role_and_duration<R: Clone + std::fmt::Debug + 'static>(
    roles: impl Strategy<Value = R>,
    is_ia: fn(&R) -> bool,
) -> impl Strategy<Value = (R, Option<IaDuration>)> {
    (roles, duration(), prop::bool::weighted(0.1)).prop_map(move |(role, d, wrong)| {
        let dur = if is_ia(&role) != wrong { Some(d) } else { None };
        (role, dur)
    })
}

fn invite_role() -> impl Strategy<Value = Role> {
    prop_oneof![
        1 => Just(Role::Org(OrgRole::Owner)),
        2 => Just(Role::Org(OrgRole::Admin)),
        2 => Just(Role::Org(OrgRole::ImplementationAdmin)),
        5 => space_role().prop_map(Role::Space),
    ]
}

const ACTOR: std::ops::Range<usize> = 0..64;

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (ACTOR, ACTOR, role_and_duration(org_role(), |r| *r == Some(OrgRole::ImplementationAdmin)))
            .prop_map(|(actor, target, (role, duration))| Op::ChangeOrgRole { actor, target, role, duration }),
        2 => (ACTOR, ACTOR).prop_map(|(actor, target)| Op::Deactivate { actor, target }),
        2 => (ACTOR, ACTOR).prop_map(|(actor, target)| Op::Reactivate { actor, target }),
        2 => (ACTOR, ACTOR).prop_map(|(actor, target)| Op::Remove { actor, target }),
        1 => (ACTOR, ACTOR).prop_map(|(actor, target)| Op::RemoveIa { actor, target }),
        2 => (ACTOR, prop::sample::select(BulkAction::ALL), prop::collection::vec(ACTOR, 1..5))
            .prop_map(|(actor, action, targets)| Op::Bulk { actor, action, targets }),
        4 => (ACTOR, ACTOR, 0usize..4, space_role())
            .prop_map(|(actor, target, space, role)| Op::SetSpaceRole { actor, target, space, role }),
        2 => (ACTOR, ACTOR, 0usize..4)
            .prop_map(|(actor, target, space)| Op::RemoveSpaceRole { actor, target, space }),
        4 => (
            ACTOR,
            prop::collection::vec(0usize..EMAIL_POOL, 1..4),
            role_and_duration(invite_role(), |r| *r == Role::Org(OrgRole::ImplementationAdmin)),
            prop::collection::vec(0usize..4, 1..3),
        )
            .prop_map(|(actor, emails, (role, duration), spaces)| Op::Invite { actor, emails, role, spaces, duration }),
        4 => (0usize..64, prop::bool::weighted(0.3))
            .prop_map(|(pick, gives_name)| Op::Accept { pick, gives_name }),
        1 => (ACTOR, any::<bool>(), any::<bool>())
            .prop_map(|(actor, enabled, confirm)| Op::Toggle { actor, enabled, confirm }),
        1 => (ACTOR, 0usize..4).prop_map(|(user, space)| Op::Leave { user, space }),
        1 => (0i64..45).prop_map(|days| Op::Advance { days }),
        1 => Just(Op::ExpiryJob),
    ]
}

// The world

const EMAIL_POOL: usize = 16;

/// Candidate addresses for invitations: new people on allowed and
/// disallowed domains, existing members, one typo.
fn pool_email(i: usize) -> String {
    match i {
        0..=3 => format!("new{i}@example.com"),
        4..=6 => format!("new{i}@eu.partner.io"),
        7 => "new7@partner.io".into(),
        8 => "new8@elsewhere.org".into(),
        9 => "not an email@@".into(),
        _ => {
            let m = i - 10;
            if m & 1 == 0 {
                format!("m{m}@example.com")
            } else {
                format!("m{m}@eu.partner.io")
            }
        }
    }
}

/// The address of the member `m{i}`: partners and odd ones are on the
/// partner domain (so some pool addresses name members, some do not).
fn member_email(i: usize, partner: bool) -> Email {
    let domain = if partner || i & 1 == 1 {
        "eu.partner.io"
    } else {
        "example.com"
    };
    Email::parse(&format!("m{i}@{domain}")).unwrap()
}

struct World {
    snap: OrgSnapshot,
    now: Timestamp,
    spaces: usize,
    /// Every user id ever seen, plus a stranger: actors and targets.
    users: Vec<UserId>,
    /// Accounts outlive memberships: the user id of every address seen.
    accounts: BTreeMap<Email, UserId>,
    /// Invitation ids, with whether their sender held `owner.assign`.
    sent_by_owner: BTreeMap<InvitationId, bool>,
    next_id: u64,
}

fn build(spec: &OrgSpec) -> World {
    let settings = OrgSettings {
        allow_implementation_admin: spec.allow_ia,
        seat_limit: spec.seat_limit,
        ia_domains: DomainAllowlist::parse_all(spec.allowlist.iter().copied()).unwrap(),
        ..OrgSettings::default()
    };
    let mut snap = OrgSnapshot::new("org".into(), "Org".into(), settings);
    for space in &SPACES[..spec.spaces] {
        snap.add_space(Space {
            id: (*space).into(),
            name: (*space).into(),
        });
    }
    let now = common::now();
    let first_owner = Inviter {
        user_id: "m0".into(),
        email: member_email(0, spec.members[0].partner),
    };
    let mut users = vec![UserId::from("stranger")];
    let mut accounts = BTreeMap::new();
    // Worlds with an odd number of members are loaded the way the SQLite
    // loader does: each member as it comes, its roles held until every
    // member is in. The others the PostgreSQL loader's way: every member at
    // once, out of id order, then the roles, scattered.
    let member_by_member = spec.members.len() % 2 == 1;
    let mut later = LaterRoles::default();
    let mut all_at_once = Vec::new();
    let mut roles_afterwards = Vec::new();
    for (i, m) in spec.members.iter().enumerate() {
        let id = UserId::from(format!("m{i}"));
        let address = member_email(i, m.partner);
        let mut member = Member::new(id.clone(), address.clone(), id.to_string());
        // The first member is always an active Owner.
        member.org_role = if i == 0 {
            Some(OrgRole::Owner)
        } else {
            m.org_role
        };
        if !(i == 0 || m.active) {
            member.status = MemberStatus::Deactivated;
        }
        if member.org_role == Some(OrgRole::ImplementationAdmin) {
            member.ia = Some(Box::new(IaAssignment::new(
                m.ia_duration,
                now - Duration::days(10),
                Some(first_owner.clone()),
            )));
        }
        let roles = m
            .space_roles
            .iter()
            .enumerate()
            .take(spec.spaces)
            .filter_map(|(s, role)| Some((SPACES[s], (*role)?)));
        if member_by_member {
            snap.add_member(member);
            snap.hold_space_roles(&mut later, id.as_str(), roles);
        } else {
            all_at_once.push(member);
            roles_afterwards.extend(roles.map(|(space, role)| (id.clone(), space, role)));
        }
        accounts.insert(address, id.clone());
        users.push(id);
    }
    all_at_once.reverse();
    snap.add_loaded_members(all_at_once);
    for (id, space, role) in roles_afterwards.into_iter().rev() {
        snap.hold_space_roles(&mut later, id.as_str(), [(space, role)]);
    }
    snap.set_later_roles(later);
    World {
        snap,
        now,
        spaces: spec.spaces,
        users,
        accounts,
        sent_by_owner: BTreeMap::new(),
        next_id: 0,
    }
}

fn allowed(
    snap: &OrgSnapshot,
    actor: &UserId,
    action: Action,
    resource: Resource<'_>,
    now: Timestamp,
) -> bool {
    decide(snap, actor, action, resource, now).allowed
}

fn manages_space(snap: &OrgSnapshot, actor: &UserId, space: &SpaceId, now: Timestamp) -> bool {
    allowed(
        snap,
        actor,
        Action::MembersChangeRole,
        Resource::Organization,
        now,
    ) || allowed(
        snap,
        actor,
        Action::MembersManage,
        Resource::Space(space),
        now,
    )
}

fn active_owners(snap: &OrgSnapshot, now: Timestamp) -> BTreeSet<UserId> {
    snap.members()
        .filter(|m| m.is_active() && m.effective_org_role(now) == Some(OrgRole::Owner))
        .map(|m| m.user_id.clone())
        .collect()
}

fn occupied(snap: &OrgSnapshot, now: Timestamp) -> (Option<u32>, u32) {
    let u = snap.seat_usage(now);
    (u.limit, u.used + u.reserved)
}

/// What one step did, for the checks.
struct Step {
    /// `None` for the system's own jobs and for time passing.
    actor: Option<UserId>,
    changes: Vec<Change>,
    /// For an accepted invitation: the invitation.
    accepted: Option<Invitation>,
}

impl Step {
    fn by(actor: &UserId, result: Result<Change, RuleError>) -> Option<Step> {
        result.ok().map(|change| Step {
            actor: Some(actor.clone()),
            changes: vec![change],
            accepted: None,
        })
    }

    fn outcomes(&self) -> impl Iterator<Item = &Outcome> {
        self.changes.iter().flat_map(|c| c.outcomes())
    }
}

impl World {
    fn user(&self, i: usize) -> UserId {
        self.users[i % self.users.len()].clone()
    }

    /// Half the time a member matching `pred` (when there is one), else anyone.
    fn user_where(&self, i: usize, pred: impl Fn(&Member) -> bool) -> UserId {
        let mut matching: Vec<&UserId> = self
            .snap
            .members()
            .filter(|m| pred(m))
            .map(|m| &m.user_id)
            .collect();
        matching.sort_unstable();
        if i & 1 == 0 && !matching.is_empty() {
            matching[(i / 2) % matching.len()].clone()
        } else {
            self.user(i / 2)
        }
    }

    /// Targets: half the time a member, else anyone (strangers, the removed).
    fn target(&self, i: usize) -> UserId {
        self.user_where(i, |_| true)
    }

    /// Actors: half the time someone with an org role or a Program Admin.
    fn actor(&self, i: usize) -> UserId {
        let now = self.now;
        self.user_where(i, |m| {
            m.is_active()
                && (m.effective_org_role(now).is_some()
                    || self
                        .snap
                        .space_roles_of(m)
                        .any(|(_, r)| r == SpaceRole::ProgramAdmin))
        })
    }

    fn space(&self, i: usize) -> SpaceId {
        SpaceId::from(SPACES[i % self.spaces])
    }

    /// Runs one operation; `None` when it was refused (a refusal is always
    /// fine), else what it did.
    fn run(&mut self, op: &Op) -> Option<Step> {
        let snap = &self.snap;
        let now = self.now;
        match op {
            Op::ChangeOrgRole {
                actor,
                target,
                role,
                duration,
            } => {
                let (a, t) = (self.actor(*actor), self.target(*target));
                let r = change_org_role(snap, &Actor::User(a.clone()), &t, *role, *duration, now);
                Step::by(&a, r)
            }
            Op::Deactivate { actor, target } => {
                let (a, t) = (self.actor(*actor), self.target(*target));
                Step::by(&a, deactivate(snap, &Actor::User(a.clone()), &t, now))
            }
            Op::Reactivate { actor, target } => {
                let a = self.actor(*actor);
                let t = self.user_where(*target, |m| !m.is_active());
                Step::by(&a, reactivate(snap, &Actor::User(a.clone()), &t, now))
            }
            Op::Remove { actor, target } => {
                let (a, t) = (self.actor(*actor), self.target(*target));
                Step::by(&a, remove_member(snap, &Actor::User(a.clone()), &t, now))
            }
            Op::RemoveIa { actor, target } => {
                let a = self.actor(*actor);
                let t = self.user_where(*target, |m| {
                    m.org_role == Some(OrgRole::ImplementationAdmin)
                });
                let r = remove_implementation_admin(snap, &Actor::User(a.clone()), &t, true, now);
                Step::by(&a, r)
            }
            Op::Bulk {
                actor,
                action,
                targets,
            } => {
                let a = self.actor(*actor);
                let ids: Vec<UserId> = targets.iter().map(|t| self.target(*t)).collect();
                let r = bulk(snap, &Actor::User(a.clone()), *action, &ids, now);
                Step::by(&a, r.map(|(change, _)| change))
            }
            Op::SetSpaceRole {
                actor,
                target,
                space,
                role,
            } => {
                let (a, t) = (self.actor(*actor), self.target(*target));
                let space = self.space(*space);
                let r = set_space_role(snap, &Actor::User(a.clone()), &space, &t, *role, now);
                Step::by(&a, r)
            }
            Op::RemoveSpaceRole {
                actor,
                target,
                space,
            } => {
                let (a, t) = (self.actor(*actor), self.target(*target));
                let space = self.space(*space);
                let r = remove_space_role(snap, &Actor::User(a.clone()), &space, &t, now);
                Step::by(&a, r)
            }
            Op::Invite {
                actor,
                emails,
                role,
                spaces,
                duration,
            } => {
                let a = self.actor(*actor);
                // Repeated spaces are sent as they are: they count once.
                let space_ids: Vec<SpaceId> = match role {
                    Role::Org(_) => Vec::new(),
                    Role::Space(_) => spaces.iter().map(|s| self.space(*s)).collect(),
                };
                let request = InviteRequest {
                    emails: EmailInput::List(emails.iter().map(|i| pool_email(*i)).collect()),
                    role: *role,
                    space_ids,
                    duration: *duration,
                    message: None,
                };
                let mut counter = self.next_id;
                let result = {
                    let mut next = || {
                        counter += 1;
                        InvitationId::from(format!("inv{counter:05}"))
                    };
                    let ids = NewIds {
                        batch: BatchId::from(format!("bat{:05}", self.next_id)),
                        invitation: &mut next,
                    };
                    let actor = Actor::User(a.clone());
                    invite(snap, &actor, &request, now, Duration::days(14), ids)
                };
                self.next_id = counter;
                let change = result.ok()?;
                let owner = allowed(snap, &a, Action::OwnerAssign, Resource::Organization, now);
                for inv in roster_core::invite::invitations_of(&change) {
                    self.sent_by_owner.insert(inv.id.clone(), owner);
                }
                Step::by(&a, Ok(change))
            }
            Op::Accept { pick, gives_name } => {
                let mut open: Vec<&Invitation> = snap.pending_invitations().collect();
                if open.is_empty() {
                    return None;
                }
                open.sort_by(|a, b| a.id.cmp(&b.id));
                let inv = open[pick % open.len()].clone();
                let known = self.accounts.get(&inv.email).cloned();
                let user_id = known
                    .clone()
                    .unwrap_or_else(|| UserId::from(format!("u-{}", inv.email)));
                let account = Account {
                    user_id: user_id.clone(),
                    email: inv.email.clone(),
                    name: user_id.to_string(),
                    created: known.is_none(),
                };
                let name = gives_name.then(|| Name::parse("name", "Given Name").unwrap());
                let change = accept_invitation(snap, &inv.id, &account, name, now).ok()?;
                self.accounts.insert(inv.email.clone(), user_id.clone());
                if !self.users.contains(&user_id) {
                    self.users.push(user_id.clone());
                }
                Some(Step {
                    actor: Some(user_id),
                    changes: vec![change],
                    accepted: Some(inv),
                })
            }
            Op::Toggle {
                actor,
                enabled,
                confirm,
            } => {
                let a = self.actor(*actor);
                let r = set_implementation_admin_enabled(
                    snap,
                    &Actor::User(a.clone()),
                    *enabled,
                    *confirm,
                    now,
                );
                Step::by(&a, r)
            }
            Op::Leave { user, space } => {
                let space = self.space(*space);
                let u = self.user_where(*user, |m| {
                    self.snap.space_role(m, &space) == Some(SpaceRole::Participant)
                });
                Step::by(
                    &u,
                    leave_space(snap, &Actor::User(u.clone()), &space, true, now),
                )
            }
            Op::Advance { days } => {
                self.now += Duration::days(*days);
                Some(Step {
                    actor: None,
                    changes: Vec::new(),
                    accepted: None,
                })
            }
            Op::ExpiryJob => {
                // The jobs run one after the other, each on a fresh snapshot.
                let assignments = expire_due(snap, now);
                let mut after = snap.clone();
                for effect in assignments.effects() {
                    after.apply(&effect);
                }
                let invitations = expire_invitations(&after, now);
                Some(Step {
                    actor: None,
                    changes: vec![assignments, invitations],
                    accepted: None,
                })
            }
        }
    }
}

/// Every outcome of a step by a person was within their rights before it
/// (acceptance is checked by [`check_accept`], jobs by [`check_job`]).
fn check_outcomes(prev: &OrgSnapshot, at: Timestamp, actor: &UserId, step: &Step, op: &Op) {
    let has = |action: Action| allowed(prev, actor, action, Resource::Organization, at);
    let was = |user: &UserId| {
        prev.member(user)
            .unwrap_or_else(|| panic!("{user} was not a member: {op:?}"))
    };
    for change in &step.changes {
        assert_eq!(change.grant().org(), &prev.org_id);
        assert_eq!(change.grant().by(), &Principal::User(actor.clone()));
    }
    // The action that removes people, by the kind of request.
    let removal = match op {
        Op::Toggle { .. } => Action::SettingsManage,
        Op::ChangeOrgRole { .. } => Action::MembersChangeRole,
        _ => Action::MembersRemove,
    };
    for outcome in step.outcomes() {
        match outcome {
            Outcome::RoleChanged {
                user_id,
                from,
                to,
                assignment,
                ..
            } => {
                let target = was(user_id);
                assert_eq!(*from, target.org_role);
                assert!(
                    has(Action::MembersChangeRole),
                    "{actor} set an org role: {op:?}"
                );
                if *to == Some(OrgRole::Owner) {
                    assert!(has(Action::OwnerAssign), "{actor} made an Owner: {op:?}");
                    assert_ne!(
                        target.org_role,
                        Some(OrgRole::ImplementationAdmin),
                        "an Implementation Admin was made Owner"
                    );
                }
                if *to == Some(OrgRole::ImplementationAdmin) {
                    assert!(prev.settings.allow_implementation_admin);
                    assert!(prev.settings.ia_domains.allows(&target.email));
                    assert!(assignment.is_some());
                }
                if target.effective_org_role(at) == Some(OrgRole::Owner) {
                    assert!(has(Action::OwnerAssign), "{actor} changed an Owner: {op:?}");
                }
            }
            Outcome::Deactivated { user_id } | Outcome::Reactivated { user_id } => {
                assert!(
                    has(Action::MembersDeactivate),
                    "{actor} set a status: {op:?}"
                );
                if was(user_id).org_role == Some(OrgRole::Owner) {
                    assert!(has(Action::OwnerAssign), "{actor} set an Owner's status");
                }
            }
            Outcome::LeftOrganization { user_id, reason } => {
                assert!(has(removal), "{actor} removed {user_id}: {op:?}");
                let target = was(user_id);
                if target.org_role == Some(OrgRole::Owner) {
                    assert!(has(Action::OwnerAssign), "{actor} removed an Owner");
                }
                if let LeaveReason::ImplementationAdminEnded(_) = reason {
                    assert_eq!(target.org_role, Some(OrgRole::ImplementationAdmin));
                }
            }
            Outcome::ImplementationAdminEnded { member, reason } => {
                assert_eq!(member, was(&member.user_id), "as they were");
                assert_eq!(member.org_role, Some(OrgRole::ImplementationAdmin));
                let expected = match op {
                    Op::Toggle { .. } => EndReason::SettingDisabled,
                    _ => EndReason::Removed,
                };
                assert_eq!(*reason, expected);
            }
            Outcome::SpaceRoleSet {
                user_id,
                space_id,
                from,
                ..
            } => {
                assert!(
                    manages_space(prev, actor, space_id, at),
                    "{actor} set a role in {space_id}: {op:?}"
                );
                let target = was(user_id);
                assert_eq!(*from, prev.space_role(target, space_id));
                if target.effective_org_role(at).is_some() {
                    assert!(
                        has(Action::MembersChangeRole),
                        "{actor} changed an org admin's program role: {op:?}"
                    );
                }
            }
            Outcome::SpaceRoleRemoved {
                user_id,
                space_id,
                from,
                retained_access,
            } => {
                assert!(manages_space(prev, actor, space_id, at), "{op:?}");
                let target = was(user_id);
                assert_eq!(Some(*from), prev.space_role(target, space_id));
                assert_eq!(*retained_access, target.effective_org_role(at));
            }
            Outcome::LeftSpace { user_id, space_id } => {
                assert!(matches!(op, Op::Leave { .. }), "{op:?}");
                assert_eq!(user_id, actor);
                assert_eq!(
                    prev.space_role(was(actor), space_id),
                    Some(SpaceRole::Participant)
                );
            }
            Outcome::ImplementationAdminSetting { .. } => {
                assert!(has(Action::SettingsManage), "{actor} changed settings");
            }
            Outcome::InvitationCreated { invitation }
            | Outcome::InvitationAccepted {
                invitation,
                existing_member: true,
                ..
            } => {
                assert!(matches!(op, Op::Invite { .. }), "{op:?}");
                assert_eq!(invitation.invited_by.as_ref(), Some(actor));
                match invitation.role {
                    Role::Org(role) => {
                        assert!(has(Action::MembersInvite));
                        if role == OrgRole::Owner {
                            assert!(
                                has(Action::OwnerAssign),
                                "{actor} invited an Owner without owner.assign"
                            );
                        }
                        if role == OrgRole::ImplementationAdmin {
                            assert!(prev.settings.allow_implementation_admin);
                            assert!(prev.settings.ia_domains.allows(&invitation.email));
                        }
                    }
                    Role::Space(_) => {
                        for s in &invitation.space_ids {
                            assert!(
                                manages_space(prev, actor, s, at),
                                "{actor} invited into {s}"
                            );
                        }
                    }
                }
            }
            Outcome::InvitationRevoked { invitation, .. } => {
                assert!(prev.invitation(&invitation.id).is_some(), "{op:?}");
            }
            Outcome::MemberAdded { .. } => panic!("only acceptance adds members: {op:?}"),
            other => panic!("unexpected outcome {other:?} from {op:?}"),
        }
    }
}

/// Acceptance gives exactly what the invitation promised, to its person.
fn check_accept(world: &World, prev: &OrgSnapshot, at: Timestamp, step: &Step) {
    let inv = step.accepted.as_ref().unwrap();
    let person = step.actor.as_ref().unwrap();
    for change in &step.changes {
        assert_eq!(change.grant().by(), &Principal::User(person.clone()));
    }
    for outcome in step.outcomes() {
        match outcome {
            // A stale Implementation Admin's assignment ends first.
            Outcome::LeftOrganization { user_id, reason } => {
                assert_eq!(user_id, person);
                assert_eq!(
                    *reason,
                    LeaveReason::ImplementationAdminEnded(EndReason::Expired)
                );
                assert!(prev.member(person).unwrap().ia_expired(at));
            }
            Outcome::ImplementationAdminEnded { member, reason } => {
                assert_eq!(&member.user_id, person);
                assert_eq!(*reason, EndReason::Expired);
            }
            Outcome::InvitationRevoked { trigger, .. } => {
                assert_eq!(*trigger, Trigger::Expiry);
            }
            Outcome::MemberAdded { member } => {
                assert!(prev.member(person).is_none_or(|m| m.ia_expired(at)));
                assert_eq!(&member.user_id, person);
                assert_eq!(member.email, inv.email);
                assert_eq!(member.org_role, None, "roles come after");
            }
            Outcome::NameSaved { user_id, name } => {
                assert_eq!(user_id, person);
                assert_eq!(name, "Given Name");
            }
            Outcome::InvitationAccepted {
                invitation,
                user_id,
                existing_member,
            } => {
                assert_eq!(invitation.id, inv.id);
                assert_eq!(invitation.status, InvitationStatus::Accepted);
                assert_eq!(user_id, person);
                assert!(!existing_member);
            }
            Outcome::RoleChanged {
                user_id,
                from,
                to,
                assignment,
                ..
            } => {
                assert_eq!(user_id, person);
                assert_eq!(*from, None);
                assert_eq!(to.map(Role::Org), Some(inv.role), "accepted role");
                if *to == Some(OrgRole::Owner) {
                    assert_eq!(world.sent_by_owner.get(&inv.id), Some(&true));
                }
                if *to == Some(OrgRole::ImplementationAdmin) {
                    assert!(prev.settings.allow_implementation_admin);
                    assert!(prev.settings.ia_domains.allows(&inv.email));
                    let ia = assignment.as_ref().unwrap();
                    assert_eq!(ia.assigned_at, at);
                    assert_eq!(ia.expires_at, inv.duration.unwrap().expires_at(at));
                    assert_eq!(
                        ia.invited_by.as_ref().map(|i| &i.user_id),
                        inv.invited_by.as_ref()
                    );
                }
            }
            Outcome::SpaceRoleSet {
                user_id,
                space_id,
                to,
                ..
            } => {
                assert_eq!(user_id, person);
                assert!(inv.space_ids.contains(space_id));
                assert_eq!(Role::Space(*to), inv.role);
            }
            other => panic!("unexpected outcome of acceptance: {other:?}"),
        }
    }
}

/// The background jobs end only what time ended.
fn check_job(prev: &OrgSnapshot, at: Timestamp, step: &Step) {
    for change in &step.changes {
        assert_eq!(change.grant().by(), &Principal::System);
    }
    for outcome in step.outcomes() {
        match outcome {
            Outcome::LeftOrganization { user_id, reason } => {
                assert_eq!(
                    *reason,
                    LeaveReason::ImplementationAdminEnded(EndReason::Expired)
                );
                assert!(prev.member(user_id).unwrap().ia_expired(at));
            }
            Outcome::ImplementationAdminEnded { member, reason } => {
                assert_eq!(*reason, EndReason::Expired);
                assert!(member.ia_expired(at));
            }
            Outcome::InvitationRevoked { trigger, .. } => assert_eq!(*trigger, Trigger::Expiry),
            Outcome::InvitationExpired { invitation } => {
                assert!(invitation.expires_at <= at);
            }
            other => panic!("unexpected outcome of a job: {other:?}"),
        }
    }
}

fn check_state(snap: &OrgSnapshot, now: Timestamp) {
    assert!(
        !active_owners(snap, now).is_empty(),
        "no active Owner is left"
    );
    for m in snap.members() {
        assert_eq!(
            m.ia.is_some(),
            m.org_role == Some(OrgRole::ImplementationAdmin),
            "ia terms without the role or the reverse: {m:?}"
        );
        assert!(
            snap.member_by_email(&m.email).map(|x| &x.user_id) == Some(&m.user_id),
            "email index out of step for {}",
            m.user_id
        );
        check_capabilities(snap, &m.user_id, now);
    }
}

/// The capabilities list each space the person may view, with the space
/// actions decided there one by one (`item.remove` on their own item).
fn check_capabilities(snap: &OrgSnapshot, user: &UserId, now: Timestamp) {
    let decided: Vec<(SpaceId, Vec<Action>)> = snap
        .spaces()
        .filter(|s| allowed(snap, user, Action::SpaceView, Resource::Space(&s.id), now))
        .map(|s| {
            let actions = policy::SPACE_ACTIONS
                .iter()
                .filter(|action| {
                    let resource = match action {
                        Action::ItemRemove => Resource::Item {
                            space_id: &s.id,
                            added_by: Some(user),
                        },
                        _ => Resource::Space(&s.id),
                    };
                    allowed(snap, user, *action, resource, now)
                })
                .collect();
            (s.id.clone(), actions)
        })
        .collect();
    let listed: Vec<(SpaceId, Vec<Action>)> = capabilities::capabilities(snap, user, now)
        .spaces
        .into_iter()
        .map(|c| (c.space_id, c.actions))
        .collect();
    assert_eq!(listed, decided, "capabilities of {user}");
}

fn check_step(world: &World, prev: &OrgSnapshot, prev_now: Timestamp, op: &Op, step: &Step) {
    let snap = &world.snap;
    let now = world.now;
    check_state(snap, now);

    // Seats: never pushed over the limit by a step.
    let (limit, before) = occupied(prev, prev_now);
    let (_, after) = occupied(snap, now);
    if let Some(limit) = limit {
        if before <= limit {
            assert!(
                after <= limit,
                "seats {before} -> {after} over the limit {limit} after {op:?}"
            );
        }
    }

    // Only Owners (or an Owner's invitation) produce Owners.
    let new_owners: Vec<UserId> = active_owners(snap, now)
        .difference(&active_owners(prev, prev_now))
        .cloned()
        .collect();
    if !new_owners.is_empty() {
        let actor = step
            .actor
            .as_ref()
            .expect("owners appear only by someone's act");
        match &step.accepted {
            Some(inv) => {
                assert_eq!(inv.role, Role::Org(OrgRole::Owner), "{op:?}");
                assert_eq!(
                    world.sent_by_owner.get(&inv.id),
                    Some(&true),
                    "an Owner invitation sent without owner.assign"
                );
            }
            None => assert!(
                allowed(
                    prev,
                    actor,
                    Action::OwnerAssign,
                    Resource::Organization,
                    prev_now
                ),
                "{actor} (not an Owner) produced the Owners {new_owners:?} by {op:?}"
            ),
        }
    }
    match (&step.actor, &step.accepted) {
        (None, _) => check_job(prev, prev_now, step),
        (Some(_), Some(_)) => check_accept(world, prev, prev_now, step),
        (Some(actor), None) => check_outcomes(prev, prev_now, actor, step, op),
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("regressions"),
        )),
        ..ProptestConfig::default()
    })]

    #[test]
    fn management_never_breaks_the_invariants(
        spec in org_spec(),
        ops in prop::collection::vec(op(), 1..30),
    ) {
        let mut world = build(&spec);
        check_state(&world.snap, world.now);
        for op in &ops {
            let prev = world.snap.clone();
            let prev_now = world.now;
            let Some(step) = world.run(op) else { continue };
            for change in &step.changes {
                for effect in change.effects() {
                    world.snap.apply(&effect);
                }
            }
            check_step(&world, &prev, prev_now, op, &step);
        }
    }
}
