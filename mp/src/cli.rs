//! The command line: every command with an example in its `--help`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "mp",
    version,
    about = "The ML marketplace from a terminal: your key, the dataset rounds, training runs, models, deployments and the catalog.",
    after_help = "Exit codes: 0 success; 1 the server said no (its reason code is printed) or a check failed; 2 a wrong command line or a local error.\n\nStart with:\n  mp login --api-url http://127.0.0.1:3005 --key vk_key_000001_..."
)]
pub struct Cli {
    /// The server (`http://HOST:PORT`); overrides the config's.
    #[arg(long, env = "MP_API_URL", global = true, value_name = "URL")]
    pub api_url: Option<String>,
    /// Print one JSON document on stdout, for scripts.
    #[arg(long, global = true)]
    pub json: bool,
    /// No progress bars.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a vendor key with the server and keep it in the config file (mode 0600).
    #[command(
        after_help = "Example:\n  mp login --api-url http://127.0.0.1:3005 --key vk_key_000001_...\n  echo \"$KEY\" | mp login --api-url http://127.0.0.1:3005   # the key from stdin"
    )]
    Login {
        /// The vendor key; read from stdin when not given.
        #[arg(long, value_name = "VK")]
        key: Option<String>,
    },
    /// Forget the key: remove the config file.
    #[command(after_help = "Example:\n  mp logout")]
    Logout,
    /// The vendor and key the config holds, as the server sees them.
    #[command(after_help = "Example:\n  mp whoami --json")]
    Whoami,
    /// Check the server: reachable, the key accepted, the same contract, the clocks agree.
    #[command(after_help = "Example:\n  mp doctor")]
    Doctor,
    /// Dataset rounds: list them, read one, download its files.
    #[command(subcommand)]
    Data(DataCommand),
    /// Training runs: start, follow, stop, list, and report a byoc run's results.
    #[command(subcommand)]
    Train(TrainCommand),
    /// Register a model version (a new model, or a new version of one you have).
    #[command(
        after_help = "Example:\n  mp register --name eurusd-momentum --version 1.0.0 --run run_000001"
    )]
    Register(RegisterArgs),
    /// Deploy a version: prints the deployment token once, or writes it to a 0600 env file.
    #[command(
        after_help = "Example:\n  mp deploy --model eurusd-momentum --version 1.0.0 --endpoint http://127.0.0.1:8080 --env-file deploy.env"
    )]
    Deploy(DeployArgs),
    /// Send one heartbeat for a deployment, with its token.
    #[command(
        after_help = "Example:\n  mp heartbeat --status ready --env-file deploy.env\n  MP_DEPLOYMENT_TOKEN=sit_... MP_DEPLOYMENT_ID=dep_000001 mp heartbeat --status ready"
    )]
    Heartbeat(HeartbeatArgs),
    /// Write a template into DIR: `signal-http` (a model server) or `signal-train` (the byoc
    /// training script); with --from-run, the run's model artifact beside it.
    #[command(
        after_help = "Example:\n  mp init --template signal-http my-model --from-run run_000001\n  mp init --template signal-train my-training"
    )]
    Init {
        #[arg(long)]
        template: String,
        dir: PathBuf,
        /// Download this succeeded run's model artifact to DIR/model.json (its SHA-256 checked).
        #[arg(long, value_name = "RUN_ID")]
        from_run: Option<String>,
        /// Write into a folder that is not empty, replacing the template's files.
        #[arg(long)]
        force: bool,
    },
    /// Run a template's model server on a free port and print its URL; stop it with Ctrl-C.
    #[command(after_help = "Example:\n  mp dev my-model\n  mp dev my-model --port 8080")]
    Dev {
        dir: PathBuf,
        #[arg(long, default_value_t = 0)]
        port: u16,
    },
    /// Check a running model server against the model-server contract of the manifest.
    #[command(
        after_help = "Example:\n  mp validate --url http://127.0.0.1:8080 --junit validate.xml"
    )]
    Validate {
        #[arg(long, value_name = "URL")]
        url: String,
        #[arg(long, default_value = "signal")]
        task: String,
        /// Also write the checks as a JUnit XML file.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
    },
    /// Give a deployment a new token and write the env file its model server reads to send
    /// heartbeats and signals (mode 0600).
    #[command(
        after_help = "Example:\n  mp link-infra --deployment dep_000001 --env-file my-model/mp.env"
    )]
    LinkInfra {
        #[arg(long, value_name = "DEPLOYMENT_ID")]
        deployment: String,
        #[arg(long, value_name = "FILE", default_value = "mp.env")]
        env_file: PathBuf,
        /// Revoke the deployment's earlier tokens at once.
        #[arg(long)]
        revoke_previous: bool,
    },
    /// The public catalog: models in pilot or prod, their status and signals.
    #[command(after_help = "Example:\n  mp catalog --task signal --stage prod")]
    Catalog {
        #[arg(long)]
        task: Option<String>,
        #[arg(long)]
        stage: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// The rounds, newest last.
    #[command(after_help = "Example:\n  mp data list")]
    List,
    /// One round: its files, sizes and SHA-256.
    #[command(after_help = "Example:\n  mp data info --round current")]
    Info {
        #[arg(long, default_value = "current")]
        round: String,
    },
    /// Download a round's files through signed URLs, checking each SHA-256; a partial file is
    /// resumed.
    #[command(after_help = "Example:\n  mp data pull --round current --out data/")]
    Pull {
        #[arg(long, default_value = "current")]
        round: String,
        /// The folder the files go to (created when missing).
        #[arg(long, default_value = ".")]
        out: PathBuf,
        /// Only these files (repeatable); every file of the round when none is given.
        #[arg(long = "file", value_name = "NAME")]
        files: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum TrainCommand {
    /// Start a training run.
    #[command(
        after_help = "Example:\n  mp train start --task signal --round current --hp epochs=20 --hp lr=0.1 --seed 7"
    )]
    Start(StartArgs),
    /// A run's status and metrics.
    #[command(after_help = "Example:\n  mp train status run_000001")]
    Status { run_id: String },
    /// A run's log; with --follow, every line as it is written, exiting 0 when the run
    /// succeeds and 1 otherwise.
    #[command(after_help = "Example:\n  mp train logs run_000001 --follow")]
    Logs {
        run_id: String,
        #[arg(long)]
        follow: bool,
        /// Only the lines after this one.
        #[arg(long, default_value_t = 0)]
        since: u64,
    },
    /// Cancel a queued or running run.
    #[command(after_help = "Example:\n  mp train stop run_000001")]
    Stop { run_id: String },
    /// Your runs, oldest first.
    #[command(after_help = "Example:\n  mp train list --status succeeded")]
    List {
        #[arg(long)]
        status: Option<String>,
    },
    /// Report the results of a byoc run trained on your machine.
    #[command(after_help = "Example:\n  mp train report run_000002 --metrics metrics.json")]
    Report {
        run_id: String,
        /// A JSON object of metric name to number.
        #[arg(long, value_name = "FILE")]
        metrics: PathBuf,
        #[arg(long)]
        hf_repo_id: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct StartArgs {
    #[arg(long, default_value = "signal")]
    pub task: String,
    #[arg(long, default_value = "current")]
    pub round: String,
    /// A hyperparameter, `name=value` (repeatable).
    #[arg(long = "hp", value_name = "NAME=VALUE")]
    pub hyperparams: Vec<String>,
    #[arg(long, default_value = "local")]
    pub provider: String,
    #[arg(long)]
    pub max_hours: Option<f64>,
    #[arg(long)]
    pub seed: Option<u64>,
}

#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// The model's name; a model of yours with this name gains a version.
    #[arg(long)]
    pub name: String,
    #[arg(long)]
    pub version: String,
    /// A succeeded training run: the version takes its metrics (and its task).
    #[arg(long, value_name = "RUN_ID")]
    pub run: Option<String>,
    /// The task of a new model [default: the run's, else signal].
    #[arg(long)]
    pub task: Option<String>,
    #[arg(long)]
    pub description: Option<String>,
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    /// The model, by id or by name.
    #[arg(long)]
    pub model: String,
    /// The version, by id or by version name.
    #[arg(long)]
    pub version: String,
    /// Where the deployment's model server answers.
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Write the token here (mode 0600) instead of printing it.
    #[arg(long, value_name = "FILE")]
    pub env_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct HeartbeatArgs {
    /// `ready`, `pending`, `error` or `maintenance`.
    #[arg(long, default_value = "ready")]
    pub status: String,
    #[arg(long)]
    pub message: Option<String>,
    /// The env file `mp deploy --env-file` wrote; else MP_DEPLOYMENT_TOKEN and MP_DEPLOYMENT_ID.
    #[arg(long, value_name = "FILE")]
    pub env_file: Option<PathBuf>,
}
