//! SPEC §5: batches that are all-or-nothing, naming every failing address;
//! acceptance, resend, revoke and expiry; invitations that die with their
//! sender's access or their programs (§19).

use chrono::Duration;
use roster_core::invite::{
    accept_invitation, distinct_spaces, expire_invitations, invitations_of, resend_invitation,
    revoke_invitation, EmailInput, InviteRequest, NewIds, MAX_BATCH, MAX_SPACES,
};
use roster_core::org_roles::change_org_role;
use roster_core::spaces::delete_space;
use roster_core::status::{deactivate, remove_member};
use roster_core::*;

use crate::common::*;

#[test]
fn an_invitation_batch_is_all_or_nothing_and_names_every_invalid_address() {
    let snap = staffed();
    let err = invite(
        &snap,
        "owner",
        &[
            "good@example.com",
            "no-at-sign",
            "two@@example.com",
            "fine@example.org",
            "bad@x..com",
        ],
        org_role(OrgRole::Admin),
        &[],
        None,
    )
    .unwrap_err();
    assert_eq!(err.code(), "validation_failed");
    assert_eq!(
        rejected_emails(&err),
        ["bad@x..com", "no-at-sign", "two@@example.com"]
    );
}

#[test]
fn a_batch_with_an_existing_member_is_refused_whole_naming_every_member() {
    let snap = staffed();
    let err = invite(
        &snap,
        "owner",
        &["new@example.com", "admin@example.com", "MEMBER@example.com"],
        org_role(OrgRole::Admin),
        &[],
        None,
    )
    .unwrap_err();
    assert_eq!(err.code(), "already_member");
    assert_eq!(
        rejected_emails(&err),
        ["admin@example.com", "member@example.com"]
    );
}

#[test]
fn a_batch_failing_different_rules_names_every_failing_address() {
    let mut snap = staffed();
    enable_ia(&mut snap, &["upcoach.com"]);
    add_with_email(&mut snap, "partner", "p@upcoach.com", None);
    let ia = org_role(OrgRole::ImplementationAdmin);
    let month = Some(IaDuration::OneMonth);
    let err = invite(
        &snap,
        "owner",
        &[
            "ok@upcoach.com",
            "typo@@upcoach.com",
            "x@outside.com",
            "p@upcoach.com",
        ],
        ia,
        &[],
        month,
    )
    .unwrap_err();
    assert_eq!(err.code(), "validation_failed");
    assert_eq!(
        rejected_emails(&err),
        ["p@upcoach.com", "typo@@upcoach.com", "x@outside.com"],
        "{err:?}"
    );
    let mut codes: Vec<_> = err.rejected().iter().map(|r| r.code).collect();
    codes.sort();
    assert_eq!(
        codes,
        ["already_member", "domain_not_allowed", "validation_failed"]
    );
    // Without the typo, the domain failure leads and still names the member.
    let err = invite(
        &snap,
        "owner",
        &["ok@upcoach.com", "x@outside.com", "p@upcoach.com"],
        ia,
        &[],
        month,
    )
    .unwrap_err();
    assert_eq!(err.code(), "domain_not_allowed");
    assert_eq!(rejected_emails(&err), ["p@upcoach.com", "x@outside.com"]);
}

#[test]
fn an_address_naming_an_org_admin_a_program_admin_may_not_manage_is_refused_by_name() {
    let snap = with_program_admin();
    let err = invite(
        &snap,
        "pa",
        &["new@example.com", "admin@example.com", "target@example.com"],
        space_role(SpaceRole::Participant),
        &["s1"],
        None,
    )
    .unwrap_err();
    assert!(
        matches!(err, RuleError::ForbiddenAddresses { .. }),
        "{err:?}"
    );
    assert_eq!(err.code(), "forbidden");
    assert_eq!(rejected_emails(&err), ["admin@example.com"]);
    assert!(err.rejected().iter().all(|r| r.code == "forbidden"));
    // Without that address the batch goes through, the member included.
    let change = invite(
        &snap,
        "pa",
        &["new@example.com", "target@example.com"],
        space_role(SpaceRole::Participant),
        &["s1"],
        None,
    )
    .unwrap();
    assert_eq!(invited(&change).len(), 2);
}

#[test]
fn pasted_text_separated_by_commas_semicolons_spaces_and_new_lines_is_one_batch() {
    let snap = staffed();
    let req = InviteRequest {
        emails: EmailInput::Text(
            "a@example.com, b@example.com;c@example.com d@example.com\ne@example.com".into(),
        ),
        role: space_role(SpaceRole::Participant),
        space_ids: vec![sid("s1")],
        duration: None,
        message: Some("Welcome".into()),
    };
    let mut n = 0;
    let mut next = || {
        n += 1;
        InvitationId::from(format!("inv-{n}"))
    };
    let ids = NewIds {
        batch: BatchId::from("batch-1"),
        invitation: &mut next,
    };
    let change = roster_core::invite::invite(&snap, &by("admin"), &req, now(), ttl(), ids).unwrap();
    let invitations = invitations_of(&change);
    let emails: Vec<_> = invitations.iter().map(|i| i.email.as_str()).collect();
    assert_eq!(
        emails,
        [
            "a@example.com",
            "b@example.com",
            "c@example.com",
            "d@example.com",
            "e@example.com"
        ]
    );
    let ids: Vec<_> = invitations.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["inv-1", "inv-2", "inv-3", "inv-4", "inv-5"]);
    for i in invitations {
        assert_eq!(i.batch_id, BatchId::from("batch-1"));
        assert_eq!(i.status, InvitationStatus::Pending);
        assert_eq!(i.send_count, 1);
        assert_eq!(i.invited_by, Some(uid("admin")));
        assert_eq!(i.expires_at, now() + ttl());
        assert_eq!(i.message.as_deref(), Some("Welcome"));
        assert_eq!(i.space_ids, [sid("s1")]);
        assert_eq!(i.created_at, now());
    }
    assert!(change
        .outcomes()
        .iter()
        .all(|o| matches!(o, Outcome::InvitationCreated { .. })));
}

#[test]
fn repeated_addresses_and_spaces_count_once() {
    let snap = staffed();
    let mut emails: Vec<String> = (0..MAX_BATCH)
        .map(|i| format!("p{i}@example.com"))
        .collect();
    emails.extend(emails.clone());
    let mut spaces = vec![sid("s1"); MAX_SPACES + 50];
    spaces.push(sid("s2"));
    let req = InviteRequest {
        emails: EmailInput::List(emails),
        role: space_role(SpaceRole::Participant),
        space_ids: spaces,
        duration: None,
        message: None,
    };
    let change = send(&snap, &by("owner"), &req, now(), ttl()).unwrap();
    let invitations = invitations_of(&change);
    assert_eq!(invitations.len(), MAX_BATCH);
    assert!(invitations
        .iter()
        .all(|i| i.space_ids == [sid("s1"), sid("s2")]));
}

#[test]
fn more_than_500_distinct_addresses_or_100_distinct_spaces_are_refused() {
    let snap = staffed();
    let too_many: Vec<String> = (0..=MAX_BATCH)
        .map(|i| format!("p{i}@example.com"))
        .collect();
    let req = InviteRequest {
        emails: EmailInput::List(too_many),
        role: space_role(SpaceRole::Participant),
        space_ids: vec![sid("s1")],
        duration: None,
        message: None,
    };
    validation(send(&snap, &by("owner"), &req, now(), ttl()), "emails");

    let spaces: Vec<SpaceId> = (0..=MAX_SPACES).map(|i| sid(&format!("s{i}"))).collect();
    validation(distinct_spaces(&spaces), "space_ids");
    assert_eq!(distinct_spaces(&spaces[..MAX_SPACES]).unwrap().len(), 100);
    let req = InviteRequest {
        emails: EmailInput::List(vec!["a@example.com".into()]),
        space_ids: spaces,
        ..req
    };
    validation(send(&snap, &by("owner"), &req, now(), ttl()), "space_ids");
}

#[test]
fn a_batch_without_any_address_is_refused() {
    let snap = staffed();
    for emails in [
        EmailInput::List(vec![]),
        EmailInput::List(vec!["  ".into()]),
        EmailInput::Text(" ,; \n".into()),
    ] {
        let req = InviteRequest {
            emails,
            role: org_role(OrgRole::Admin),
            space_ids: vec![],
            duration: None,
            message: None,
        };
        validation(send(&snap, &by("owner"), &req, now(), ttl()), "emails");
    }
}

#[test]
fn inviting_an_existing_member_into_a_space_adds_the_space_role_at_once() {
    let mut snap = staffed();
    let change = invite(
        &snap,
        "owner",
        &["admin@example.com"],
        space_role(SpaceRole::Facilitator),
        &["s1", "s2"],
        None,
    )
    .unwrap();
    let invitations = invitations_of(&change);
    assert_eq!(invitations.len(), 1);
    assert_eq!(invitations[0].status, InvitationStatus::Accepted);
    let set: Vec<_> = change
        .outcomes()
        .iter()
        .filter_map(|o| match o {
            Outcome::SpaceRoleSet {
                user_id,
                space_id,
                from: None,
                to: SpaceRole::Facilitator,
            } if *user_id == uid("admin") => Some(space_id.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(set, ["s1", "s2"]);
    assert!(matches!(
        &change.outcomes()[0],
        Outcome::InvitationAccepted { user_id, existing_member: true, .. } if *user_id == uid("admin")
    ));
    apply(&mut snap, &change);
    assert_eq!(
        space_roles(&snap, "admin"),
        [
            ("s1".to_string(), SpaceRole::Facilitator),
            ("s2".to_string(), SpaceRole::Facilitator)
        ]
    );
    assert_eq!(snap.pending_invitations().count(), 0);
}

#[test]
fn inviting_an_existing_member_to_an_org_role_fails_with_already_member() {
    let snap = staffed();
    let err = invite(
        &snap,
        "owner",
        &["member@example.com"],
        org_role(OrgRole::Admin),
        &[],
        None,
    )
    .unwrap_err();
    assert_eq!(err.code(), "already_member");
    assert_eq!(rejected_emails(&err), ["member@example.com"]);
}

#[test]
fn inviting_a_member_into_a_space_where_they_already_have_a_role_fails_with_already_member() {
    let snap = staffed();
    let err = invite(
        &snap,
        "owner",
        &["member@example.com"],
        space_role(SpaceRole::Facilitator),
        &["s1"],
        None,
    )
    .unwrap_err();
    assert_eq!(err.code(), "already_member");
}

#[test]
fn space_role_invitations_name_existing_spaces_and_org_role_invitations_none() {
    let snap = staffed();
    let participant = space_role(SpaceRole::Participant);
    validation(
        invite(&snap, "owner", &["a@example.com"], participant, &[], None),
        "space_ids",
    );
    validation(
        invite(
            &snap,
            "owner",
            &["a@example.com"],
            org_role(OrgRole::Admin),
            &["s1"],
            None,
        ),
        "space_ids",
    );
    assert_eq!(
        invite(
            &snap,
            "owner",
            &["a@example.com"],
            participant,
            &["nope"],
            None
        ),
        Err(RuleError::NotFound("space"))
    );
}

#[test]
fn accepting_creates_the_membership_with_the_invited_role() {
    let mut snap = staffed();
    for (address, user, role) in [
        ("o@example.com", "o", OrgRole::Owner),
        ("a@example.com", "a", OrgRole::Admin),
    ] {
        let change = invite(&snap, "owner", &[address], org_role(role), &[], None).unwrap();
        apply(&mut snap, &change);
        let id = invited(&change)[0].clone();
        let accepted = accept(&mut snap, &id, user, now()).unwrap();
        assert_eq!(accepted.grant().by(), &Principal::User(uid(user)));
        let kinds: Vec<_> = accepted
            .outcomes()
            .iter()
            .map(|o| match o {
                Outcome::MemberAdded { member } => {
                    assert_eq!(member.user_id, uid(user));
                    assert_eq!(member.org_role, None, "roles come after");
                    "member_added"
                }
                Outcome::InvitationAccepted {
                    invitation,
                    user_id,
                    existing_member: false,
                } => {
                    assert_eq!(invitation.id, id);
                    assert_eq!(invitation.status, InvitationStatus::Accepted);
                    assert_eq!(*user_id, uid(user));
                    "invitation_accepted"
                }
                Outcome::RoleChanged {
                    from: None,
                    to,
                    assignment: None,
                    ..
                } => {
                    assert_eq!(*to, Some(role));
                    "role_changed"
                }
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(
            kinds,
            ["member_added", "invitation_accepted", "role_changed"]
        );
        let m = snap.member(&uid(user)).unwrap();
        assert_eq!(m.org_role, Some(role));
        assert!(m.ia.is_none());
        assert!(m.is_active());
        assert_eq!(m.email, email(address));
        assert!(snap.invitation(&id).is_none(), "no longer pending");
    }
    let change = invite(
        &snap,
        "owner",
        &["s@example.com"],
        space_role(SpaceRole::Sponsor),
        &["s1", "s2"],
        None,
    )
    .unwrap();
    apply(&mut snap, &change);
    accept(&mut snap, &invited(&change)[0], "s", now()).unwrap();
    assert_eq!(role_of(&snap, "s"), None);
    assert_eq!(
        space_roles(&snap, "s"),
        [
            ("s1".to_string(), SpaceRole::Sponsor),
            ("s2".to_string(), SpaceRole::Sponsor)
        ]
    );
}

#[test]
fn a_name_given_when_accepting_is_saved_on_an_existing_account() {
    let mut snap = staffed();
    let change = invite(
        &snap,
        "owner",
        &["back@example.com"],
        org_role(OrgRole::Admin),
        &[],
        None,
    )
    .unwrap();
    apply(&mut snap, &change);
    let id = invited(&change)[0].clone();
    let name = |n: &str| Some(Name::parse("name", n).unwrap());
    // An account from another organization, under an older name.
    let existing = Account {
        user_id: uid("back"),
        email: email("back@example.com"),
        name: "Old Name".into(),
        created: false,
    };
    let change = accept_invitation(&snap, &id, &existing, name("  New Name "), now()).unwrap();
    assert!(change.outcomes().contains(&Outcome::NameSaved {
        user_id: uid("back"),
        name: "New Name".into()
    }));
    // The same name, or none, saves nothing.
    for given in [name("Old Name"), None] {
        let change = accept_invitation(&snap, &id, &existing, given, now()).unwrap();
        assert!(!change
            .outcomes()
            .iter()
            .any(|o| matches!(o, Outcome::NameSaved { .. })));
    }
    // A new account was created with the name given: nothing more to save.
    let created = Account {
        created: true,
        name: "New Name".into(),
        ..existing
    };
    let change = accept_invitation(&snap, &id, &created, name("New Name"), now()).unwrap();
    assert!(!change
        .outcomes()
        .iter()
        .any(|o| matches!(o, Outcome::NameSaved { .. })));
}

#[test]
fn an_expired_or_revoked_invitation_cannot_be_accepted() {
    let mut snap = staffed();
    let change = invite(
        &snap,
        "owner",
        &["a@example.com", "b@example.com"],
        org_role(OrgRole::Admin),
        &[],
        None,
    )
    .unwrap();
    apply(&mut snap, &change);
    let ids = invited(&change);
    let (a, b) = (&ids[0], &ids[1]);
    let r = accept(&mut snap, a, "a", now() + ttl());
    assert_eq!(r.unwrap_err().code(), "invitation_not_pending");
    let revocation = revoke_invitation(&snap, &by("admin"), b, now()).unwrap();
    apply(&mut snap, &revocation);
    assert_eq!(
        accept(&mut snap, b, "b", now()).unwrap_err().code(),
        "invitation_not_pending"
    );
    // Accepting twice: the second is refused.
    accept(&mut snap, a, "a", now()).unwrap();
    assert_eq!(
        accept(&mut snap, a, "a", now()).unwrap_err().code(),
        "invitation_not_pending"
    );
}

#[test]
fn the_expiry_job_expires_pending_invitations_past_their_time_once() {
    let mut snap = staffed();
    let change = invite(
        &snap,
        "owner",
        &["a@example.com", "b@example.com"],
        org_role(OrgRole::Admin),
        &[],
        None,
    )
    .unwrap();
    apply(&mut snap, &change);
    assert!(expire_invitations(&snap, now() + Duration::days(13)).is_empty());
    let job = expire_invitations(&snap, now() + ttl());
    let mut expired: Vec<_> = job
        .outcomes()
        .iter()
        .map(|o| match o {
            Outcome::InvitationExpired { invitation } => invitation.id.clone(),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    expired.sort();
    let mut ids = invited(&change);
    ids.sort();
    assert_eq!(expired, ids);
    apply(&mut snap, &job);
    assert!(expire_invitations(&snap, now() + ttl()).is_empty());
}

#[test]
fn resending_resets_the_expiry_and_counts_the_send() {
    let mut snap = staffed();
    let change = invite(
        &snap,
        "owner",
        &["a@example.com"],
        org_role(OrgRole::Admin),
        &[],
        None,
    )
    .unwrap();
    apply(&mut snap, &change);
    let id = invited(&change)[0].clone();
    let later = now() + Duration::days(20);
    let resent = resend_invitation(&snap, &by("admin"), &id, later, ttl()).unwrap();
    let [Outcome::InvitationResent { invitation }] = resent.outcomes() else {
        panic!("{resent:?}");
    };
    assert_eq!(invitation.id, id);
    assert_eq!(invitation.send_count, 2);
    assert_eq!(invitation.expires_at, later + ttl());
    assert_eq!(invitation.status, InvitationStatus::Pending);
    apply(&mut snap, &resent);
    accept(&mut snap, &id, "a", later).unwrap();
}

#[test]
fn only_an_owner_may_resend_an_owner_invitation() {
    let mut snap = staffed();
    let change = invite(
        &snap,
        "owner",
        &["o@example.com"],
        org_role(OrgRole::Owner),
        &[],
        None,
    )
    .unwrap();
    apply(&mut snap, &change);
    let id = &invited(&change)[0];
    let later = now() + Duration::days(20);
    for actor in ["admin", "ia"] {
        forbidden(resend_invitation(&snap, &by(actor), id, later, ttl()));
    }
    assert!(resend_invitation(&snap, &by("owner2"), id, later, ttl()).is_ok());
    // Revoking grants nothing: any admin may.
    assert!(revoke_invitation(&snap, &by("admin"), id, now()).is_ok());
}

#[test]
fn only_someone_who_manages_the_space_resends_or_revokes_its_invitations() {
    let mut snap = with_program_admin();
    add(&mut snap, "pa2", None);
    set_space(&mut snap, "pa2", "s2", SpaceRole::ProgramAdmin);
    let change = invite(
        &snap,
        "pa",
        &["x@example.com"],
        space_role(SpaceRole::Participant),
        &["s1"],
        None,
    )
    .unwrap();
    apply(&mut snap, &change);
    let id = invited(&change)[0].clone();
    forbidden(revoke_invitation(&snap, &by("pa2"), &id, now()));
    forbidden(resend_invitation(&snap, &by("member"), &id, now(), ttl()));
    assert!(resend_invitation(&snap, &by("pa"), &id, now(), ttl()).is_ok());
    // An invitation still pending after its every space was deleted (the
    // rules revoke it with the last one; storage could hold an older one):
    // only org-level inviters may act on it.
    snap.apply(&Effect::RemoveSpace {
        space_id: sid("s1"),
    });
    for actor in ["pa", "pa2", "member", "stranger"] {
        forbidden(revoke_invitation(&snap, &by(actor), &id, now()));
        forbidden(resend_invitation(&snap, &by(actor), &id, now(), ttl()));
    }
    assert!(revoke_invitation(&snap, &by("admin"), &id, now()).is_ok());
}

#[test]
fn resending_or_revoking_an_unknown_invitation_is_not_found() {
    let snap = staffed();
    let nope = InvitationId::from("nope");
    assert_eq!(
        revoke_invitation(&snap, &by("owner"), &nope, now()),
        Err(RuleError::NotFound("pending invitation"))
    );
    assert_eq!(
        resend_invitation(&snap, &by("owner"), &nope, now(), ttl()),
        Err(RuleError::NotFound("pending invitation"))
    );
}

#[test]
fn an_invitation_is_void_once_its_sender_can_no_longer_grant_the_role() {
    let mut snap = org();
    add(&mut snap, "o1", OWNER);
    add(&mut snap, "admin", ADMIN);
    add(&mut snap, "ia", IA);
    let from_admin = invite(
        &snap,
        "admin",
        &["friend@x.test"],
        org_role(OrgRole::Admin),
        &[],
        None,
    )
    .unwrap();
    apply(&mut snap, &from_admin);
    // Open for longer than the Implementation Admin's time.
    let from_ia = send(
        &snap,
        &by("ia"),
        &request(&["pal@x.test"], org_role(OrgRole::Admin), &[], None),
        now(),
        Duration::days(60),
    )
    .unwrap();
    apply(&mut snap, &from_ia);
    // The Admin is demoted: their invitation stays pending but grants nothing.
    let demotion = change_org_role(&snap, &by("o1"), &uid("admin"), None, None, now()).unwrap();
    apply(&mut snap, &demotion);
    let friend = invited(&from_admin)[0].clone();
    assert!(snap.invitation(&friend).unwrap().is_open(now()));
    let refused = accept(&mut snap, &friend, "friend", now());
    assert!(
        matches!(
            refused,
            Err(RuleError::Conflict {
                code: "invitation_not_pending",
                ..
            })
        ),
        "{refused:?}"
    );
    // The Implementation Admin's time runs out, before any job runs.
    let pal = invited(&from_ia)[0].clone();
    let expiry = ia_expiry(&snap, "ia");
    assert!(snap.invitation(&pal).unwrap().is_open(expiry));
    assert!(accept(
        &mut snap.clone(),
        &pal,
        "pal",
        expiry - Duration::seconds(1)
    )
    .is_ok());
    assert_eq!(
        accept(&mut snap, &pal, "pal", expiry).unwrap_err().code(),
        "invitation_not_pending"
    );
}

#[test]
fn invitations_die_with_their_senders_access_and_free_their_seats() {
    for ends_access in ["deactivate", "remove"] {
        let mut snap = org();
        add(&mut snap, "o1", OWNER);
        add(&mut snap, "admin", ADMIN);
        seat_limit(&mut snap, 5);
        let change = invite(
            &snap,
            "admin",
            &["friend@x.test"],
            org_role(OrgRole::Admin),
            &[],
            None,
        )
        .unwrap();
        apply(&mut snap, &change);
        let id = invited(&change)[0].clone();
        assert_eq!(snap.seat_usage(now()).reserved, 1);
        let change = match ends_access {
            "deactivate" => deactivate(&snap, &by("o1"), &uid("admin"), now()),
            _ => remove_member(&snap, &by("o1"), &uid("admin"), now()),
        }
        .unwrap();
        assert_eq!(
            revoked(&change),
            [(id.clone(), Trigger::Request)],
            "{ends_access}"
        );
        apply(&mut snap, &change);
        assert!(snap.invitation(&id).is_none(), "no longer pending");
        assert_eq!(snap.seat_usage(now()).reserved, 0);
        assert_eq!(
            accept(&mut snap, &id, "friend", now()).unwrap_err().code(),
            "invitation_not_pending"
        );
    }
}

#[test]
fn deleting_a_space_revokes_the_pending_invitations_whose_every_space_is_gone() {
    let mut snap = staffed();
    let only_s1 = invite(
        &snap,
        "owner",
        &["one@example.com"],
        space_role(SpaceRole::Participant),
        &["s1"],
        None,
    )
    .unwrap();
    let both = invite(
        &snap,
        "owner",
        &["two@example.com"],
        space_role(SpaceRole::Facilitator),
        &["s1", "s2"],
        None,
    )
    .unwrap();
    let admin = invite(
        &snap,
        "owner",
        &["three@example.com"],
        org_role(OrgRole::Admin),
        &[],
        None,
    )
    .unwrap();
    for change in [&only_s1, &both, &admin] {
        apply(&mut snap, change);
    }
    let deletion = delete_space(&snap, &by("admin"), &sid("s1"), now()).unwrap();
    assert!(matches!(
        &deletion.outcomes()[0],
        Outcome::SpaceDeleted { space } if space.id == sid("s1")
    ));
    assert_eq!(
        revoked(&deletion),
        [(invited(&only_s1)[0].clone(), Trigger::Request)]
    );
    apply(&mut snap, &deletion);
    assert!(snap.invitation(&invited(&both)[0]).is_some());
    assert!(snap.invitation(&invited(&admin)[0]).is_some());
    // Accepted now, it gives the space that is left.
    accept(&mut snap.clone(), &invited(&both)[0], "two", now()).unwrap();
    let deletion = delete_space(&snap, &by("admin"), &sid("s2"), now()).unwrap();
    assert_eq!(
        revoked(&deletion),
        [(invited(&both)[0].clone(), Trigger::Request)]
    );
    apply(&mut snap, &deletion);
    assert!(
        snap.invitation(&invited(&admin)[0]).is_some(),
        "org roles need no space"
    );
}

#[test]
fn an_invitation_whose_spaces_were_all_deleted_cannot_be_accepted() {
    let mut snap = staffed();
    let change = invite(
        &snap,
        "owner",
        &["x@example.com"],
        space_role(SpaceRole::Facilitator),
        &["s1", "s2"],
        None,
    )
    .unwrap();
    apply(&mut snap, &change);
    let id = invited(&change)[0].clone();
    // One space deleted: the other is still given.
    snap.apply(&Effect::RemoveSpace {
        space_id: sid("s1"),
    });
    let mut one_left = snap.clone();
    accept(&mut one_left, &id, "x", now()).unwrap();
    assert_eq!(
        space_roles(&one_left, "x"),
        [("s2".to_string(), SpaceRole::Facilitator)]
    );
    // Both deleted (storage removed them without the rule that revokes).
    snap.apply(&Effect::RemoveSpace {
        space_id: sid("s2"),
    });
    let refused = accept(&mut snap, &id, "x", now());
    assert!(
        matches!(
            refused,
            Err(RuleError::Conflict {
                code: "invitation_not_pending",
                ..
            })
        ),
        "{refused:?}"
    );
    assert!(!is_member(&snap, "x"));
}
