//! `mp init --template NAME DIR [--from-run RUN_ID]`: the templates under `mp/templates/`,
//! compiled into the binary, written out; with `--from-run`, the run's model artifact
//! downloaded beside them through its signed URL and checked against its SHA-256.

use std::fs;
use std::path::Path;

use include_dir::{Dir, DirEntry, include_dir};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::Context;
use crate::client;
use crate::commands::account::text;
use crate::error::{Error, Result};

/// Every template, as committed.
static TEMPLATES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/templates");

/// The templates' names, sorted.
pub fn names() -> Vec<&'static str> {
    let mut names: Vec<&str> = TEMPLATES
        .dirs()
        .filter_map(|dir| dir.path().file_name()?.to_str())
        .collect();
    names.sort_unstable();
    names
}

/// A file of a template that is the vendor's (not what Python leaves behind when its tests
/// ran in the source tree).
fn is_template_file(path: &Path) -> bool {
    !path
        .components()
        .any(|part| part.as_os_str() == "__pycache__")
        && path.extension().is_none_or(|ext| ext != "pyc")
}

/// The files of the template `name`, by path inside it.
pub fn files(name: &str) -> Option<Vec<(&'static Path, &'static [u8])>> {
    let template = TEMPLATES.get_dir(name)?;
    let mut files = Vec::new();
    let mut stack: Vec<&Dir<'static>> = vec![template];
    while let Some(dir) = stack.pop() {
        for entry in dir.entries() {
            match entry {
                DirEntry::Dir(inner) => stack.push(inner),
                DirEntry::File(file) => {
                    let inside = file
                        .path()
                        .strip_prefix(template.path())
                        .unwrap_or(file.path());
                    if is_template_file(inside) {
                        files.push((inside, file.contents()));
                    }
                }
            }
        }
    }
    files.sort_by_key(|(path, _)| *path);
    Some(files)
}

pub fn init(
    context: &Context,
    template: &str,
    dir: &Path,
    from_run: Option<&str>,
    force: bool,
) -> Result<()> {
    let files = files(template).ok_or_else(|| {
        Error::local(format!("there is no template `{template}`"))
            .with_hint(format!("the templates are: {}", names().join(", ")))
    })?;
    let occupied = fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some());
    if occupied && !force {
        return Err(
            Error::local(format!("{} is not empty", dir.display())).with_hint(
                "choose a new folder, or pass --force to write the template's files over it",
            ),
        );
    }
    let mut written = Vec::new();
    for (path, contents) in &files {
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent)
                .map_err(|e| Error::local(format!("creating {}: {e}", parent.display())))?;
        }
        fs::write(&target, contents)
            .map_err(|e| Error::local(format!("writing {}: {e}", target.display())))?;
        written.push(path.display().to_string());
    }
    let artifact = match from_run {
        Some(run_id) => Some(download_artifact(context, run_id, &dir.join("model.json"))?),
        None => None,
    };
    let mut human = format!(
        "wrote the {template} template to {} ({} files)",
        dir.display(),
        written.len()
    );
    if let Some(artifact) = &artifact {
        human.push_str(&format!(
            "\nmodel artifact of {} at {} (sha256 {})",
            artifact["run_id"].as_str().unwrap_or_default(),
            artifact["path"].as_str().unwrap_or_default(),
            artifact["sha256"].as_str().unwrap_or_default()
        ));
    }
    context.out.emit(
        &json!({"template": template, "dir": dir.display().to_string(), "files": written, "artifact": artifact}),
        &human,
    );
    Ok(())
}

/// The run's artifact into `to`, its bytes checked against the run's SHA-256 before they are
/// written.
fn download_artifact(context: &Context, run_id: &str, to: &Path) -> Result<serde_json::Value> {
    let vendor = context.vendor()?;
    let run = vendor.get(&format!("/api/training/runs/{}", client::encode(run_id)))?;
    let (Some(url), Some(sha256)) = (
        run["artifacts"]["model_url"].as_str(),
        run["artifacts"]["sha256"].as_str(),
    ) else {
        return Err(Error::failed(format!(
            "{run_id} has no model artifact ({})",
            text(&run, "status")
        ))
        .with_hint(
            "a local run that succeeded has one: follow it with `mp train logs RUN_ID --follow`",
        ));
    };
    let anonymous = context.anonymous()?;
    let response = anonymous.send(anonymous.request(reqwest::Method::GET, url))?;
    if !response.status().is_success() {
        return Err(client::refused(response));
    }
    let bytes = response
        .bytes()
        .map_err(|e| Error::local(format!("downloading the artifact: {e}")))?;
    let actual = hex::encode(Sha256::digest(&bytes));
    if actual != sha256 {
        return Err(Error::failed(format!(
            "the artifact of {run_id} hashes to {actual}, not the run's {sha256}; nothing was written"
        )));
    }
    fs::write(to, &bytes).map_err(|e| Error::local(format!("writing {}: {e}", to.display())))?;
    Ok(
        json!({"run_id": run_id, "path": to.display().to_string(), "sha256": sha256, "size_bytes": bytes.len()}),
    )
}
