//! The organization itself, its programs ("spaces"), tokens (SPEC §8) and
//! admin UI sign-in links and sessions: who may do each, and what it does.

use chrono::Duration;
use roster_core::org::{
    check_seat_limit, create_organization, delete_organization, set_allowlist, update_organization,
    OrgUpdate,
};
use roster_core::spaces::{create_space, delete_space, rename_space};
use roster_core::tokens::{
    emailed_sign_in_link, end_session, issue_token, platform_sign_in_link, revoke_token,
    start_session, LinkState, TokenRequest, TokenState,
};
use roster_core::*;

use crate::common::*;

fn name(text: &str) -> Name {
    Name::parse("name", text).unwrap()
}

// Organizations

#[test]
fn the_platform_creates_an_organization_with_its_first_owner() {
    let settings = OrgSettings {
        seat_limit: Some(5),
        ..OrgSettings::default()
    };
    let mut snap = OrgSnapshot::new("org".into(), "Coaching Co".into(), settings);
    let owner = Account {
        user_id: uid("founder"),
        email: email("founder@example.com"),
        name: "Founder".into(),
        created: true,
    };
    forbidden(create_organization(&snap, &by("founder"), &owner));
    let change = create_organization(&snap, &Actor::Platform, &owner).unwrap();
    assert_eq!(change.grant().org(), &OrgId::from("org"));
    assert_eq!(change.grant().by(), &Principal::Platform);
    assert_eq!(
        change.outcomes()[0],
        Outcome::OrgCreated {
            name: "Coaching Co".into(),
            seat_limit: Some(5)
        }
    );
    apply(&mut snap, &change);
    assert_eq!(role_of(&snap, "founder"), OWNER);
    assert!(
        !snap.settings.allow_implementation_admin,
        "off by default (SPEC §2)"
    );
}

#[test]
fn a_seat_limit_is_none_or_at_least_one() {
    validation(check_seat_limit(Some(0)), "seat_limit");
    assert_eq!(check_seat_limit(Some(1)), Ok(Some(1)));
    assert_eq!(check_seat_limit(None), Ok(None));
    let settings = OrgSettings {
        seat_limit: Some(0),
        ..OrgSettings::default()
    };
    let snap = OrgSnapshot::new("org".into(), "Zero".into(), settings);
    let owner = Account {
        user_id: uid("o"),
        email: email("o@example.com"),
        name: "O".into(),
        created: true,
    };
    validation(
        create_organization(&snap, &Actor::Platform, &owner),
        "seat_limit",
    );
    let snap = staffed();
    let update = OrgUpdate {
        seat_limit: Some(Some(0)),
        ..OrgUpdate::default()
    };
    validation(
        update_organization(&snap, &Actor::Platform, update, now()),
        "seat_limit",
    );
}

#[test]
fn only_the_platform_sets_seat_limits_and_admins_rename_the_organization() {
    let mut snap = staffed();
    let limit = OrgUpdate {
        seat_limit: Some(Some(10)),
        ..OrgUpdate::default()
    };
    forbidden(update_organization(
        &snap,
        &by("owner"),
        limit.clone(),
        now(),
    ));
    let change = update_organization(&snap, &Actor::Platform, limit, now()).unwrap();
    apply(&mut snap, &change);
    assert_eq!(snap.settings.seat_limit, Some(10));
    let unlimited = OrgUpdate {
        seat_limit: Some(None),
        ..OrgUpdate::default()
    };
    let change = update_organization(&snap, &Actor::Platform, unlimited, now()).unwrap();
    apply(&mut snap, &change);
    assert_eq!(snap.settings.seat_limit, None);

    let rename = |to: &str| OrgUpdate {
        name: Some(name(to)),
        ..OrgUpdate::default()
    };
    forbidden(update_organization(
        &snap,
        &by("member"),
        rename("Mine"),
        now(),
    ));
    let change = update_organization(&snap, &by("admin"), rename("Coaching Ltd"), now()).unwrap();
    assert_eq!(
        change.outcomes(),
        [Outcome::OrgUpdated {
            name: Some("Coaching Ltd".into()),
            settings: None
        }]
    );
    apply(&mut snap, &change);
    assert_eq!(snap.name, "Coaching Ltd");
    assert!(
        update_organization(&snap, &by("admin"), rename("Coaching Ltd"), now())
            .unwrap()
            .is_empty(),
        "the same name is nothing to do"
    );
}

#[test]
fn only_an_owner_deletes_the_organization_and_every_token_goes_with_it() {
    let snap = staffed();
    for actor in ["admin", "ia", "member"] {
        forbidden(delete_organization(&snap, &by(actor), now()));
    }
    let change = delete_organization(&snap, &by("owner"), now()).unwrap();
    assert_eq!(
        change.outcomes(),
        [Outcome::OrgDeleted {
            name: "Coaching Co".into()
        }]
    );
    assert_eq!(change.effects(), [Effect::DeleteOrg]);
}

#[test]
fn only_the_platform_sets_the_implementation_admin_allowlist() {
    let mut snap = staffed();
    let list = DomainAllowlist::parse_all(["upcoach.com", "*.partner.io"]).unwrap();
    forbidden(set_allowlist(&snap, &by("owner"), list.clone()));
    let change = set_allowlist(&snap, &Actor::Platform, list.clone()).unwrap();
    assert!(matches!(
        change.outcomes(),
        [Outcome::AllowlistChanged { settings }] if settings.ia_domains == list
    ));
    apply(&mut snap, &change);
    let mut domains = allowed_domains(&snap);
    domains.sort();
    assert_eq!(domains, ["*.partner.io", "upcoach.com"]);
    assert!(set_allowlist(&snap, &Actor::Platform, list)
        .unwrap()
        .is_empty());
}

#[test]
fn names_are_trimmed_bounded_and_free_of_control_characters() {
    assert_eq!(name("  Coaching Co ").as_str(), "Coaching Co");
    validation(Name::parse("name", "   "), "name");
    validation(Name::parse("name", &"x".repeat(201)), "name");
    validation(Name::parse("name", "a\u{7}b"), "name");
    assert!(Name::parse("name", &"é".repeat(200)).is_ok());
    assert_eq!(Name::parse_optional("name", Some("  ")), Ok(None));
}

// Spaces

#[test]
fn creating_a_space_gives_its_creator_no_space_role() {
    let mut snap = staffed();
    let change = create_space(&snap, &by("admin"), sid("s3"), name("Cohort 3"), now()).unwrap();
    assert_eq!(
        change.outcomes(),
        [Outcome::SpaceCreated {
            space: Space {
                id: sid("s3"),
                name: "Cohort 3".into()
            }
        }]
    );
    apply(&mut snap, &change);
    assert!(snap.space(&sid("s3")).is_some());
    assert!(snap.space_members(&sid("s3")).is_empty());
    // The org role reaches it.
    assert!(allowed(
        &snap,
        "admin",
        Action::ActivityEdit,
        Resource::Space(&sid("s3"))
    ));
}

#[test]
fn program_admins_and_members_neither_create_rename_nor_delete_spaces() {
    let snap = with_program_admin();
    let s1 = sid("s1");
    for actor in ["pa", "member"] {
        forbidden(create_space(
            &snap,
            &by(actor),
            sid("s9"),
            name("Mine"),
            now(),
        ));
        forbidden(rename_space(&snap, &by(actor), &s1, name("Renamed"), now()));
        forbidden(delete_space(&snap, &by(actor), &s1, now()));
    }
}

#[test]
fn renaming_a_space_says_from_what_to_what() {
    let mut snap = staffed();
    let s1 = sid("s1");
    let change = rename_space(&snap, &by("ia"), &s1, name("Leaders"), now()).unwrap();
    assert_eq!(
        change.outcomes(),
        [Outcome::SpaceRenamed {
            space_id: s1.clone(),
            from: "s1".into(),
            to: "Leaders".into()
        }]
    );
    apply(&mut snap, &change);
    assert_eq!(snap.space(&s1).unwrap().name, "Leaders");
    assert!(rename_space(&snap, &by("ia"), &s1, name("Leaders"), now())
        .unwrap()
        .is_empty());
    assert_eq!(
        rename_space(&snap, &by("ia"), &sid("nope"), name("X"), now()),
        Err(RuleError::NotFound("space"))
    );
}

#[test]
fn deleting_a_space_deletes_every_role_in_it() {
    let mut snap = staffed();
    set_space(&mut snap, "admin", "s1", SpaceRole::Facilitator);
    let change = delete_space(&snap, &by("owner"), &sid("s1"), now()).unwrap();
    apply(&mut snap, &change);
    assert!(snap.space(&sid("s1")).is_none());
    assert!(space_roles(&snap, "member").is_empty());
    assert!(space_roles(&snap, "admin").is_empty());
    assert!(is_member(&snap, "member"), "the membership stays");
    assert_eq!(
        delete_space(&snap, &by("owner"), &sid("s1"), now()),
        Err(RuleError::NotFound("space"))
    );
}

// Tokens

fn token_request(kind: TokenKind) -> TokenRequest {
    TokenRequest {
        id: TokenId::from(fresh("tok")),
        kind,
        name: name("CI"),
        secret_hash: "hash".into(),
        expires_at: None,
        minted_with: None,
    }
}

#[test]
fn people_with_access_issue_their_own_api_mcp_and_oauth_tokens() {
    let snap = staffed();
    for kind in TokenKind::ISSUED {
        let request = token_request(kind);
        let change = issue_token(&snap, &by("member"), request.clone(), now()).unwrap();
        assert_eq!(
            change.outcomes(),
            [Outcome::TokenCreated {
                token: NewToken {
                    id: request.id,
                    user_id: uid("member"),
                    kind,
                    name: "CI".into(),
                    secret_hash: "hash".into(),
                    expires_at: None,
                }
            }]
        );
    }
    validation(
        issue_token(
            &snap,
            &by("member"),
            token_request(TokenKind::Session),
            now(),
        ),
        "kind",
    );
}

#[test]
fn the_platform_strangers_and_people_without_access_hold_no_tokens() {
    let mut snap = staffed();
    deactivated(&mut snap, "admin");
    let expiry = ia_expiry(&snap, "ia");
    for actor in [Actor::Platform, by("stranger"), by("admin")] {
        forbidden(issue_token(
            &snap,
            &actor,
            token_request(TokenKind::Api),
            now(),
        ));
    }
    forbidden(issue_token(
        &snap,
        &by("ia"),
        token_request(TokenKind::Api),
        expiry,
    ));
}

#[test]
fn a_token_expires_in_the_future_and_no_later_than_the_credential_that_minted_it() {
    let snap = staffed();
    let past = TokenRequest {
        expires_at: Some(now()),
        ..token_request(TokenKind::Api)
    };
    validation(issue_token(&snap, &by("member"), past, now()), "expires_at");
    let expiry_of = |asked: Option<Timestamp>, minted_with: Option<Timestamp>| {
        let request = TokenRequest {
            expires_at: asked,
            minted_with,
            ..token_request(TokenKind::Mcp)
        };
        match issue_token(&snap, &by("member"), request, now())
            .unwrap()
            .outcomes()
        {
            [Outcome::TokenCreated { token }] => token.expires_at,
            other => panic!("{other:?}"),
        }
    };
    let (soon, later) = (now() + Duration::days(1), now() + Duration::days(30));
    assert_eq!(expiry_of(Some(later), Some(soon)), Some(soon));
    assert_eq!(expiry_of(Some(soon), Some(later)), Some(soon));
    assert_eq!(expiry_of(None, Some(soon)), Some(soon));
    assert_eq!(expiry_of(Some(later), None), Some(later));
    assert_eq!(expiry_of(None, None), None);
}

#[test]
fn owners_revoke_their_own_tokens_and_tokens_managers_revoke_anyones() {
    let snap = with_program_admin();
    let token = TokenState {
        id: TokenId::from("tok-1"),
        user_id: uid("member"),
        kind: TokenKind::Api,
        revoked: false,
    };
    for actor in ["member", "admin", "ia", "owner"] {
        let change = revoke_token(&snap, &by(actor), &token, now()).unwrap();
        assert_eq!(
            change.outcomes(),
            [Outcome::TokenRevoked {
                token_id: token.id.clone(),
                user_id: uid("member"),
                kind: TokenKind::Api,
                reason: RevokeReason::Revoked
            }],
            "{actor}"
        );
    }
    for actor in ["pa", "target", "stranger"] {
        forbidden(revoke_token(&snap, &by(actor), &token, now()));
    }
    let already = TokenState {
        revoked: true,
        ..token.clone()
    };
    assert!(revoke_token(&snap, &by("member"), &already, now())
        .unwrap()
        .is_empty());
    let session = TokenState {
        kind: TokenKind::Session,
        ..token
    };
    assert_eq!(
        revoke_token(&snap, &by("member"), &session, now()),
        Err(RuleError::NotFound("token"))
    );
}

#[test]
fn a_deactivated_person_no_longer_revokes_their_own_tokens() {
    let mut snap = staffed();
    deactivated(&mut snap, "member");
    let token = TokenState {
        id: TokenId::from("tok-1"),
        user_id: uid("member"),
        kind: TokenKind::Api,
        revoked: false,
    };
    forbidden(revoke_token(&snap, &by("member"), &token, now()));
}

// Sign-in links and sessions

fn link_for(user: &str) -> SignInLink {
    SignInLink {
        token_hash: format!("hash-{user}"),
        user_id: uid(user),
        expires_at: now() + Duration::minutes(15),
        emailed: false,
    }
}

#[test]
fn the_platform_mints_sign_in_links_for_members_with_access_only() {
    let mut snap = staffed();
    deactivated(&mut snap, "admin");
    let change = platform_sign_in_link(&snap, &Actor::Platform, link_for("member"), now()).unwrap();
    assert_eq!(
        change.outcomes(),
        [Outcome::SignInLinkCreated {
            link: link_for("member"),
            requested_by: LinkRequester::Platform,
            email: None
        }]
    );
    forbidden(platform_sign_in_link(
        &snap,
        &by("owner"),
        link_for("member"),
        now(),
    ));
    for user in ["admin", "nobody"] {
        assert_eq!(
            platform_sign_in_link(&snap, &Actor::Platform, link_for(user), now()),
            Err(RuleError::NotFound("member")),
            "{user}"
        );
    }
}

#[test]
fn a_sign_in_link_asked_for_by_a_person_goes_to_their_own_address() {
    let snap = staffed();
    let url = "https://roster.test/ui/link/abc".to_string();
    let change = emailed_sign_in_link(&snap, link_for("admin"), url.clone(), now()).unwrap();
    assert_eq!(change.grant().by(), &Principal::User(uid("admin")));
    assert_eq!(
        change.outcomes(),
        [Outcome::SignInLinkCreated {
            link: SignInLink {
                emailed: true,
                ..link_for("admin")
            },
            requested_by: LinkRequester::SelfService,
            email: Some((email("admin@example.com"), url.clone()))
        }]
    );
    assert_eq!(
        emailed_sign_in_link(&snap, link_for("nobody"), url, now()),
        Err(RuleError::NotFound("member"))
    );
}

fn session_for(user: &str) -> NewToken {
    NewToken {
        id: TokenId::from(fresh("ses")),
        user_id: uid(user),
        kind: TokenKind::Session,
        name: "admin UI".into(),
        secret_hash: "session-hash".into(),
        expires_at: Some(now() + Duration::hours(8)),
    }
}

#[test]
fn a_sign_in_link_starts_one_session_while_fresh_for_a_person_with_access() {
    let mut snap = staffed();
    let link = LinkState {
        token_hash: "hash-admin".into(),
        user_id: uid("admin"),
        expires_at: now() + Duration::minutes(15),
        used: false,
    };
    let session = session_for("admin");
    let change = start_session(&snap, &link, session.clone(), now()).unwrap();
    assert_eq!(
        change.effects(),
        [
            Effect::UseSignInLink {
                token_hash: "hash-admin".into()
            },
            Effect::CreateToken(session)
        ]
    );
    let refused = |link: &LinkState, session: NewToken, snap: &OrgSnapshot, at| {
        start_session(snap, link, session, at)
            .map(|_| ())
            .unwrap_err()
            .code()
    };
    let used = LinkState {
        used: true,
        ..link.clone()
    };
    assert_eq!(
        refused(&used, session_for("admin"), &snap, now()),
        "invalid_link"
    );
    assert_eq!(
        refused(&link, session_for("admin"), &snap, link.expires_at),
        "invalid_link"
    );
    assert_eq!(
        refused(&link, session_for("owner"), &snap, now()),
        "invalid_link"
    );
    let api_token = NewToken {
        kind: TokenKind::Api,
        ..session_for("admin")
    };
    assert_eq!(refused(&link, api_token, &snap, now()), "invalid_link");
    deactivated(&mut snap, "admin");
    assert_eq!(
        refused(&link, session_for("admin"), &snap, now()),
        "invalid_link"
    );
}

#[test]
fn signing_out_ends_the_session() {
    let snap = staffed();
    let session = TokenId::from("ses-1");
    let change = end_session(&snap, &uid("admin"), &session, SessionEnd::SignOut);
    assert_eq!(
        change.effects(),
        [Effect::RevokeToken {
            token_id: session,
            reason: RevokeReason::SignedOut
        }]
    );
    assert_eq!(change.grant().by(), &Principal::User(uid("admin")));
}
