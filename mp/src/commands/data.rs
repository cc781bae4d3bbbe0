//! `mp data list|info|pull`: dataset rounds and their files.
//!
//! `pull` asks for signed URLs, downloads each file into `NAME.part` beside its destination
//! (resuming a partial one with a range request), hashing it as it is written, checks the
//! SHA-256 against the round's, and
//! only then renames it into place; a file whose hash differs is removed and the command fails.
//! A URL that expired while earlier files downloaded is refreshed once.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::Context;
use crate::client::{self, Client};
use crate::commands::account::text;
use crate::commands::all_pages;
use crate::error::{Error, Result};

/// The reason a signed URL that is no longer good is refused with.
const SIGNED_URL_INVALID: &str = "signed_url_invalid";

pub fn list(context: &Context) -> Result<()> {
    let rounds = all_pages(&context.vendor()?, "/api/rounds", &[])?;
    let human: Vec<String> = rounds
        .iter()
        .map(|round| {
            format!(
                "{:16} {:4} {} files  {}",
                text(round, "round_id"),
                if round["is_current"] == true {
                    "now"
                } else {
                    ""
                },
                round["files"].as_array().map_or(0, Vec::len),
                text(round, "name")
            )
        })
        .collect();
    let human = if human.is_empty() {
        "no rounds yet".to_owned()
    } else {
        human.join("\n")
    };
    context.out.emit(&json!({ "items": rounds }), &human);
    Ok(())
}

fn round_path(round: &str) -> String {
    if round == "current" {
        "/api/rounds/current".to_owned()
    } else {
        format!("/api/rounds/{}", client::encode(round))
    }
}

pub fn info(context: &Context, round: &str) -> Result<()> {
    let round = context.vendor()?.get(&round_path(round))?;
    let mut human = vec![format!(
        "{} {}{}",
        text(&round, "round_id"),
        text(&round, "name"),
        if round["is_current"] == true {
            " (current)"
        } else {
            ""
        }
    )];
    for file in round["files"].as_array().into_iter().flatten() {
        human.push(format!(
            "  {:16} {:>12} bytes  sha256 {}",
            text(file, "name"),
            file["size_bytes"],
            text(file, "sha256")
        ));
    }
    context.out.emit(&round, &human.join("\n"));
    Ok(())
}

/// One file of a signed-URL answer.
struct Signed {
    name: String,
    url: String,
    sha256: String,
    size: u64,
}

fn signed_urls(client: &Client, round: &str, files: &[String]) -> Result<(String, Vec<Signed>)> {
    let mut body = json!({ "round_id": round });
    if !files.is_empty() {
        body["files"] = json!(files);
    }
    let answer = client.post("/api/datasets/signed-urls", &body)?;
    let urls = answer["urls"]
        .as_array()
        .map(|urls| {
            urls.iter()
                .map(|url| Signed {
                    name: text(url, "name").to_owned(),
                    url: text(url, "url").to_owned(),
                    sha256: text(url, "sha256").to_owned(),
                    size: url["size_bytes"].as_u64().unwrap_or(0),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok((text(&answer, "round_id").to_owned(), urls))
}

pub fn pull(context: &Context, round: &str, out: &Path, files: &[String]) -> Result<()> {
    let vendor = context.vendor()?;
    let (round_id, signed) = signed_urls(&vendor, round, files)?;
    fs::create_dir_all(out)
        .map_err(|e| Error::local(format!("creating {}: {e}", out.display())))?;
    let anonymous = context.anonymous()?;
    let mut pulled = Vec::new();
    for file in signed {
        if file.name.contains(['/', '\\']) || file.name.starts_with('.') {
            return Err(Error::failed(format!(
                "the server named a file `{}`: not a plain file name",
                file.name
            )));
        }
        let destination = out.join(&file.name);
        let outcome = pull_file(context, &anonymous, &vendor, &round_id, file, &destination)?;
        pulled.push(outcome);
    }
    let human: Vec<String> = pulled
        .iter()
        .map(|p| {
            format!(
                "{:8} {} ({} bytes{})",
                p["outcome"].as_str().unwrap_or_default(),
                p["path"].as_str().unwrap_or_default(),
                p["size_bytes"],
                if p["resumed_from"].as_u64().unwrap_or(0) > 0 {
                    format!(", resumed at byte {}", p["resumed_from"])
                } else {
                    String::new()
                }
            )
        })
        .collect();
    context.out.emit(
        &json!({"round_id": round_id, "files": pulled}),
        &human.join("\n"),
    );
    Ok(())
}

/// One file into `destination`: skipped when it is there with its hash, else downloaded (or
/// resumed) into `.part`, checked and renamed.
fn pull_file(
    context: &Context,
    anonymous: &Client,
    vendor: &Client,
    round_id: &str,
    mut file: Signed,
    destination: &Path,
) -> Result<Value> {
    let report = |outcome: &str, resumed_from: u64| {
        json!({"name": file.name, "path": destination.display().to_string(), "outcome": outcome,
               "size_bytes": file.size, "sha256": file.sha256, "resumed_from": resumed_from})
    };
    if destination.is_file() && sha256_of(destination)? == file.sha256 {
        return Ok(report("present", 0));
    }
    let part = part_path(destination);
    let mut refreshed = false;
    let (resumed_from, actual) = loop {
        let have = fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
        match download(context, anonymous, &file, &part, have) {
            Err(error) if error.reason_code() == Some(SIGNED_URL_INVALID) && !refreshed => {
                // Expired while the files before it downloaded: ask again, once.
                let (_, mut again) =
                    signed_urls(vendor, round_id, std::slice::from_ref(&file.name))?;
                match again.pop() {
                    Some(fresh) => file.url = fresh.url,
                    None => return Err(error),
                }
                refreshed = true;
            }
            Err(error) => return Err(error),
            Ok(done) => break done,
        }
    };
    if actual != file.sha256 {
        let _ = fs::remove_file(&part);
        return Err(Error::failed(format!(
            "{}: the downloaded bytes hash to {actual}, not the round's {}; the file was removed",
            file.name, file.sha256
        ))
        .with_hint("run `mp data pull` again; if it fails again, the server's copy differs from its record"));
    }
    fs::rename(&part, destination)
        .map_err(|e| Error::local(format!("moving {} into place: {e}", destination.display())))?;
    Ok(report(
        if resumed_from > 0 {
            "resumed"
        } else {
            "pulled"
        },
        resumed_from,
    ))
}

fn part_path(destination: &Path) -> PathBuf {
    let mut name = destination.file_name().unwrap_or_default().to_os_string();
    name.push(".part");
    destination.with_file_name(name)
}

/// Downloads `file` into `part`, from byte `have` when there is a partial file; the byte it
/// resumed from (0 when it started over) and the SHA-256 of the whole file, hashed as it is
/// written (a resumed file's first part read once more).
fn download(
    context: &Context,
    client: &Client,
    file: &Signed,
    part: &Path,
    have: u64,
) -> Result<(u64, String)> {
    let mut request = client.request(reqwest::Method::GET, &file.url);
    let resuming = have > 0 && have < file.size;
    if resuming {
        request = request.header("range", format!("bytes={have}-"));
    }
    let mut response = client.send(request)?;
    let status = response.status().as_u16();
    let mut hasher = Sha256::new();
    let (mut output, from) = match status {
        206 if resuming => {
            hash_into(&mut hasher, part)?;
            (OpenOptions::new().append(true).open(part)?, have)
        }
        200 => (File::create(part)?, 0),
        _ => return Err(client::refused(response)),
    };
    let bar = context.out.bytes_bar(file.size, &file.name);
    bar.set_position(from);
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let read = response
            .read(&mut buffer)
            .map_err(|e| Error::local(format!("downloading {}: {e}", file.name)))?;
        if read == 0 {
            break;
        }
        output.write_all(&buffer[..read])?;
        hasher.update(&buffer[..read]);
        bar.inc(read as u64);
    }
    output.sync_all()?;
    bar.finish_and_clear();
    Ok((from, hex::encode(hasher.finalize())))
}

fn sha256_of(path: &Path) -> Result<String> {
    let mut hasher = Sha256::new();
    hash_into(&mut hasher, path)?;
    Ok(hex::encode(hasher.finalize()))
}

fn hash_into(hasher: &mut Sha256, path: &Path) -> Result<()> {
    let mut file =
        File::open(path).map_err(|e| Error::local(format!("reading {}: {e}", path.display())))?;
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            return Ok(());
        }
        hasher.update(&buffer[..read]);
    }
}
