//! The `marketref` command: serve the reference runtime, check and write the contract files.
//!
//! Exit codes: 0 success; 1 the contract check found problems; 2 the command line or the
//! configuration is wrong; 3 the runtime failed (store, I/O).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use marketref::clock::SystemClock;
use marketref::credentials::Pepper;
use marketref::http::{AppState, RuntimeConfig, RuntimeOptions};
use marketref::store::{Location, Store};
use marketref::{Error, ErrorKind};

/// Request handling and matching allocate many small, short-lived objects across threads;
/// mimalloc serves those with less contention and fragmentation than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "marketref",
    version,
    about = "Marketplace API contracts and their reference runtime"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the reference server (on the embedded SQLite store unless --db names Postgres).
    Serve(ServeArgs),
    /// Bring a store's schema up to this binary's (serve does it too, on start).
    ///
    /// Example: marketref migrate --db postgres://marketref@127.0.0.1:5432/marketref
    Migrate {
        #[arg(long, default_value = "./marketref.db")]
        db: Location,
    },
    /// Check, write or print the contract files (schemas, reason codes, OpenAPI).
    Contracts {
        #[command(subcommand)]
        command: ContractsCommand,
    },
    /// Measure the matching engine and the runtime (see BENCHMARKS.md); prints one JSON line.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
    /// Create ML-marketplace vendors from the shell, on the store itself.
    Vendors {
        #[command(subcommand)]
        command: VendorsCommand,
    },
    /// Generate synthetic dataset rounds and publish round folders.
    Rounds {
        #[command(subcommand)]
        command: RoundsCommand,
    },
    /// Find vendor keys and deployment tokens in files.
    Secrets {
        #[command(subcommand)]
        command: SecretsCommand,
    },
}

#[derive(Subcommand)]
enum VendorsCommand {
    /// Create a vendor and its first key, printed once as JSON (then only its hash is kept).
    ///
    /// Example: marketref vendors create --name "Acme Quant" --db ./marketref.db
    Create {
        #[arg(long)]
        name: String,
        /// The store the server uses: a SQLite file or a Postgres URL.
        #[arg(long, default_value = "./marketref.db")]
        db: Location,
        /// Hash with the development pepper when MARKETREF_TOKEN_PEPPER is not set (for a
        /// server started with --dev).
        #[arg(long)]
        dev: bool,
        /// The server's data folder, whose kept pepper to use when MARKETREF_TOKEN_PEPPER is not
        /// set and --dev is not given.
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum RoundsCommand {
    /// Write a seeded synthetic round to a folder: train.csv, validation.csv, test.csv,
    /// features.csv and round.json. The same arguments give the same bytes.
    ///
    /// Example: marketref rounds generate --out ./round-1 --seed 1 --bars 4000
    Generate {
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Comma-separated symbols.
        #[arg(long, default_value = "EURUSD,GBPUSD,USDJPY", value_delimiter = ',')]
        symbols: Vec<String>,
        /// Bars per symbol.
        #[arg(long, default_value_t = 4000)]
        bars: usize,
        /// 1m, 5m, 15m, 1h, 4h or 1d.
        #[arg(long, default_value = "1h")]
        timeframe: String,
        /// The round's name in round.json.
        #[arg(long, default_value = "Synthetic round")]
        name: String,
    },
    /// Register a round folder under an id, copying its files into the server's data folder
    /// (sizes and SHA-256 computed); the first round is current, --current makes a later one so.
    ///
    /// Example: marketref rounds publish --dir ./round-1 --round-id round-1 --current
    Publish {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        round_id: String,
        #[arg(long)]
        current: bool,
        /// The store the server uses: a SQLite file or a Postgres URL.
        #[arg(long, default_value = "./marketref.db")]
        db: Location,
        #[arg(long, default_value = "./marketref-data")]
        data_dir: PathBuf,
    },
}

#[derive(Subcommand)]
enum SecretsCommand {
    /// Report every well-formed vk_/sit_ token with a valid checksum in the files (folders are
    /// walked), as file:line and its prefix only; exit 1 when any is found.
    ///
    /// Example: marketref secrets scan ./config ./ci
    Scan {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum SelectionArg {
    Greedy,
    Optimal,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ObjectiveArg {
    Score,
    Intents,
}

#[derive(Subcommand)]
enum BenchCommand {
    /// The engine over a synthetic or given load, as a matching run calls it, without HTTP or
    /// a store.
    Matching {
        /// Generate the seeded synthetic load of this many intents (spec section 10).
        #[arg(long, required_unless_present = "input", conflicts_with = "input")]
        intents: Option<usize>,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Read a `{asset_values_usd, intents}` file instead.
        #[arg(long)]
        input: Option<PathBuf>,
        /// Worker threads (default: one per core). The answer is the same for any number.
        #[arg(long)]
        threads: Option<usize>,
        /// Full proposals to build, as a run with this `max_proposals` does (a run's default
        /// is 50; the engine's own contract, all of them, is any number above the selected).
        #[arg(long, default_value_t = marketref::bench::matching::DEFAULT_KEEP)]
        max_proposals: usize,
        /// Choose as a run with this `selection` does and report the bound and the gap
        /// (without it: the contract's greedy pick, no bound).
        #[arg(long, value_enum)]
        selection: Option<SelectionArg>,
        /// What `optimal` maximises (implies --selection greedy when alone).
        #[arg(long, value_enum)]
        objective: Option<ObjectiveArg>,
        /// The selection's work budget, as a run's `max_solve_ms`.
        #[arg(long, default_value_t = 500)]
        max_solve_ms: u64,
        /// Write every selected proposal (`id`, `intent_ids`, `confidence_score`) to this file.
        #[arg(long)]
        emit_selection: Option<PathBuf>,
        /// Write every candidate proposal (`id`, `intent_ids`, `confidence_score`), in the
        /// contract's order, to this file: the input of an external solver
        /// (`scripts/selection_optimum.py`).
        #[arg(long)]
        emit_candidates: Option<PathBuf>,
    },
    /// The runtime over loopback HTTP on a temporary store: create the intents, time a
    /// matching run end to end, then a bounded burst of GET /healthz.
    Http {
        #[arg(long)]
        intents: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Where asset values come from: stored before the run, or price hints on the intents
        /// that the run derives and stores.
        #[arg(long, value_enum, default_value = "stored")]
        values: ValuesArg,
        /// Keep-alive connections for the intent load and the /healthz burst.
        #[arg(long, default_value_t = 8)]
        connections: usize,
        #[arg(long, default_value_t = 20_000)]
        healthz_requests: usize,
        /// Upper bound, in seconds, on each load phase.
        #[arg(long, default_value_t = 120)]
        time_limit: u64,
        /// The store instead of a temporary SQLite file: a SQLite file (kept afterwards), or a
        /// Postgres server (postgres://USER@HOST:PORT/DB; the user needs CREATEDB) on which
        /// the bench makes a database of its own and drops it at the end.
        #[arg(long)]
        db: Option<Location>,
        /// Instances of the runtime on the one store; the intents are created through all.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=16))]
        instances: u16,
    },
    /// The ML marketplace over loopback HTTP: argon2id, a key's first use, cached reads at a
    /// fixed rate, deployments writing signals up to their rate limit and one past it, and the
    /// validation cache fed distinct tokens.
    Ml {
        #[arg(long, default_value_t = 1_000)]
        deployments: usize,
        /// Keep-alive connections for the reads and the writes.
        #[arg(long, default_value_t = 8)]
        connections: usize,
        /// Cached reads per second, for --read-seconds.
        #[arg(long, default_value_t = 1_000)]
        read_rate: u32,
        #[arg(long, default_value_t = 10)]
        read_seconds: u64,
        /// Distinct tokens fed to the validation cache.
        #[arg(long, default_value_t = 100_000)]
        cache_tokens: usize,
    },
    /// Training runs over loopback HTTP: creation while two runs train, a default run's wall
    /// time, many vendors' runs queued on the workers; and the trainer's throughput in process.
    Training(marketref::bench::training::TrainingArgs),
    /// Write the seeded synthetic load to a file that `bench matching --input` reads.
    Generate {
        #[arg(long)]
        intents: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on. Identity comes from trusted headers, so only loopback is allowed
    /// unless --allow-remote is given.
    #[arg(long, default_value = "127.0.0.1:3005")]
    addr: SocketAddr,
    /// The store: a SQLite file, created when missing (a path, or sqlite://PATH), or a
    /// Postgres database (postgres://USER@HOST:PORT/DB, libpq style), migrated on start.
    /// Several instances share one Postgres database.
    #[arg(long, default_value = "./marketref.db")]
    db: Location,
    /// Mount the dev-only operations (POST /dev/fixtures, POST /dev/reset); credentials are
    /// hashed with the development pepper unless MARKETREF_TOKEN_PEPPER is set.
    #[arg(long)]
    dev: bool,
    /// Where dataset rounds and model artifacts are kept.
    #[arg(long, default_value = "./marketref-data")]
    data_dir: PathBuf,
    /// An origin a browser may call the API from (CORS); repeatable. None by default.
    #[arg(long = "cors-origin", value_name = "URL")]
    cors_origins: Vec<String>,
    /// Training runs trained at once (each on a thread of its own); 0 trains none, and local
    /// runs stay queued.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(0..=64))]
    training_workers: u16,
    /// Listen on a non-loopback address although callers are identified by headers that anyone
    /// who can reach the port can set. Only behind a gateway that sets them.
    #[arg(long)]
    allow_remote: bool,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ValuesArg {
    Stored,
    Hints,
}

#[derive(Subcommand)]
enum ContractsCommand {
    /// Exit 0 when the committed contract files equal the generated ones and every example
    /// validates; otherwise print each problem (with a diff) and exit 1.
    Check {
        /// Repository root.
        #[arg(long, default_value = ".")]
        root: PathBuf,
    },
    /// Regenerate the committed contract files under schemas/.
    Write {
        /// Repository root.
        #[arg(long, default_value = ".")]
        root: PathBuf,
    },
    /// Print the OpenAPI 3.1 document.
    Openapi {
        /// Include the dev-only operations.
        #[arg(long)]
        dev: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve(args),
        Command::Migrate { db } => migrate(&db),
        Command::Contracts { command } => contracts(command),
        Command::Bench { command } => bench(command),
        Command::Vendors { command } => vendors(command),
        Command::Rounds { command } => rounds(command),
        Command::Secrets { command } => secrets(command),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            let kind = error.downcast_ref::<Error>().map(Error::kind);
            match kind {
                Some(ErrorKind::Config | ErrorKind::Manifest) => ExitCode::from(2),
                _ => ExitCode::from(3),
            }
        }
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    tracing::subscriber::set_global_default(marketref::log::subscriber(
        std::io::stderr,
        marketref::log::filter_from_env(),
        std::io::IsTerminal::is_terminal(&std::io::stderr()),
    ))
    .context("installing the log")?;
    if !args.addr.ip().is_loopback() && !args.allow_remote {
        return Err(Error::new(
            ErrorKind::Config,
            format!(
                "refusing to listen on {}: callers are identified by trusted headers, so only loopback \
                 addresses are allowed; pass --allow-remote if a gateway sets those headers",
                args.addr
            ),
        )
        .into());
    }
    let store = open_store(&args.db)?;
    let state = AppState::new(RuntimeConfig {
        store,
        clock: Arc::new(SystemClock),
        dev: args.dev,
        options: serve_options(&args)?,
    })?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.addr)
            .await
            .with_context(|| format!("binding {}", args.addr))?;
        let addr = listener.local_addr()?;
        tracing::info!(%addr, db = %args.db, dev = args.dev, console = %format!("http://{addr}/"), "marketref listening");
        eprintln!("marketref: serving on http://{addr} (web console: http://{addr}/)");
        marketref::http::run(listener, state, shutdown_signal()).await?;
        tracing::info!("marketref stopped; store closed");
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The environment variable that holds the server's pepper.
const PEPPER_VARIABLE: &str = "MARKETREF_TOKEN_PEPPER";

/// The pepper: `MARKETREF_TOKEN_PEPPER` when set. Else, under `--dev`, the fixed development
/// pepper (so that development servers and the verifier agree); outside `--dev`, the one kept in
/// `<data dir>/token-pepper`, made once from 32 random bytes (mode 0600), so that a server never
/// peppers real credentials with a value anyone knows. Every instance on one database must have
/// the same pepper: set the variable, or share the data folder.
fn pepper(dev: bool, data_dir: Option<&std::path::Path>) -> Result<Pepper, Error> {
    if let Ok(value) = std::env::var(PEPPER_VARIABLE)
        && !value.is_empty()
    {
        return Ok(Pepper::new(value));
    }
    match (dev, data_dir) {
        (true, _) => {
            tracing::warn!(
                "{PEPPER_VARIABLE} is not set: credentials are hashed with the development pepper (--dev)"
            );
            Ok(Pepper::dev())
        }
        (false, Some(dir)) => {
            let (pepper, made) =
                marketref::credentials::Pepper::kept_in(dir).map_err(|e| Error::io(dir, e))?;
            if made {
                tracing::warn!(path = %dir.join(Pepper::FILE).display(), "{PEPPER_VARIABLE} is not set: made a pepper for this data folder; set the variable to the same value on every instance");
            }
            Ok(pepper)
        }
        (false, None) => Err(Error::new(
            ErrorKind::Config,
            format!(
                "{PEPPER_VARIABLE} is not set: it peppers the hashes of vendor keys and deployment tokens \
                 and signs dataset URLs; set it to the server's value, or pass --dev for a development server"
            ),
        )),
    }
}

fn serve_options(args: &ServeArgs) -> Result<RuntimeOptions, Error> {
    Ok(RuntimeOptions {
        pepper: pepper(args.dev, Some(&args.data_dir))?,
        data_dir: Some(args.data_dir.clone()),
        cors_origins: args.cors_origins.clone(),
        training_workers: usize::from(args.training_workers),
        ..RuntimeOptions::default()
    })
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown requested; finishing requests in flight");
}

fn bench(command: BenchCommand) -> anyhow::Result<ExitCode> {
    use marketref::bench::{self, LoadSource};
    match command {
        BenchCommand::Matching {
            intents,
            seed,
            input,
            threads,
            max_proposals,
            selection,
            objective,
            max_solve_ms,
            emit_selection,
            emit_candidates,
        } => {
            use marketref::domain::swap::selection::{Objective, Strategy};
            let choice = (selection.is_some() || objective.is_some()).then_some(
                marketref::domain::swap::engine::SelectionChoice {
                    strategy: match selection {
                        Some(SelectionArg::Optimal) => Strategy::Optimal,
                        _ => Strategy::Greedy,
                    },
                    objective: match objective {
                        Some(ObjectiveArg::Intents) => Objective::Intents,
                        _ => Objective::Score,
                    },
                    max_solve_ms,
                },
            );
            let source = match (intents, input) {
                (_, Some(path)) => LoadSource::File(path),
                (Some(intents), None) => LoadSource::Synthetic { intents, seed },
                (None, None) => unreachable!("clap requires --intents or --input"),
            };
            let report = bench::with_threads(threads, || {
                source.load().and_then(|load| {
                    if let Some(path) = &emit_candidates {
                        bench::matching::emit_candidates(&load, path)?;
                    }
                    bench::matching::run(&load, max_proposals, choice, emit_selection.as_deref())
                })
            })??;
            println!("{}", serde_json::to_string(&report)?);
        }
        BenchCommand::Http {
            intents,
            seed,
            values,
            connections,
            healthz_requests,
            time_limit,
            db,
            instances,
        } => {
            let options = bench::http::HttpBenchOptions {
                values: match values {
                    ValuesArg::Stored => bench::http::ValueSource::Stored,
                    ValuesArg::Hints => bench::http::ValueSource::Hints,
                },
                connections,
                healthz_requests,
                time_limit: std::time::Duration::from_secs(time_limit),
                db,
                instances: usize::from(instances),
            };
            let load = bench::synthetic::generate(intents, seed);
            let report = bench::http::run(&load, &options)?;
            println!("{}", serde_json::to_string(&report)?);
        }
        BenchCommand::Ml {
            deployments,
            connections,
            read_rate,
            read_seconds,
            cache_tokens,
        } => {
            let options = bench::ml::MlBenchOptions {
                deployments,
                connections,
                read_rate,
                read_seconds,
                cache_tokens,
                ..bench::ml::MlBenchOptions::default()
            };
            println!("{}", serde_json::to_string(&bench::ml::run(&options)?)?);
        }
        BenchCommand::Training(args) => {
            let report = bench::training::run(&args.options())?;
            println!("{}", serde_json::to_string(&report)?);
        }
        BenchCommand::Generate { intents, seed, out } => {
            bench::write_load(&bench::synthetic::generate(intents, seed), &out)?;
            println!(
                "{}",
                serde_json::json!({"intents": intents, "seed": seed, "out": out})
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn open_store(db: &Location) -> anyhow::Result<Arc<dyn Store>> {
    db.open()
        .map_err(Error::from)
        .with_context(|| format!("opening {db}"))
}

fn migrate(db: &Location) -> anyhow::Result<ExitCode> {
    let store = open_store(db)?;
    store.close().map_err(Error::from)?;
    println!(
        "{}",
        serde_json::json!({"db": db.to_string(), "migrated": true})
    );
    Ok(ExitCode::SUCCESS)
}

fn vendors(command: VendorsCommand) -> anyhow::Result<ExitCode> {
    match command {
        VendorsCommand::Create {
            name,
            db,
            dev,
            data_dir,
        } => {
            let store = open_store(&db)?;
            let hasher = marketref::credentials::Hasher::new(pepper(dev, data_dir.as_deref())?);
            let created = marketref::domain::ml_market::admin::create_vendor(
                store.as_ref(),
                &hasher,
                &name,
                time::OffsetDateTime::now_utc(),
            )?;
            println!("{}", serde_json::to_string(&created)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn rounds(command: RoundsCommand) -> anyhow::Result<ExitCode> {
    use marketref::domain::ml_market::{admin, dataset::Recipe, files, types::Timeframe};
    match command {
        RoundsCommand::Generate {
            out,
            seed,
            symbols,
            bars,
            timeframe,
            name,
        } => {
            let timeframe: Timeframe = serde_json::from_value(serde_json::Value::String(
                timeframe.clone(),
            ))
            .map_err(|_| {
                Error::new(
                    ErrorKind::Config,
                    format!("--timeframe `{timeframe}`: one of 1m, 5m, 15m, 1h, 4h, 1d"),
                )
            })?;
            let valid_symbol = |s: &String| {
                !s.is_empty()
                    && s.len() <= 20
                    && s.bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            };
            if symbols.is_empty() || !symbols.iter().all(valid_symbol) {
                return Err(Error::new(
                    ErrorKind::Config,
                    "--symbols: upper-case letters and digits, comma-separated",
                )
                .into());
            }
            if bars <= marketref::domain::ml_market::dataset::HISTORY + 1 {
                return Err(Error::new(
                    ErrorKind::Config,
                    "--bars must be more than 21 (20 bars of history and the label's next)",
                )
                .into());
            }
            let recipe = Recipe {
                seed,
                symbols,
                bars,
                timeframe,
            };
            let written =
                files::write_folder(&out, &recipe, &name).map_err(|e| Error::io(&out, e))?;
            println!("{}", serde_json::json!({"out": out, "files": written}));
            Ok(ExitCode::SUCCESS)
        }
        RoundsCommand::Publish {
            dir,
            round_id,
            current,
            db,
            data_dir,
        } => {
            let store = open_store(&db)?;
            let round = admin::publish_round(
                store.as_ref(),
                &data_dir,
                &dir,
                &round_id,
                current,
                time::OffsetDateTime::now_utc(),
            )?;
            println!("{}", serde_json::to_string(&round)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn secrets(command: SecretsCommand) -> anyhow::Result<ExitCode> {
    match command {
        SecretsCommand::Scan { paths } => {
            let (findings, skipped) = marketref::credentials::scan::scan(&paths);
            for finding in &findings {
                println!(
                    "{}:{}: {}",
                    finding.path.display(),
                    finding.line,
                    finding.shown
                );
            }
            for path in &skipped {
                eprintln!("skipped {} (not readable as text)", path.display());
            }
            eprintln!("secrets scan: {} token(s) found", findings.len());
            Ok(if findings.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

fn contracts(command: ContractsCommand) -> anyhow::Result<ExitCode> {
    match command {
        ContractsCommand::Check { root } => {
            let report = marketref::contracts::check(&root)?;
            println!("{report}");
            Ok(if report.is_clean() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        ContractsCommand::Write { root } => {
            let written = marketref::contracts::write(&root)?;
            if written.is_empty() {
                println!("contracts: every generated file is up to date");
            }
            for path in written {
                println!("wrote {path}");
            }
            Ok(ExitCode::SUCCESS)
        }
        ContractsCommand::Openapi { dev } => {
            let document = marketref::contracts::openapi::document(
                marketref::manifest::Manifest::embedded(),
                dev,
            );
            println!("{}", serde_json::to_string_pretty(&document)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}
