//! The `roster` binary: serve the API and admin UI, migrate, run a demo,
//! import people, create organizations, rotate the platform key.
//!
//! Exit codes: 0 done, 1 refused (the reason on stderr), 2 usage.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use roster_core::import::ImportMode;
use roster_core::{Email, Name, OrgId};
use roster_server::app::orgs::NewOrg;
use roster_server::app::{Ctx, RequestId};
use roster_server::auth::Caller;
use roster_server::{AppState, Config, PlatformKey};

#[derive(Parser)]
#[command(
    name = "roster",
    version,
    about = "Roles, seats and access for coaching and training organizations",
    propagate_version = true
)]
struct Cli {
    #[command(flatten)]
    settings: Settings,
    #[command(subcommand)]
    command: Command,
}

/// The settings every command shares: each flag overrides its `ROSTER_*`
/// variable.
#[derive(Args)]
struct Settings {
    /// Address to serve the API and UI on [default: 127.0.0.1:8080]
    #[arg(long, env = "ROSTER_LISTEN", global = true)]
    listen: Option<String>,
    /// sqlite://FILE (created if missing) or postgres://… [default: sqlite://roster.db]
    #[arg(long, env = "ROSTER_DATABASE_URL", global = true)]
    database_url: Option<String>,
    /// The platform operator's key [default: generated, printed once, stored hashed]
    #[arg(
        long,
        env = "ROSTER_PLATFORM_KEY",
        global = true,
        hide_env_values = true
    )]
    platform_key: Option<String>,
    /// Base of links in emails [default: http://<listen>]
    #[arg(long, env = "ROSTER_PUBLIC_URL", global = true)]
    public_url: Option<String>,
    /// smtp://host:port or smtps://user:pass@host [default: none, messages stay in the outbox]
    #[arg(long, env = "ROSTER_SMTP_URL", global = true, hide_env_values = true)]
    smtp_url: Option<String>,
    /// Sender of emails [default: Roster <roster@localhost>]
    #[arg(long, env = "ROSTER_MAIL_FROM", global = true)]
    mail_from: Option<String>,
    /// Comma list: the Implementation Admin allowlist a new organization starts with
    #[arg(long, env = "ROSTER_DEFAULT_IA_DOMAINS", global = true)]
    default_ia_domains: Option<String>,
    /// How often background jobs run, in milliseconds [default: 30000]
    #[arg(long, env = "ROSTER_JOB_INTERVAL_MS", global = true)]
    job_interval_ms: Option<String>,
    /// How long an invitation stays open, in days [default: 14]
    #[arg(long, env = "ROSTER_INVITATION_TTL_DAYS", global = true)]
    invitation_ttl_days: Option<String>,
    /// 1 enables the dev clock (tests and demos only)
    #[arg(long, env = "ROSTER_DEV_CLOCK", global = true)]
    dev_clock: Option<String>,
    /// 1 lets webhook URLs point at loopback and private addresses
    #[arg(long, env = "ROSTER_WEBHOOK_ALLOW_PRIVATE", global = true)]
    webhook_allow_private: Option<String>,
    /// Memory for cached organizations, in MiB; least recently used go first [default: 1024]
    #[arg(long, env = "ROSTER_CACHE_MB", global = true)]
    cache_mb: Option<String>,
}

impl Settings {
    fn config(&self) -> Result<Config, String> {
        let values = [
            ("ROSTER_LISTEN", &self.listen),
            ("ROSTER_DATABASE_URL", &self.database_url),
            ("ROSTER_PLATFORM_KEY", &self.platform_key),
            ("ROSTER_PUBLIC_URL", &self.public_url),
            ("ROSTER_SMTP_URL", &self.smtp_url),
            ("ROSTER_MAIL_FROM", &self.mail_from),
            ("ROSTER_DEFAULT_IA_DOMAINS", &self.default_ia_domains),
            ("ROSTER_JOB_INTERVAL_MS", &self.job_interval_ms),
            ("ROSTER_INVITATION_TTL_DAYS", &self.invitation_ttl_days),
            ("ROSTER_DEV_CLOCK", &self.dev_clock),
            ("ROSTER_WEBHOOK_ALLOW_PRIVATE", &self.webhook_allow_private),
            ("ROSTER_CACHE_MB", &self.cache_mb),
        ];
        Config::from_lookup(|name| {
            values
                .iter()
                .find(|(key, _)| *key == name)
                .and_then(|(_, value)| (*value).clone())
        })
    }
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API and the admin UI (applies migrations first)
    Serve,
    /// Apply the database migrations and exit
    Migrate,
    /// Serve a believable coaching organization from a fresh database, with
    /// a sign-in link for each of the seven roles
    Demo,
    /// Import people into an organization from a JSON or CSV file (by its
    /// extension), with the same rules as the API
    Import(ImportArgs),
    /// Organizations
    Orgs {
        #[command(subcommand)]
        command: OrgsCommand,
    },
    /// The platform operator's key
    PlatformKey {
        #[command(subcommand)]
        command: PlatformKeyCommand,
    },
}

#[derive(Args)]
struct ImportArgs {
    /// The organization's id
    #[arg(long)]
    org: String,
    /// invite: send invitations; add: make members directly, no email
    #[arg(long, value_enum, default_value_t = Mode::Invite)]
    mode: Mode,
    /// Say what would happen; change nothing
    #[arg(long)]
    dry_run: bool,
    /// A .json ({"members": [...]}) or .csv (email,name,org_role,duration,space,space_role) file
    file: PathBuf,
}

#[derive(Clone, Copy, ValueEnum)]
enum Mode {
    Invite,
    Add,
}

#[derive(Subcommand)]
enum OrgsCommand {
    /// Create an organization with its first Owner; prints its id, the
    /// owner's user id and a sign-in link for the owner
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        owner_email: String,
        #[arg(long)]
        owner_name: Option<String>,
        #[arg(long)]
        seat_limit: Option<u32>,
    },
}

#[derive(Subcommand)]
enum PlatformKeyCommand {
    /// Replace the platform key: prints the new one once; the old one stops
    /// working at once, on every replica
    Rotate,
}

/// How a command ended, for the exit code.
enum Failure {
    /// The settings or arguments are wrong (exit 2).
    Usage(String),
    /// Refused, or failed (exit 1).
    Refused(String),
}

impl From<String> for Failure {
    fn from(reason: String) -> Self {
        Failure::Refused(reason)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logs();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("roster: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(reason)) => {
            eprintln!("roster: {reason}");
            ExitCode::from(2)
        }
        Err(Failure::Refused(reason)) => {
            eprintln!("roster: {reason}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let mut config = cli.settings.config().map_err(Failure::Usage)?;
    match cli.command {
        Command::Serve => serve(config).await,
        Command::Migrate => migrate(config).await,
        Command::Demo => {
            if cli.settings.database_url.is_none() {
                config.database_url = fresh_sqlite()?;
            }
            demo(config).await
        }
        Command::Import(args) => import(config, args).await,
        Command::Orgs {
            command:
                OrgsCommand::Create {
                    name,
                    owner_email,
                    owner_name,
                    seat_limit,
                },
        } => create_org(config, name, owner_email, owner_name, seat_limit).await,
        Command::PlatformKey {
            command: PlatformKeyCommand::Rotate,
        } => {
            let key = roster_server::rotate_platform_key(&config).await?;
            println!("New platform key (shown once; the old one no longer works):\n{key}");
            Ok(())
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

async fn migrate(config: Config) -> Result<(), Failure> {
    let (app, _) = roster_server::prepare(config).await?;
    app.store.close().await;
    println!("migrations applied");
    Ok(())
}

fn key_line(key: &PlatformKey) -> String {
    match key {
        PlatformKey::Configured => "Platform key: from ROSTER_PLATFORM_KEY".to_owned(),
        PlatformKey::Generated(k) => format!(
            "Platform key (shown once, only its hash is kept): {k}\n  export ROSTER_KEY={k}"
        ),
        PlatformKey::Stored => "Platform key: generated on first start (only its hash is kept; `roster platform-key rotate` makes a new one)".to_owned(),
    }
}

async fn listen(config: &Config) -> Result<tokio::net::TcpListener, Failure> {
    tokio::net::TcpListener::bind(&config.listen)
        .await
        .map_err(|e| Failure::Refused(format!("cannot listen on {}: {e}", config.listen)))
}

async fn serve(config: Config) -> Result<(), Failure> {
    let listener = listen(&config).await?;
    let public_url = config.public_url.clone();
    let database = config.database_url.clone();
    let (app, key) = roster_server::prepare(config).await?;
    let steps = [
        format!("  curl {public_url}/healthz"),
        format!(
            "  open {public_url}/docs for the API, {public_url}/ui/platform for the operator page"
        ),
        "  create an organization with its first Owner and a sign-in link for them:".to_owned(),
        "    roster orgs create --name 'Acme Coaching' --owner-email owner@example.com".to_owned(),
        "  or try `roster demo` for a filled organization and a link for every role".to_owned(),
    ];
    println!(
        "Roster is listening on {public_url} (database {database})\n{}\n\nNext:\n{}\n",
        key_line(&key),
        steps.join("\n")
    );
    run_server(app, listener).await
}

async fn run_server(app: AppState, listener: tokio::net::TcpListener) -> Result<(), Failure> {
    roster_server::serve(app, listener, shutdown_signal())
        .await
        .map_err(|e| Failure::Refused(e.to_string()))
}

/// A new SQLite file in a folder of its own under the system's temporary
/// folder.
fn fresh_sqlite() -> Result<String, Failure> {
    let dir = std::env::temp_dir().join(format!("roster-demo-{}", uuid_like()));
    std::fs::create_dir_all(&dir)
        .map_err(|e| Failure::Refused(format!("cannot create {}: {e}", dir.display())))?;
    Ok(format!("sqlite://{}", dir.join("roster.db").display()))
}

fn uuid_like() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    )
}

async fn demo(config: Config) -> Result<(), Failure> {
    let listener = listen(&config).await?;
    let public_url = config.public_url.clone();
    let database = config.database_url.clone();
    let (app, key) = roster_server::prepare(config).await?;
    let demo = roster_server::demo::fill(&app)
        .await
        .map_err(|e| Failure::Refused(format!("could not fill the demo: {}", e.detail)))?;
    let links = roster_server::demo::links(&app, &demo)
        .await
        .map_err(|e| Failure::Refused(format!("could not make sign-in links: {}", e.detail)))?;
    println!(
        "Roster demo on {public_url} (database {database})\n{}\n\nNorthwind Coaching ({}) is ready. Sign in as each role (each link works once, for 15 minutes):",
        key_line(&key),
        demo.org_id
    );
    for (role, url) in links {
        println!("  {} ({}): {url}", role.label(), role.as_str());
    }
    println!();
    run_server(app, listener).await
}

/// The platform, acting from the command line.
fn platform() -> Ctx {
    Ctx {
        caller: Caller::Platform,
        request_id: RequestId(format!("cli-{}", uuid_like())),
    }
}

async fn import(config: Config, args: ImportArgs) -> Result<(), Failure> {
    let body = std::fs::read(&args.file)
        .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", args.file.display())))?;
    let extension = args
        .file
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let rows = match extension.as_deref() {
        Some("json") => roster_server::app::import::rows_from_json(&body),
        Some("csv") => roster_server::app::import::rows_from_csv(&body),
        _ => {
            return Err(Failure::Usage(format!(
                "{}: use a .json or .csv file",
                args.file.display()
            )))
        }
    }
    .map_err(|e| Failure::Refused(e.detail))?;
    let (app, _) = roster_server::prepare(config).await?;
    let mode = match args.mode {
        Mode::Invite => ImportMode::Invite,
        Mode::Add => ImportMode::Add,
    };
    let org = OrgId::from(args.org.as_str());
    let done = app
        .import(&platform(), &org, mode, args.dry_run, rows)
        .await;
    app.store.close().await;
    match done {
        Ok(done) => {
            let view = done.value;
            let verb = if view.dry_run { "would" } else { "did" };
            println!(
                "Import {verb}: {} created, {} invited, {} unchanged",
                view.created.len(),
                view.invited.len(),
                view.unchanged.len()
            );
            for email in &view.unchanged {
                println!("  unchanged: {email}");
            }
            Ok(())
        }
        Err(e) => {
            let mut reason = format!("import refused ({}): {}", e.code, e.detail);
            if let Some(rows) = e.extra.get("rejected").and_then(|r| r.as_array()) {
                for row in rows {
                    reason.push_str(&format!(
                        "\n  row {}: {} {} {}",
                        row["row"],
                        row["email"].as_str().unwrap_or_default(),
                        row["code"].as_str().unwrap_or_default(),
                        row["reason"].as_str().unwrap_or_default()
                    ));
                }
            }
            Err(Failure::Refused(reason))
        }
    }
}

async fn create_org(
    config: Config,
    name: String,
    owner_email: String,
    owner_name: Option<String>,
    seat_limit: Option<u32>,
) -> Result<(), Failure> {
    let new = NewOrg {
        name: Name::parse("name", &name).map_err(|e| Failure::Usage(e.to_string()))?,
        owner_email: Email::parse(&owner_email)
            .map_err(|e| Failure::Usage(format!("--owner-email: {e}")))?,
        owner_name: Name::parse_optional("owner_name", owner_name.as_deref())
            .map_err(|e| Failure::Usage(e.to_string()))?,
        seat_limit,
    };
    let (app, _) = roster_server::prepare(config).await?;
    let ctx = platform();
    let org = app
        .create_org(&ctx.caller, Some(&ctx.request_id), new)
        .await
        .map_err(|e| Failure::Refused(format!("{} ({})", e.detail, e.code)))?
        .value;
    let owner = org
        .owner
        .ok_or_else(|| Failure::Refused("the organization has no owner".into()))?;
    let link = app
        .platform_sign_in_link(&ctx, &org.id, &owner.user_id)
        .await
        .map_err(|e| Failure::Refused(e.detail))?
        .value;
    app.store.close().await;
    println!("org_id: {}", org.id);
    println!("owner_user_id: {}", owner.user_id);
    println!("sign_in_link: {}", link.url);
    Ok(())
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
