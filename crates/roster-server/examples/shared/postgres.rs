//! Throwaway PostgreSQL databases for the examples that write a lot.

/// A fresh PostgreSQL database next to the one `server_url` names.
pub async fn fresh_postgres(server_url: &str, name: &str) -> Result<String, String> {
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

pub async fn admin_sql(server_url: &str, sql: &str) -> Result<(), String> {
    use sqlx::Executor;
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(server_url)
        .await
        .map_err(|e| format!("connect to {server_url}: {e}"))?;
    pool.execute(sql).await.map_err(|e| format!("{sql}: {e}"))?;
    pool.close().await;
    Ok(())
}
