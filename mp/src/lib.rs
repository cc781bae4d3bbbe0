//! `mp`, the ML marketplace's vendor CLI. It speaks only the HTTP API of a marketref server
//! (through [`client`]); it never opens a store.
//!
//! - [`cli`]: the command line;
//! - [`config`]: the 0600 config file with the API URL and the vendor key;
//! - [`client`]: requests, the success envelope unwrapped, error envelopes as [`Error`]s;
//! - [`output`]: `--json` or lines for people, and progress bars;
//! - [`commands`]: one module per group of commands.

pub mod checks;
pub mod cli;
pub mod client;
pub mod commands;
pub mod config;
pub mod error;
pub mod output;
pub mod secret;

use std::process::ExitCode;

use clap::Parser;

pub use error::{Error, Result};

use crate::cli::Cli;
use crate::client::Client;
use crate::config::Config;
use crate::output::Output;

/// What every command is given: how to print, and where the server and the key are.
pub struct Context {
    pub out: Output,
    /// `--api-url` or `MP_API_URL`.
    pub api_url: Option<String>,
    pub config: Config,
}

impl Context {
    /// The server's URL: the flag or the environment, else the config's.
    pub fn api_url(&self) -> Result<String> {
        self.api_url
            .clone()
            .or_else(|| self.config.api_url.clone())
            .ok_or_else(|| {
                Error::local("no API URL")
                    .with_hint("run `mp login --api-url URL`, or pass --api-url or MP_API_URL")
            })
    }

    /// A client without a credential (public operations, signed URLs).
    pub fn anonymous(&self) -> Result<Client> {
        Client::new(&self.api_url()?, None)
    }

    /// A client with the config's vendor key.
    pub fn vendor(&self) -> Result<Client> {
        let key = self.config.key.clone().ok_or_else(|| {
            Error::local("not logged in").with_hint("run `mp login --api-url URL --key vk_...`")
        })?;
        Client::new(&self.api_url()?, Some(key))
    }
}

/// Runs `mp` with the process's arguments.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let out = Output::new(cli.json, cli.quiet);
    // `login` writes a new config and `logout` removes it: neither reads the old one, so that
    // both mend a config the others refuse.
    let loaded = match cli.command {
        cli::Command::Login { .. } | cli::Command::Logout => Ok(Config::default()),
        _ => config::load(),
    };
    let result = loaded.and_then(|config| {
        let context = Context {
            out,
            api_url: cli.api_url.clone(),
            config,
        };
        commands::run(&context, cli.command)
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            if out.json && !error.printed {
                println!("{}", error.to_json());
            }
            eprintln!("mp: {error}");
            error.exit_code()
        }
    }
}
