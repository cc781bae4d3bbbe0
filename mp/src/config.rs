//! The config file: `$XDG_CONFIG_HOME/mp/config.toml` (else `$HOME/.config/mp/config.toml`),
//! holding the API URL and the vendor key. It is written with mode 0600 inside a 0700 folder,
//! atomically (a temporary file renamed over it), and a file or folder that anyone else can
//! read is refused rather than read: a key others could read is a leaked key.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub api_url: Option<String>,
    pub key: Option<String>,
}

/// The folder `mp` keeps its config in.
pub fn dir() -> Result<PathBuf> {
    let base = match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(base) => PathBuf::from(base),
        None => match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
            Some(home) => PathBuf::from(home).join(".config"),
            None => {
                return Err(Error::local("neither XDG_CONFIG_HOME nor HOME is set")
                    .with_hint("set XDG_CONFIG_HOME to the folder mp may keep its config in"));
            }
        },
    };
    Ok(base.join("mp"))
}

pub fn path() -> Result<PathBuf> {
    Ok(dir()?.join("config.toml"))
}

/// The config, or the empty one when there is no file.
pub fn load() -> Result<Config> {
    let path = path()?;
    let metadata = match fs::metadata(&path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
        Err(error) => return Err(Error::local(format!("reading {}: {error}", path.display()))),
    };
    refuse_open(&path, metadata.permissions().mode(), 0o600)?;
    if let Some(parent) = path.parent() {
        let mode = fs::metadata(parent)?.permissions().mode();
        refuse_open(parent, mode, 0o700)?;
    }
    let text = fs::read_to_string(&path)
        .map_err(|e| Error::local(format!("reading {}: {e}", path.display())))?;
    toml::from_str(&text).map_err(|e| {
        Error::local(format!(
            "{} is not a config mp can read: {e}",
            path.display()
        ))
        .with_hint("run `mp login` again to write a new one")
    })
}

/// Refuses a file or folder whose mode lets anyone but its owner read or write it.
pub(crate) fn refuse_open(path: &Path, mode: u32, wanted: u32) -> Result<()> {
    if mode & 0o077 != 0 {
        return Err(Error::local(format!(
            "{} can be read by others (mode {:o}); mp will not use it",
            path.display(),
            mode & 0o777
        ))
        .with_hint(format!(
            "run `chmod {wanted:o} {}`, or `mp logout` and `mp login` again",
            path.display()
        )));
    }
    Ok(())
}

/// Writes the config: the folder 0700 (created, or tightened when it is ours and open), the
/// file 0600, through a temporary file renamed over the old one.
pub fn save(config: &Config) -> Result<PathBuf> {
    let dir = dir()?;
    fs::create_dir_all(&dir)
        .map_err(|e| Error::local(format!("creating {}: {e}", dir.display())))?;
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))
        .map_err(|e| Error::local(format!("setting the mode of {}: {e}", dir.display())))?;
    let path = dir.join("config.toml");
    let text = toml::to_string(config).map_err(|e| Error::local(e.to_string()))?;
    write_private(&path, text.as_bytes())?;
    Ok(path)
}

/// Writes `bytes` to `path` with mode 0600 from its first byte on (never readable by others,
/// not even for a moment), replacing the file atomically.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let written = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temporary, path)
    })();
    written.map_err(|e| {
        let _ = fs::remove_file(&temporary);
        Error::local(format!("writing {}: {e}", path.display()))
    })
}

/// Removes the config file; whether there was one.
pub fn remove() -> Result<bool> {
    let path = path()?;
    match fs::remove_file(&path) {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(error) => Err(Error::local(format!(
            "removing {}: {error}",
            path.display()
        ))),
    }
}
