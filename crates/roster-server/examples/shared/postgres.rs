//! Throwaway databases for the examples that write a lot: a SQLite file in
//! a temporary folder, or a PostgreSQL database of their own.

/// The command line of an example that takes numbers and then, last and
/// optional, `sqlite` or a `postgres://` URL: the target (default
/// `sqlite`) and the numbers (`None` where absent or not a number).
pub fn numbers_then_target() -> (String, impl Fn(usize) -> Option<u64>) {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let target = match args.last() {
        Some(last) if last.parse::<u64>().is_err() => args.pop().unwrap_or_default(),
        _ => "sqlite".to_owned(),
    };
    (target, move |at: usize| {
        args.get(at).and_then(|a| a.parse().ok())
    })
}

/// Runs `run` on a scratch database, then removes it: `target` is `sqlite`
/// (a file in a temporary folder) or a `postgres://` URL naming a server
/// where a database `<name>_<pid>` may be made (dropped at the end).
/// `run` gets the database's URL and the backend's name.
pub async fn on_scratch_database<F, Fut>(target: &str, name: &str, run: F) -> Result<(), String>
where
    F: FnOnce(String, &'static str) -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let name = format!("{name}_{}", std::process::id());
    if target.starts_with("postgres") {
        let url = fresh_postgres(target, &name).await?;
        let result = run(url, "PostgreSQL").await;
        admin_sql(
            target,
            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        )
        .await?;
        result
    } else {
        let dir = std::env::temp_dir().join(&name);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let url = format!("sqlite://{}", dir.join("roster.db").display());
        let result = run(url, "SQLite").await;
        let _ = std::fs::remove_dir_all(&dir);
        result
    }
}

/// A fresh PostgreSQL database next to the one `server_url` names.
async fn fresh_postgres(server_url: &str, name: &str) -> Result<String, String> {
    admin_sql(
        server_url,
        &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
    )
    .await?;
    admin_sql(server_url, &format!("CREATE DATABASE {name}")).await?;
    let (path, query) = match server_url.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (server_url, None),
    };
    let server = path.rsplit_once('/').map_or(path, |(server, _)| server);
    Ok(match query {
        Some(query) => format!("{server}/{name}?{query}"),
        None => format!("{server}/{name}"),
    })
}

async fn admin_sql(server_url: &str, sql: &str) -> Result<(), String> {
    use sqlx::Executor;
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(server_url)
        .await
        .map_err(|e| format!("connect to {server_url}: {e}"))?;
    pool.execute(sql).await.map_err(|e| format!("{sql}: {e}"))?;
    pool.close().await;
    Ok(())
}
