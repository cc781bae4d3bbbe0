//! Where a round's files live: `<data dir>/rounds/<round id>/<name>`, written whole (a temporary
//! name, then a rename) so that a reader never sees half a file. The store holds what a round
//! is; these are its bytes.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::dataset::{self, FEATURES, GeneratedFile, Recipe};
use super::types::{DatasetRound, FileKind, RoundFile, RoundMetadata};

/// The version of the round format these files follow.
pub const SCHEMA_VERSION: u32 = 1;

/// A round's folder.
pub fn round_dir(data_dir: &Path, round_id: &str) -> PathBuf {
    data_dir.join("rounds").join(round_id)
}

/// One file of a round, on disk.
pub fn file_path(data_dir: &Path, round_id: &str, name: &str) -> PathBuf {
    round_dir(data_dir, round_id).join(name)
}

/// A training run's model artifact: `<data dir>/training/<run id>/model.json`.
pub fn artifact_path(data_dir: &Path, run_id: &str) -> PathBuf {
    data_dir.join("training").join(run_id).join("model.json")
}

/// Writes a run's artifact whole.
pub fn write_artifact(data_dir: &Path, run_id: &str, bytes: &[u8]) -> std::io::Result<()> {
    let path = artifact_path(data_dir, run_id);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    write_whole(&path, bytes)
}

fn write_whole(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let partial = path.with_extension("partial");
    let mut file = std::fs::File::create(&partial)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(partial, path)
}

/// What `round.json` of a round folder says (the files are listed by what is there).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoundManifest {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub metadata: RoundMetadata,
}

/// The round of a generated recipe, its files written under `data_dir`.
pub fn write_generated(
    data_dir: &Path,
    round_id: &str,
    recipe: &Recipe,
    name: &str,
    description: Option<&str>,
    created_at: &str,
    is_current: bool,
) -> std::io::Result<DatasetRound> {
    let (files, samples) = dataset::files(recipe);
    let dir = round_dir(data_dir, round_id);
    std::fs::create_dir_all(&dir)?;
    for file in &files {
        write_whole(&dir.join(file.name), &file.bytes)?;
    }
    Ok(DatasetRound {
        round_id: round_id.to_owned(),
        name: name.to_owned(),
        description: description.map(str::to_owned),
        schema_version: SCHEMA_VERSION,
        is_current,
        created_at: created_at.to_owned(),
        expires_at: None,
        files: files.iter().map(round_file).collect(),
        metadata: metadata_of(recipe, samples),
    })
}

fn round_file(file: &GeneratedFile) -> RoundFile {
    RoundFile {
        name: file.name.to_owned(),
        kind: FileKind::parse(file.kind).unwrap_or(FileKind::Features),
        size_bytes: file.bytes.len() as u64,
        format: "csv".to_owned(),
        sha256: file.sha256(),
    }
}

/// A recipe's metadata: symbols, timeframe, features, samples, and the recipe itself.
pub fn metadata_of(recipe: &Recipe, samples: usize) -> RoundMetadata {
    let mut generated = BTreeMap::new();
    generated.insert("seed".to_owned(), serde_json::json!(recipe.seed));
    generated.insert("symbols".to_owned(), serde_json::json!(recipe.symbols));
    generated.insert("bars".to_owned(), serde_json::json!(recipe.bars));
    generated.insert(
        "timeframe".to_owned(),
        serde_json::json!(recipe.timeframe.as_str()),
    );
    RoundMetadata {
        symbols: recipe.symbols.clone(),
        timeframes: vec![recipe.timeframe],
        features: FEATURES.map(str::to_owned).to_vec(),
        features_count: FEATURES.len() as u64,
        samples_count: samples as u64,
        generated: Some(generated),
    }
}

/// The files of a round folder made by `marketref rounds generate` (or by hand, in its shape):
/// `round.json` and the CSV files it is read with.
pub const ROUND_FILES: [(&str, FileKind); 4] = [
    ("train.csv", FileKind::Train),
    ("validation.csv", FileKind::Validation),
    ("test.csv", FileKind::Test),
    ("features.csv", FileKind::Features),
];

/// Writes a generated round to a folder of its own, as `rounds generate` does: its files and a
/// `round.json`.
pub fn write_folder(out: &Path, recipe: &Recipe, name: &str) -> std::io::Result<Vec<RoundFile>> {
    let (files, samples) = dataset::files(recipe);
    std::fs::create_dir_all(out)?;
    for file in &files {
        write_whole(&out.join(file.name), &file.bytes)?;
    }
    let manifest = RoundManifest {
        name: name.to_owned(),
        description: Some(format!(
            "Synthetic {} bars of {} (seed {}).",
            recipe.timeframe.as_str(),
            recipe.symbols.join(", "),
            recipe.seed
        )),
        metadata: metadata_of(recipe, samples),
    };
    let text = crate::json::canonical_of(&manifest).map_err(std::io::Error::other)?;
    write_whole(&out.join("round.json"), text.as_bytes())?;
    Ok(files.iter().map(round_file).collect())
}

/// Copies a round folder into `data_dir` under `round_id`, with each file's size and SHA-256
/// computed from its bytes.
pub fn publish_folder(
    data_dir: &Path,
    source: &Path,
    round_id: &str,
    created_at: &str,
    is_current: bool,
) -> Result<DatasetRound, String> {
    let manifest_path = source.join("round.json");
    let text = std::fs::read_to_string(&manifest_path)
        .map_err(|e| format!("{}: {e}", manifest_path.display()))?;
    let manifest: RoundManifest =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", manifest_path.display()))?;
    let dir = round_dir(data_dir, round_id);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut files = Vec::new();
    for (name, kind) in ROUND_FILES {
        let path = source.join(name);
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        write_whole(&dir.join(name), &bytes).map_err(|e| format!("{}: {e}", dir.display()))?;
        files.push(RoundFile {
            name: name.to_owned(),
            kind,
            size_bytes: bytes.len() as u64,
            format: "csv".to_owned(),
            sha256: hex::encode(Sha256::digest(&bytes)),
        });
    }
    Ok(DatasetRound {
        round_id: round_id.to_owned(),
        name: manifest.name,
        description: manifest.description,
        schema_version: SCHEMA_VERSION,
        is_current,
        created_at: created_at.to_owned(),
        expires_at: None,
        files,
        metadata: manifest.metadata,
    })
}
