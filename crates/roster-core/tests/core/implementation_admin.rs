//! SPEC §6, the Implementation Admin lifecycle: the toggle, the domain
//! allowlist, durations, expiry, early removal, Forever reviews.

use chrono::{Duration, TimeZone, Utc};
use roster_core::implementation_admin::{
    expire_due, expired_implementation_admins, record_forever_review, remove_implementation_admin,
    removed_by, set_implementation_admin_enabled,
};
use roster_core::invite::resend_invitation;
use roster_core::org_roles::change_org_role;
use roster_core::space_roles::set_space_role;
use roster_core::status::remove_member;
use roster_core::*;

use crate::common::*;

fn ia_role() -> Role {
    org_role(OrgRole::ImplementationAdmin)
}

/// The terms of `user`'s assignment.
fn terms(snap: &OrgSnapshot, user: &str) -> IaAssignment {
    *snap.member(&uid(user)).unwrap().ia.clone().unwrap()
}

fn inviter_of(assignment: &IaAssignment) -> Option<&str> {
    assignment.invited_by.as_ref().map(|i| i.user_id.as_str())
}

#[test]
fn implementation_admin_invitations_must_match_the_domain_allowlist_exactly_or_by_subdomain() {
    let mut snap = staffed();
    enable_ia(&mut snap, &["upcoach.com", "*.partner.io"]);
    let allowed = [
        "a@upcoach.com",
        "B@UPCOACH.COM",
        "c@eu.partner.io",
        "d@deep.eu.partner.io",
        "e@upcoach.com.",
    ];
    let refused = [
        "x@partner.io",
        "y@evilupcoach.com",
        "z@upcoach.com.evil.com",
        "w@sub.upcoach.com",
        "v@notpartner.io",
    ];
    let d = Some(IaDuration::ThreeMonths);
    let change = invite(&snap, "admin", &allowed, ia_role(), &[], d).unwrap();
    assert_eq!(invited(&change).len(), 5, "{change:?}");
    let mut batch: Vec<&str> = allowed.to_vec();
    batch.extend(refused);
    match invite(&snap, "admin", &batch, ia_role(), &[], d) {
        Err(err @ RuleError::DomainNotAllowed { .. }) => {
            let RuleError::DomainNotAllowed { allowed, .. } = &err else {
                unreachable!()
            };
            let mut allowed = allowed.clone();
            allowed.sort();
            assert_eq!(allowed, ["*.partner.io", "upcoach.com"]);
            let mut expected: Vec<String> = refused.iter().map(|s| s.to_string()).collect();
            expected.sort();
            assert_eq!(rejected_emails(&err), expected);
            assert!(err
                .rejected()
                .iter()
                .all(|r| r.code == "domain_not_allowed"));
        }
        other => panic!("expected domain_not_allowed, got {other:?}"),
    }
}

#[test]
fn an_empty_allowlist_allows_no_implementation_admin() {
    let mut snap = staffed();
    enable_ia(&mut snap, &[]);
    let r = invite(
        &snap,
        "owner",
        &["a@example.com"],
        ia_role(),
        &[],
        Some(IaDuration::OneMonth),
    );
    assert_eq!(r.unwrap_err().code(), "domain_not_allowed");
}

#[test]
fn implementation_admins_cannot_be_invited_or_assigned_while_the_toggle_is_off() {
    let snap = staffed();
    assert!(!snap.settings.allow_implementation_admin, "off by default");
    assert_eq!(
        invite(
            &snap,
            "owner",
            &["a@example.com"],
            ia_role(),
            &[],
            Some(IaDuration::OneMonth)
        ),
        Err(RuleError::ImplementationAdminDisabled)
    );
    assert_eq!(
        change_org_role(
            &snap,
            &by("owner"),
            &uid("member"),
            IA,
            Some(IaDuration::OneMonth),
            now()
        ),
        Err(RuleError::ImplementationAdminDisabled)
    );
    assert_eq!(
        RuleError::ImplementationAdminDisabled.code(),
        "implementation_admin_disabled"
    );
}

#[test]
fn assigning_implementation_admin_by_role_change_follows_the_domain_rule() {
    let mut snap = staffed();
    enable_ia(&mut snap, &["upcoach.com"]);
    add_with_email(&mut snap, "partner", "p@upcoach.com", None);
    assert_eq!(
        change_org_role(
            &snap,
            &by("admin"),
            &uid("member"),
            IA,
            Some(IaDuration::OneMonth),
            now()
        )
        .unwrap_err()
        .code(),
        "domain_not_allowed"
    );
    let change = change_org_role(
        &snap,
        &by("admin"),
        &uid("partner"),
        IA,
        Some(IaDuration::TwoMonths),
        now(),
    )
    .unwrap();
    let [Outcome::RoleChanged {
        from: None,
        to: IA,
        assignment: Some(assignment),
        ..
    }] = change.outcomes()
    else {
        panic!("{change:?}");
    };
    assert_eq!(
        assignment.invited_by,
        Some(Inviter {
            user_id: uid("admin"),
            email: email("admin@example.com")
        })
    );
    apply(&mut snap, &change);
    assert_eq!(role_of(&snap, "partner"), IA);
    let ia = terms(&snap, "partner");
    assert_eq!(&ia, assignment);
    assert_eq!(ia.duration, IaDuration::TwoMonths);
    assert_eq!(
        ia.expires_at,
        Some(Utc.with_ymd_and_hms(2027, 1, 23, 12, 0, 0).unwrap())
    );
}

#[test]
fn a_duration_is_required_for_implementation_admin_and_refused_for_every_other_role() {
    let mut snap = staffed();
    enable_ia(&mut snap, &["example.com"]);
    validation(
        invite(&snap, "owner", &["a@example.com"], ia_role(), &[], None),
        "duration",
    );
    for (role, spaces) in [
        (org_role(OrgRole::Owner), &[][..]),
        (org_role(OrgRole::Admin), &[][..]),
        (space_role(SpaceRole::ProgramAdmin), &["s1"][..]),
        (space_role(SpaceRole::Participant), &["s1"][..]),
    ] {
        validation(
            invite(
                &snap,
                "owner",
                &["a@example.com"],
                role,
                spaces,
                Some(IaDuration::Forever),
            ),
            "duration",
        );
    }
    let member = uid("member");
    validation(
        change_org_role(&snap, &by("owner"), &member, IA, None, now()),
        "duration",
    );
    validation(
        change_org_role(
            &snap,
            &by("owner"),
            &member,
            ADMIN,
            Some(IaDuration::OneMonth),
            now(),
        ),
        "duration",
    );
}

fn with_two_ias() -> OrgSnapshot {
    let mut snap = staffed();
    enable_ia(&mut snap, &["example.com"]);
    add(&mut snap, "ia2", IA);
    deactivated(&mut snap, "ia2");
    snap
}

#[test]
fn turning_the_toggle_off_without_confirmation_answers_confirmation_required_with_the_count() {
    let snap = with_two_ias();
    let err = set_implementation_admin_enabled(&snap, &by("owner"), false, false, now());
    assert_eq!(err, Err(RuleError::ConfirmationRequired { affected: 2 }));
    assert_eq!(err.unwrap_err().code(), "confirmation_required");
}

#[test]
fn turning_the_toggle_off_with_confirmation_removes_every_implementation_admin() {
    let mut snap = with_two_ias();
    set_space(&mut snap, "ia", "s2", SpaceRole::ProgramAdmin);
    let change = invite(
        &snap,
        "owner",
        &["later@example.com"],
        ia_role(),
        &[],
        Some(IaDuration::OneMonth),
    )
    .unwrap();
    apply(&mut snap, &change);
    let pending = invited(&change)[0].clone();
    let change = set_implementation_admin_enabled(&snap, &by("admin"), false, true, now()).unwrap();
    assert_eq!(removed_by(&change), [uid("ia"), uid("ia2")]);
    let disabled = EndReason::SettingDisabled;
    assert_eq!(
        left(&change),
        [
            (
                "ia".to_string(),
                LeaveReason::ImplementationAdminEnded(disabled)
            ),
            (
                "ia2".to_string(),
                LeaveReason::ImplementationAdminEnded(disabled)
            )
        ]
    );
    assert_eq!(
        ended(&change),
        [("ia".to_string(), disabled), ("ia2".to_string(), disabled)]
    );
    assert_eq!(
        revoked(&change),
        [(pending.clone(), Trigger::SettingDisabled)]
    );
    assert!(matches!(
        change.outcomes().last(),
        Some(Outcome::ImplementationAdminSetting { enabled: false, settings })
            if !settings.allow_implementation_admin
    ));
    for user in ["ia", "ia2"] {
        assert!(revokes_tokens(
            &change,
            user,
            RevokeReason::ImplementationAdminDisabled
        ));
    }
    apply(&mut snap, &change);
    assert!(!snap.settings.allow_implementation_admin);
    assert!(!is_member(&snap, "ia") && !is_member(&snap, "ia2"));
    assert!(snap.members().all(|m| m.org_role != IA));
    assert!(snap.space_members(&sid("s2")).is_empty());
    assert!(snap.invitation(&pending).is_none());
    // The Admin and the Owners stay.
    assert_eq!(role_of(&snap, "admin"), ADMIN);
    assert_eq!(role_of(&snap, "owner"), OWNER);
}

#[test]
fn turning_the_toggle_off_with_no_implementation_admins_needs_no_confirmation() {
    let mut snap = org();
    add(&mut snap, "owner", OWNER);
    enable_ia(&mut snap, &["example.com"]);
    let change =
        set_implementation_admin_enabled(&snap, &by("owner"), false, false, now()).unwrap();
    assert!(removed_by(&change).is_empty());
    apply(&mut snap, &change);
    assert!(!snap.settings.allow_implementation_admin);
}

#[test]
fn turning_the_toggle_on_is_one_change_and_asking_again_is_nothing() {
    let mut snap = staffed();
    let change = set_implementation_admin_enabled(&snap, &by("admin"), true, false, now()).unwrap();
    assert!(matches!(
        change.outcomes(),
        [Outcome::ImplementationAdminSetting { enabled: true, settings }]
            if settings.allow_implementation_admin
    ));
    apply(&mut snap, &change);
    assert!(snap.settings.allow_implementation_admin);
    let again = set_implementation_admin_enabled(&snap, &by("admin"), true, false, now()).unwrap();
    assert!(again.is_empty());
}

#[test]
fn an_implementation_admin_invitation_cannot_be_accepted_once_the_toggle_is_off() {
    let mut snap = staffed();
    enable_ia(&mut snap, &["example.com"]);
    let change = invite(
        &snap,
        "owner",
        &["x@example.com"],
        ia_role(),
        &[],
        Some(IaDuration::OneMonth),
    )
    .unwrap();
    apply(&mut snap, &change);
    let id = invited(&change)[0].clone();
    // Turned off behind the rules' back (e.g. an older replica): still refused.
    let mut settings = snap.settings.clone();
    settings.allow_implementation_admin = false;
    snap.apply(&Effect::SetSettings(settings));
    assert_eq!(
        accept(&mut snap, &id, "x", now()),
        Err(RuleError::ImplementationAdminDisabled)
    );
    assert_eq!(
        resend_invitation(&snap, &by("owner"), &id, now(), ttl()),
        Err(RuleError::ImplementationAdminDisabled)
    );
}

#[test]
fn removing_an_implementation_admin_early_needs_confirmation_removes_them_and_revokes_their_tokens()
{
    let mut snap = staffed();
    set_space(&mut snap, "ia", "s1", SpaceRole::ProgramAdmin);
    let ia = uid("ia");
    assert_eq!(
        remove_implementation_admin(&snap, &by("admin"), &ia, false, now()),
        Err(RuleError::ConfirmationRequired { affected: 1 })
    );
    let change = remove_implementation_admin(&snap, &by("admin"), &ia, true, now()).unwrap();
    assert_eq!(
        left(&change),
        [(
            "ia".to_string(),
            LeaveReason::ImplementationAdminEnded(EndReason::Removed)
        )]
    );
    assert_eq!(ended(&change), [("ia".to_string(), EndReason::Removed)]);
    assert_eq!(change.grant().by(), &Principal::User(uid("admin")));
    assert!(revokes_tokens(
        &change,
        "ia",
        RevokeReason::ImplementationAdminRemoved
    ));
    apply(&mut snap, &change);
    assert!(!is_member(&snap, "ia"));
    assert!(snap
        .space_members(&sid("s1"))
        .iter()
        .all(|(m, _)| m.user_id != ia));
    let r = remove_implementation_admin(&snap, &by("owner"), &uid("admin"), true, now());
    assert_eq!(r.unwrap_err().code(), "not_implementation_admin");
}

#[test]
fn the_end_of_an_assignment_names_the_person_as_they_were_with_the_original_inviter() {
    let mut snap = staffed();
    enable_ia(&mut snap, &["example.com"]);
    let change = change_org_role(
        &snap,
        &by("admin"),
        &uid("member"),
        IA,
        Some(IaDuration::OneMonth),
        now(),
    )
    .unwrap();
    apply(&mut snap, &change);
    let before = snap.member(&uid("member")).unwrap().clone();
    let change =
        remove_implementation_admin(&snap, &by("owner"), &uid("member"), true, now()).unwrap();
    let ended_member = change
        .outcomes()
        .iter()
        .find_map(|o| match o {
            Outcome::ImplementationAdminEnded { member, .. } => Some(member),
            _ => None,
        })
        .unwrap();
    assert_eq!(ended_member, &before);
    assert_eq!(
        ended_member.ia.as_deref().and_then(inviter_of),
        Some("admin"),
        "the email to the original inviter needs them"
    );
}

#[test]
fn removing_an_implementation_admins_org_role_takes_them_out_of_the_organization() {
    let mut snap = org();
    add(&mut snap, "o1", OWNER);
    add(&mut snap, "ia", IA);
    set_space(&mut snap, "ia", "s1", SpaceRole::ProgramAdmin);
    let change = change_org_role(&snap, &by("o1"), &uid("ia"), None, None, now()).unwrap();
    assert_eq!(ended(&change), [("ia".to_string(), EndReason::Removed)]);
    assert!(revokes_tokens(
        &change,
        "ia",
        RevokeReason::ImplementationAdminRemoved
    ));
    apply(&mut snap, &change);
    assert!(
        !is_member(&snap, "ia"),
        "the membership and space roles are gone"
    );
    assert!(snap.space_members(&sid("s1")).is_empty());
}

#[test]
fn removing_an_implementation_admin_from_the_organization_ends_their_assignment() {
    let snap = staffed();
    let change = remove_member(&snap, &by("owner"), &uid("ia"), now()).unwrap();
    assert_eq!(left(&change), [("ia".to_string(), LeaveReason::Removed)]);
    assert_eq!(ended(&change), [("ia".to_string(), EndReason::Removed)]);
}

#[test]
fn a_new_duration_keeps_the_original_inviter() {
    let mut snap = org();
    add(&mut snap, "o1", OWNER);
    add(&mut snap, "admin", ADMIN);
    enable_ia(&mut snap, &["example.com"]);
    let change = change_org_role(
        &snap,
        &by("o1"),
        &uid("admin"),
        IA,
        Some(IaDuration::OneMonth),
        now(),
    )
    .unwrap();
    apply(&mut snap, &change);
    let later = now() + Duration::days(3);
    let change = change_org_role(
        &snap,
        &Actor::Platform,
        &uid("admin"),
        IA,
        Some(IaDuration::SixMonths),
        later,
    )
    .unwrap();
    apply(&mut snap, &change);
    let ia = terms(&snap, "admin");
    assert_eq!(ia.duration, IaDuration::SixMonths);
    assert_eq!(ia.assigned_at, later, "counted from the change");
    assert_eq!(inviter_of(&ia), Some("o1"));
}

#[test]
fn an_implementation_admin_term_counts_calendar_months_from_acceptance() {
    let mut snap = staffed();
    enable_ia(&mut snap, &["example.com"]);
    let invited_at = Utc.with_ymd_and_hms(2027, 1, 10, 8, 0, 0).unwrap();
    let accepted_at = Utc.with_ymd_and_hms(2027, 1, 31, 9, 30, 0).unwrap();
    for (address, user, duration, ends) in [
        (
            "x@example.com",
            "x",
            IaDuration::OneMonth,
            Utc.with_ymd_and_hms(2027, 2, 28, 9, 30, 0).unwrap(),
        ),
        (
            "y@example.com",
            "y",
            IaDuration::SixMonths,
            Utc.with_ymd_and_hms(2027, 7, 31, 9, 30, 0).unwrap(),
        ),
    ] {
        let change = send(
            &snap,
            &by("admin"),
            &request(&[address], ia_role(), &[], Some(duration)),
            invited_at,
            ttl() * 3,
        )
        .unwrap();
        apply(&mut snap, &change);
        accept(&mut snap, &invited(&change)[0], user, accepted_at).unwrap();
        assert_eq!(role_of(&snap, user), IA);
        let ia = terms(&snap, user);
        assert_eq!(ia.assigned_at, accepted_at);
        assert_eq!(ia.duration, duration);
        assert_eq!(
            ia.invited_by,
            Some(Inviter {
                user_id: uid("admin"),
                email: email("admin@example.com")
            })
        );
        assert_eq!(ia.expires_at, Some(ends));
    }
}

#[test]
fn a_forever_implementation_admin_never_expires() {
    let mut snap = staffed();
    enable_ia(&mut snap, &["example.com"]);
    let change = invite(
        &snap,
        "owner",
        &["x@example.com"],
        ia_role(),
        &[],
        Some(IaDuration::Forever),
    )
    .unwrap();
    apply(&mut snap, &change);
    accept(&mut snap, &invited(&change)[0], "x", now()).unwrap();
    assert_eq!(terms(&snap, "x").expires_at, None);
    let far = now() + Duration::days(365 * 30);
    let d = decide(
        &snap,
        &uid("x"),
        Action::MembersInvite,
        Resource::Organization,
        far,
    );
    assert!(d.allowed);
    assert!(expire_due(&snap, far)
        .outcomes()
        .iter()
        .all(|o| !matches!(o, Outcome::ImplementationAdminEnded { member, .. } if member.user_id == uid("x"))));
}

#[test]
fn the_expiry_job_ends_every_assignment_whose_time_ran_out_once_with_the_original_inviter() {
    let mut snap = staffed();
    enable_ia(&mut snap, &["example.com"]);
    let change = change_org_role(
        &snap,
        &by("admin"),
        &uid("member"),
        IA,
        Some(IaDuration::OneMonth),
        now(),
    )
    .unwrap();
    apply(&mut snap, &change);
    set_space(&mut snap, "member", "s2", SpaceRole::Facilitator);
    let expiry = ia_expiry(&snap, "member");
    assert_eq!(expiry, ia_expiry(&snap, "ia"));
    let just_before = expiry - Duration::seconds(1);
    assert!(expire_due(&snap, just_before).is_empty());
    assert!(expired_implementation_admins(&snap, just_before).is_empty());

    let job = expire_due(&snap, expiry);
    assert_eq!(job.grant().by(), &Principal::System);
    let expired = EndReason::Expired;
    assert_eq!(
        ended(&job),
        [("ia".to_string(), expired), ("member".to_string(), expired)]
    );
    assert_eq!(
        left(&job),
        [
            (
                "ia".to_string(),
                LeaveReason::ImplementationAdminEnded(expired)
            ),
            (
                "member".to_string(),
                LeaveReason::ImplementationAdminEnded(expired)
            )
        ]
    );
    assert_eq!(expired.trigger(), Trigger::Expiry);
    let inviters: Vec<_> = job
        .outcomes()
        .iter()
        .filter_map(|o| match o {
            Outcome::ImplementationAdminEnded { member, .. } => {
                Some(member.ia.as_deref().and_then(inviter_of))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        inviters,
        [None, Some("admin")],
        "the platform assigned `ia`"
    );
    assert!(revokes_tokens(
        &job,
        "member",
        RevokeReason::ImplementationAdminExpired
    ));
    apply(&mut snap, &job);
    assert!(!is_member(&snap, "ia") && !is_member(&snap, "member"));
    assert!(snap.space_members(&sid("s2")).is_empty());
    assert!(expire_due(&snap, expiry).is_empty(), "exactly once");
}

#[test]
fn invitations_sent_by_an_implementation_admin_die_with_their_expiry() {
    let mut snap = staffed();
    let change = invite(
        &snap,
        "ia",
        &["friend@example.com"],
        org_role(OrgRole::Admin),
        &[],
        None,
    )
    .unwrap();
    apply(&mut snap, &change);
    let job = expire_due(&snap, ia_expiry(&snap, "ia"));
    assert_eq!(
        revoked(&job),
        [(invited(&change)[0].clone(), Trigger::Expiry)]
    );
}

#[test]
fn an_invitation_into_a_space_for_an_expired_implementation_admin_waits_for_acceptance() {
    let mut snap = staffed();
    set_space(&mut snap, "ia", "s2", SpaceRole::ProgramAdmin);
    let expiry = ia_expiry(&snap, "ia");
    // The job has not run: the assignment is still stored, but over.
    let change = send(
        &snap,
        &by("owner"),
        &request(
            &["ia@example.com"],
            space_role(SpaceRole::Facilitator),
            &["s1"],
            None,
        ),
        expiry,
        ttl(),
    )
    .unwrap();
    let invitations = roster_core::invite::invitations_of(&change);
    assert_eq!(invitations.len(), 1);
    assert_eq!(invitations[0].status, InvitationStatus::Pending);
    assert!(
        !change
            .outcomes()
            .iter()
            .any(|o| matches!(o, Outcome::SpaceRoleSet { .. })),
        "no space role at once: {change:?}"
    );
    apply(&mut snap, &change);
    assert_eq!(space_role_of(&snap, "ia", "s1"), None);

    let accepted = accept(&mut snap, &invited(&change)[0], "ia", expiry).unwrap();
    assert_eq!(ended(&accepted), [("ia".to_string(), EndReason::Expired)]);
    assert!(accepted
        .outcomes()
        .iter()
        .any(|o| matches!(o, Outcome::MemberAdded { member } if member.user_id == uid("ia"))));
    // Added afresh: no org role, no old program roles, the invited one.
    let m = snap.member(&uid("ia")).unwrap();
    assert_eq!(m.org_role, None);
    assert!(m.ia.is_none());
    assert_eq!(
        space_roles(&snap, "ia"),
        [("s1".to_string(), SpaceRole::Facilitator)]
    );
    assert!(
        decide(
            &snap,
            &uid("ia"),
            Action::EventsManage,
            Resource::Space(&sid("s1")),
            expiry
        )
        .allowed
    );
}

#[test]
fn an_expired_implementation_admin_is_gone_for_every_rule_before_the_job_runs() {
    let snap = staffed();
    let expiry = ia_expiry(&snap, "ia");
    let ia = uid("ia");
    assert_eq!(
        remove_implementation_admin(&snap, &by("owner"), &ia, true, expiry),
        Err(RuleError::NotFound("member"))
    );
    assert_eq!(
        set_space_role(
            &snap,
            &by("owner"),
            &sid("s1"),
            &ia,
            SpaceRole::Participant,
            expiry
        ),
        Err(RuleError::NotFound("member"))
    );
    assert_eq!(
        expired_implementation_admins(&snap, expiry)
            .iter()
            .map(|m| m.user_id.as_str())
            .collect::<Vec<_>>(),
        ["ia"]
    );
}

#[test]
fn the_platform_records_reviews_of_forever_assignments_only() {
    let mut snap = staffed();
    enable_ia(&mut snap, &["example.com"]);
    let change = change_org_role(
        &snap,
        &Actor::Platform,
        &uid("member"),
        IA,
        Some(IaDuration::Forever),
        now(),
    )
    .unwrap();
    apply(&mut snap, &change);
    let member = uid("member");
    let review = record_forever_review(&snap, &Actor::Platform, &member, now()).unwrap();
    assert_eq!(
        review.outcomes(),
        [Outcome::ForeverReviewRecorded {
            user_id: member.clone()
        }]
    );
    assert_eq!(review.grant().by(), &Principal::Platform);
    forbidden(record_forever_review(&snap, &by("owner"), &member, now()));
    for not_forever in ["ia", "admin", "nobody"] {
        assert_eq!(
            record_forever_review(&snap, &Actor::Platform, &uid(not_forever), now()),
            Err(RuleError::NotFound(
                "Forever Implementation Admin assignment"
            )),
            "{not_forever}"
        );
    }
}
