//! The `verify` command: parses the command line, calls [`verify::verify`], maps the result
//! to an exit code.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, ValueEnum};

const EXIT_CODES: &str = "\
Exit codes:
  0  every check passed (gates, steps, reason floors, pinned outcomes, and coverage when asked)
  1  a check failed; the terminal names it and the artifacts hold the details
  2  a milestone file or the command line is wrong (reported with file:line:column and a hint),
     or the verifier could not run at all (an artifacts folder it cannot write); nothing was
     judged";

/// Verify marketref milestones: contract gates, generated auth probes, then every scenario
/// step, against the in-process reference runtime or any server that implements the manifest.
#[derive(Parser, Debug)]
#[command(name = "verify", version, after_help = EXIT_CODES)]
struct Cli {
    /// Milestone files (YAML), or folders whose *.yaml files are milestones. All are loaded and
    /// checked before anything runs. The format is described in docs/milestone-format.md.
    #[arg(required = true, value_name = "FILES_OR_DIRS")]
    paths: Vec<PathBuf>,

    /// Drive the server at this URL (http only) instead of starting the reference runtime in
    /// process on a fresh temporary store. Without the server's dev routes, a milestone is
    /// seeded through its API seed (`seed: api:`), on a server that starts empty.
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,

    /// Run the in-process runtime on Postgres instead of SQLite: each milestone on a new
    /// database made on the server of this URL (postgres://USER@HOST:PORT/DB; the user needs
    /// CREATEDB), dropped after the milestone.
    #[arg(long, value_name = "URL")]
    db: Option<String>,

    /// Artifacts root: results go to DIR/milestones/<id>/<stamp>/ and DIR/milestones/<id>/latest/.
    /// Default: the artifacts/ folder of the repository that holds the first milestone.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,

    /// Also write one JUnit XML report for all milestones to PATH.
    #[arg(long, value_name = "PATH")]
    junit: Option<PathBuf>,

    /// Rewrite expected_outcome_sha256 in each milestone file whose other checks all pass, to
    /// the hash of this run's outcome. Use it when a change of the server's answers is intended.
    #[arg(long)]
    update_expected: bool,

    /// Print, for all the given milestones together, which operations, reason codes (all but
    /// internal_error) and auth rules were exercised and which were not, and write
    /// coverage.json at the artifacts root. Any gap, or a milestone's reason floor not covered,
    /// makes the run fail.
    #[arg(long)]
    coverage: bool,

    /// How to seed each milestone: `dev` through POST /dev/reset and /dev/fixtures, `api`
    /// through the public operations of the milestone's API seed (`seed: api:`), `auto` the
    /// dev routes when the server offers them, else the API seed.
    #[arg(long, value_enum, default_value_t = SeedArg::Auto, value_name = "PATH")]
    seed: SeedArg,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum SeedArg {
    Auto,
    Dev,
    Api,
}

fn main() -> ExitCode {
    // clap prints usage errors and exits 2, and exits 0 after --help and --version.
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            match error.downcast_ref::<verify::Error>() {
                Some(error) => eprint!("{error}"),
                None => eprintln!("error: {error:#}"),
            }
            println!("overall=false");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let options = verify::Options {
        paths: cli.paths,
        base_url: cli.base_url,
        db: cli.db,
        out: cli.out,
        junit: cli.junit,
        update_expected: cli.update_expected,
        coverage: cli.coverage,
        seed: match cli.seed {
            SeedArg::Auto => verify::SeedChoice::Auto,
            SeedArg::Dev => verify::SeedChoice::Dev,
            SeedArg::Api => verify::SeedChoice::Api,
        },
    };
    let mut stdout = std::io::stdout().lock();
    let verdict = verify::verify(&options, &mut stdout)?;
    stdout.flush().context("writing to stdout")?;
    Ok(ExitCode::from(verdict.exit_code()))
}
