//! What a command prints: with `--json`, one JSON document on stdout and nothing else there;
//! without, lines for people. Progress bars go to stderr, only when stdout is a terminal and
//! neither `--json` nor `--quiet` was given.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

/// Writes a line to stdout, flushed. A reader that went away (`mp ... | head -1`) is no error
/// of the command's: the rest is dropped, where `println!` would panic.
fn print_line(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{text}").and_then(|()| stdout.flush());
}

#[derive(Clone, Copy, Debug)]
pub struct Output {
    pub json: bool,
    /// Progress bars are drawn.
    pub progress: bool,
}

impl Output {
    pub fn new(json: bool, quiet: bool) -> Output {
        Output {
            json,
            progress: !json && !quiet && std::io::stdout().is_terminal(),
        }
    }

    /// The command's result: `document` with `--json`, else `human` (one or more lines).
    pub fn emit(&self, document: &Value, human: &str) {
        if self.json {
            print_line(&document.to_string());
        } else if !human.is_empty() {
            print_line(human.trim_end_matches('\n'));
        }
    }

    /// A line for people while a command works (a followed log's lines); nothing with `--json`.
    pub fn line(&self, text: &str) {
        if !self.json {
            print_line(text);
        }
    }

    /// A bar of `length` bytes, hidden unless progress is shown.
    pub fn bytes_bar(&self, length: u64, name: &str) -> ProgressBar {
        if !self.progress {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new(length);
        let style = ProgressStyle::with_template(
            "{msg:24} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        bar.set_message(name.to_owned());
        bar
    }

    /// A spinner with a message (a followed run's epoch), hidden unless progress is shown.
    pub fn spinner(&self, message: &str) -> ProgressBar {
        if !self.progress {
            return ProgressBar::hidden();
        }
        let spinner = ProgressBar::new_spinner();
        spinner.set_message(message.to_owned());
        spinner.enable_steady_tick(Duration::from_millis(120));
        spinner
    }
}
