//! Migrations: applied once to an empty database, a no-op afterwards, and
//! safe when several replicas start at once.

use roster_testkit::{on_both_backends, on_postgres, TestDb};
use sqlx::Row as _;

use crate::fixtures::*;

on_both_backends!(migrations_apply_to_an_empty_database_and_rerunning_them_is_a_no_op,);

async fn migrations_apply_to_an_empty_database_and_rerunning_them_is_a_no_op(db: TestDb) {
    let store = connect(&db).await;
    let raw = db.raw().await;
    assert!(
        sqlx::query("SELECT COUNT(*) FROM orgs")
            .fetch_one(&raw)
            .await
            .is_err(),
        "an empty database has no tables before migrating"
    );

    store.migrate().await.unwrap();
    for table in TABLES {
        let n: i64 = sqlx::query(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&raw)
            .await
            .unwrap_or_else(|e| panic!("table {table} after migrating: {e}"))
            .try_get(0)
            .unwrap();
        assert_eq!(n, 0, "{table} starts empty");
    }
    let applied = sqlx::query("SELECT version, applied_at FROM roster_migrations ORDER BY version")
        .fetch_all(&raw)
        .await
        .unwrap();
    assert_eq!(
        applied.len() as i64,
        roster_store::SCHEMA_VERSION,
        "every migration once"
    );
    let applied_at: i64 = applied[0].try_get(1).unwrap();

    // Some data, then migrate again: from this store and from a new one.
    let revision = new_org(&store, "org-1").await;
    store.migrate().await.unwrap();
    let other = connect(&db).await;
    other.migrate().await.unwrap();
    other.close().await;

    let again = sqlx::query("SELECT version, applied_at FROM roster_migrations ORDER BY version")
        .fetch_all(&raw)
        .await
        .unwrap();
    assert_eq!(
        again.len() as i64,
        roster_store::SCHEMA_VERSION,
        "no migration recorded twice"
    );
    assert_eq!(again[0].try_get::<i64, _>(1).unwrap(), applied_at);
    assert_eq!(db_revision(&raw, "org-1").await, revision);
    assert_eq!(fresh_load(&db, "org-1").await.member_count(), 1);
    raw.close().await;
}

// PostgreSQL replicas serialize on an advisory lock; SQLite is embedded
// (one process), so racing migrations there are not a supported setup.
on_postgres!(two_stores_migrating_one_empty_database_at_once_both_succeed,);

async fn two_stores_migrating_one_empty_database_at_once_both_succeed(db: TestDb) {
    let store = connect(&db).await;
    let other = connect(&db).await;
    let (a, b) = tokio::join!(store.migrate(), other.migrate());
    a.unwrap();
    b.unwrap();
    let raw = db.raw().await;
    assert_eq!(
        count_all(&raw, "SELECT COUNT(*) FROM roster_migrations").await,
        roster_store::SCHEMA_VERSION
    );
    other.close().await;
    raw.close().await;
}
