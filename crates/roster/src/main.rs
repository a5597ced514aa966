//! `roster serve` and `roster migrate`.

use std::collections::HashMap;
use std::process::ExitCode;

use roster_server::{Config, PlatformKey};

const USAGE: &str = "usage: roster <serve|migrate> [--listen ADDR] [--database-url URL] [--platform-key KEY] \
[--public-url URL] [--smtp-url URL] [--mail-from FROM] [--default-ia-domains LIST] [--job-interval-ms MS] [--dev-clock 1]

Each flag overrides the ROSTER_* variable of the same name (ROSTER_LISTEN, ROSTER_DATABASE_URL, ...).";

/// `--database-url x` → `ROSTER_DATABASE_URL=x`.
fn parse_flags(args: &[String]) -> Result<HashMap<String, String>, String> {
    let mut flags = HashMap::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let name = arg
            .strip_prefix("--")
            .ok_or_else(|| format!("unexpected argument {arg:?}"))?;
        let (name, value) = match name.split_once('=') {
            Some((n, v)) => (n.to_owned(), v.to_owned()),
            None => (
                name.to_owned(),
                it.next()
                    .ok_or_else(|| format!("--{name} needs a value"))?
                    .clone(),
            ),
        };
        flags.insert(
            format!("ROSTER_{}", name.replace('-', "_").to_uppercase()),
            value,
        );
    }
    Ok(flags)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(command) = args.first().cloned() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    if args.iter().any(|a| a == "--help" || a == "-h") || command == "help" {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let flags = match parse_flags(&args[1..]) {
        Ok(flags) => flags,
        Err(e) => {
            eprintln!("{e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let config =
        match Config::from_lookup(|k| flags.get(k).cloned().or_else(|| std::env::var(k).ok())) {
            Ok(config) => config,
            Err(e) => {
                eprintln!("configuration: {e}");
                return ExitCode::from(2);
            }
        };
    init_logs();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match command.as_str() {
        "serve" => runtime.block_on(serve(config)),
        "migrate" => runtime.block_on(migrate(config)),
        other => Err(format!("unknown command {other:?}\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("roster: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr: JSON lines with `ROSTER_LOG_FORMAT=json`, else
/// human-readable (colored only on a terminal); `ROSTER_LOG` filters.
fn init_logs() {
    use std::io::IsTerminal;
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("ROSTER_LOG").unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::env::var("ROSTER_LOG_FORMAT").as_deref() == Ok("json") {
        builder.json().init();
    } else {
        builder.with_ansi(std::io::stderr().is_terminal()).init();
    }
}

async fn migrate(config: Config) -> Result<(), String> {
    let (app, _) = roster_server::prepare(config).await?;
    app.store.close().await;
    println!("migrations applied");
    Ok(())
}

async fn serve(config: Config) -> Result<(), String> {
    let listen = config.listen.clone();
    let public_url = config.public_url.clone();
    let database = config.database_url.clone();
    let (app, key) = roster_server::prepare(config).await?;
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let key_line = match &key {
        PlatformKey::Configured => "Platform key: from ROSTER_PLATFORM_KEY".to_owned(),
        PlatformKey::Generated(k) => format!(
            "Platform key (shown once, only its hash is kept): {k}\n  export ROSTER_KEY={k}"
        ),
        PlatformKey::Stored => "Platform key: generated on first start (only its hash is kept; set ROSTER_PLATFORM_KEY to choose one)".to_owned(),
    };
    let steps = [
        format!("  curl {public_url}/healthz"),
        format!("  open {public_url}/docs for the API, {public_url}/ui/platform for the operator page"),
        "  create an organization (the answer has its id and the owner's user_id):".to_owned(),
        format!("    curl -X POST {public_url}/v1/orgs -H \"Authorization: Bearer $ROSTER_KEY\" -H 'Content-Type: application/json' \\"),
        "      -d '{\"name\":\"Acme Coaching\",\"owner_email\":\"owner@example.com\"}'".to_owned(),
        "  sign in to its admin UI as the owner: open the url this answers".to_owned(),
        format!("    curl -X POST {public_url}/v1/orgs/ORG_ID/members/USER_ID/sign-in-link -H \"Authorization: Bearer $ROSTER_KEY\""),
    ];
    println!(
        "Roster is listening on {public_url} (database {database})\n{key_line}\n\nNext:\n{}\n",
        steps.join("\n")
    );
    roster_server::serve(app, listener, shutdown_signal())
        .await
        .map_err(|e| e.to_string())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
