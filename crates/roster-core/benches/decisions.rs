//! `decide` on a large organization, built deterministically (xorshift) so
//! runs compare: 100k members, 10k spaces and 500k space roles unless
//! `ROSTER_BENCH_MEMBERS`, `ROSTER_BENCH_SPACES` and `ROSTER_BENCH_SPACE_ROLES`
//! say otherwise. Prints the snapshot's live heap bytes per member, counted
//! by the allocator below.
#![allow(clippy::panic)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{TimeZone, Utc};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use roster_core::policy::{space_column, ORG_ADMIN_TIER_COLUMN};
use roster_core::{
    decide, Action, Email, Member, OrgRole, OrgSettings, OrgSnapshot, Resource, Space, SpaceId,
    SpaceRole, Timestamp, UserId,
};
use rustc_hash::FxHashMap;

/// The system allocator, counting the bytes in use.
struct Counting;

static IN_USE: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        IN_USE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        IN_USE.fetch_add(new_size, Ordering::Relaxed);
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Size {
    members: usize,
    spaces: usize,
    space_roles: usize,
}

impl Size {
    fn from_env() -> Self {
        let members = setting("ROSTER_BENCH_MEMBERS", 100_000);
        Size {
            members,
            spaces: setting("ROSTER_BENCH_SPACES", members / 10),
            space_roles: setting("ROSTER_BENCH_SPACE_ROLES", members * 5),
        }
    }
}

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn now() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0)
        .single()
        .unwrap_or_default()
}

fn user(i: usize) -> UserId {
    UserId::from(format!("u{i}"))
}

fn space(i: usize) -> SpaceId {
    SpaceId::from(format!("s{i}"))
}

/// One member in a hundred is an admin (`u0` the owner), the rest have no
/// org role; space roles are spread at random (a repeat replaces the
/// earlier role, so slightly fewer than asked remain).
fn organization(size: &Size) -> OrgSnapshot {
    let mut snap = OrgSnapshot::new("org".into(), "Big Co".into(), OrgSettings::default());
    for s in 0..size.spaces {
        snap.add_space(Space {
            id: space(s),
            name: space(s).to_string(),
        });
    }
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    for i in 0..size.members {
        let email = match Email::parse(&format!("{}@example.com", user(i))) {
            Ok(email) => email,
            Err(err) => panic!("bench email: {err}"),
        };
        let mut m = Member::new(user(i), email, user(i).to_string());
        m.org_role = match (i, i % 100) {
            (0, _) => Some(OrgRole::Owner),
            (_, 0) => Some(OrgRole::Admin),
            _ => None,
        };
        snap.add_member(m);
    }
    const ROLES: [SpaceRole; 8] = [
        SpaceRole::Participant,
        SpaceRole::Participant,
        SpaceRole::Participant,
        SpaceRole::Participant,
        SpaceRole::Participant,
        SpaceRole::Facilitator,
        SpaceRole::ProgramAdmin,
        SpaceRole::Sponsor,
    ];
    for _ in 0..size.space_roles {
        let (u, s, r) = (
            rng.below(size.members),
            rng.below(size.spaces),
            rng.below(ROLES.len()),
        );
        snap.load_space_role(user(u), space(s), ROLES[r]);
    }
    // The fixed cast of the cases below (overrides the random roles).
    snap.load_space_role(user(1), space(1), SpaceRole::Facilitator);
    snap.load_space_role(user(2), space(1), SpaceRole::Participant);
    snap.load_space_role(user(100), space(1), SpaceRole::Participant);
    snap.loaded();
    snap
}

fn bench(c: &mut Criterion) {
    let size = Size::from_env();
    let before = IN_USE.load(Ordering::Relaxed);
    let snap = organization(&size);
    let bytes = IN_USE.load(Ordering::Relaxed) - before;
    println!(
        "snapshot of {} members, {} spaces, {} space roles: {:.1} MiB, {} bytes per member",
        size.members,
        size.spaces,
        size.space_roles,
        bytes as f64 / (1024.0 * 1024.0),
        bytes / size.members.max(1)
    );
    let at = now();
    let (u1, u2, u100, u200, s1) = (user(1), user(2), user(100), user(200), space(1));
    // An admin with no role in some space: the admin-tier column.
    let admin_space = (0..size.spaces)
        .map(space)
        .find(|s| {
            snap.member(&u200)
                .is_some_and(|m| snap.space_role(m, s).is_none())
        })
        .unwrap_or_else(|| space(2));
    let cases: [(&str, &UserId, Action, Resource<'_>); 5] = [
        (
            "org_action_admin",
            &u100,
            Action::MembersInvite,
            Resource::Organization,
        ),
        (
            "space_action_facilitator",
            &u1,
            Action::EventsManage,
            Resource::Space(&s1),
        ),
        (
            "admin_tier_no_space_role",
            &u200,
            Action::ActivityEdit,
            Resource::Space(&admin_space),
        ),
        (
            "participant_locked_admin",
            &u100,
            Action::ActivityEdit,
            Resource::Space(&s1),
        ),
        (
            "user_report_facilitator",
            &u1,
            Action::ReportsView,
            Resource::User(&u2),
        ),
    ];
    let expected = [true, true, true, false, true];
    let mut group = c.benchmark_group("decide");
    for ((name, subject, action, resource), want) in cases.into_iter().zip(expected) {
        assert_eq!(
            decide(&snap, subject, action, resource, at).allowed,
            want,
            "{name}"
        );
        group.bench_function(name, |b| {
            b.iter(|| {
                decide(
                    black_box(&snap),
                    black_box(subject),
                    black_box(action),
                    black_box(resource),
                    black_box(at),
                )
            })
        });
    }
    group.finish();

    // 10,000 distinct random questions (a random member, a random space,
    // `events.manage`), against two plain references with the same role
    // columns: the roles in `FxHashMap`s keyed by integers, asked with
    // integers (the floor), and the same maps reached from the string ids
    // a request carries through two `FxHashMap<Box<str>, u32>`.
    let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
    let questions: Vec<(usize, usize)> = (0..10_000)
        .map(|_| (rng.below(size.members), rng.below(size.spaces)))
        .collect();
    let users: Vec<UserId> = questions.iter().map(|(u, _)| user(*u)).collect();
    let spaces: Vec<SpaceId> = questions.iter().map(|(_, s)| space(*s)).collect();
    let mut org_roles: FxHashMap<u32, OrgRole> = FxHashMap::default();
    let mut space_roles: FxHashMap<(u32, u32), SpaceRole> = FxHashMap::default();
    let mut user_numbers: FxHashMap<Box<str>, u32> = FxHashMap::default();
    let mut space_numbers: FxHashMap<Box<str>, u32> = FxHashMap::default();
    for s in 0..size.spaces {
        space_numbers.insert(space(s).as_str().into(), s as u32);
    }
    for u in 0..size.members {
        user_numbers.insert(user(u).as_str().into(), u as u32);
        let Some(member) = snap.member(&user(u)) else {
            continue;
        };
        if let Some(role) = member.org_role {
            org_roles.insert(u as u32, role);
        }
        for (id, role) in snap.space_roles_of(member) {
            let s: u32 = id.as_str()[1..].parse().unwrap_or(u32::MAX);
            space_roles.insert((u as u32, s), role);
        }
    }
    // SPEC §4: a participant or sponsor gets exactly their column; a
    // program admin or facilitator who also holds an org role gets the
    // union with the org admin tier; an org role alone, the tier.
    let tier =
        |u: u32| org_roles.contains_key(&u) && ORG_ADMIN_TIER_COLUMN.contains(Action::EventsManage);
    let reference = |u: u32, s: u32| match space_roles.get(&(u, s)) {
        Some(role @ (SpaceRole::Participant | SpaceRole::Sponsor)) => {
            space_column(*role).contains(Action::EventsManage)
        }
        Some(role) => space_column(*role).contains(Action::EventsManage) || tier(u),
        None => tier(u),
    };
    for ((u, s), (uid, sid)) in questions.iter().zip(users.iter().zip(&spaces)) {
        let roster = decide(&snap, uid, Action::EventsManage, Resource::Space(sid), at).allowed;
        assert_eq!(roster, reference(*u as u32, *s as u32), "{uid} in {sid}");
    }
    let mut random = c.benchmark_group("random_checks");
    random.throughput(Throughput::Elements(questions.len() as u64));
    random.bench_function("decide_10k_distinct", |b| {
        b.iter(|| {
            users
                .iter()
                .zip(&spaces)
                .filter(|(u, s)| {
                    decide(
                        black_box(&snap),
                        u,
                        Action::EventsManage,
                        Resource::Space(s),
                        at,
                    )
                    .allowed
                })
                .count()
        })
    });
    random.bench_function("fxhashmap_reference_10k_distinct", |b| {
        b.iter(|| {
            questions
                .iter()
                .filter(|(u, s)| black_box(reference(*u as u32, *s as u32)))
                .count()
        })
    });
    random.bench_function("fxhashmap_reference_from_string_ids_10k_distinct", |b| {
        b.iter(|| {
            users
                .iter()
                .zip(&spaces)
                .filter(|(u, s)| {
                    let user = user_numbers.get(black_box(u.as_str()));
                    let space = space_numbers.get(black_box(s.as_str()));
                    user.zip(space).is_some_and(|(u, s)| reference(*u, *s))
                })
                .count()
        })
    });
    random.finish();

    // A write replays its effects on a copy of the cached snapshot (readers
    // keep the old one): this copy is the fixed cost of a write to this
    // organization.
    let mut writes = c.benchmark_group("write");
    writes.sample_size(10);
    writes.bench_function("copy_snapshot_for_a_write", |b| {
        b.iter(|| black_box(&snap).clone())
    });
    writes.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
