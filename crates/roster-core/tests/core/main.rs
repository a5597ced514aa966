//! Roster core's rules, tested as SPEC §3–§8 states them: one module per
//! section, the §4 tables as data, and property tests over random
//! organizations.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

mod at_scale;
mod deactivate_remove_leave;
mod email_fuzzing;
mod implementation_admin;
mod invitations;
mod organizations_spaces_tokens;
mod owners_and_org_roles;
mod permission_matrix;
mod properties;
mod seats;
mod space_roles;
