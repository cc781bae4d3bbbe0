//! The drift gate: committed contract files against generated ones, the manifest against its
//! schema and the handlers, and every example against its schema.

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;

use serde_json::Value;
use similar::TextDiff;

use crate::error::{Error, ErrorEnvelope, ErrorKind};
use crate::manifest::{MANIFEST_PATH, MANIFEST_YAML, Manifest, Operation};
use crate::reason::ReasonRegistry;

use super::openapi;
use super::schemas::{self, Direction};

/// Where the committed examples live.
pub const EXAMPLES_DIR: &str = "fixtures/examples";

/// A generated file and the text it must have.
#[derive(Clone, Debug)]
pub struct GeneratedFile {
    /// Relative to the repository root.
    pub path: String,
    pub contents: String,
}

/// Pretty JSON with a final newline: the committed form.
fn pretty(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

/// Every file `contracts write` produces, from the code and the given manifest.
pub fn generated_files(manifest: &Manifest) -> Vec<GeneratedFile> {
    let mut files: Vec<GeneratedFile> = schemas::all()
        .iter()
        .map(|schema| GeneratedFile {
            path: schema.path(),
            contents: pretty(&schema.schema),
        })
        .collect();
    files.push(GeneratedFile {
        path: "schemas/reason_codes.json".to_owned(),
        contents: pretty(&serde_json::to_value(ReasonRegistry::current()).unwrap_or_default()),
    });
    files.push(GeneratedFile {
        path: openapi::COMMITTED_PATH.to_owned(),
        contents: pretty(&openapi::document(manifest, false)),
    });
    files
}

/// What is wrong, one entry per file or example.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    pub kind: ProblemKind,
    pub message: String,
    /// A unified diff (committed, then generated) for drifted files.
    pub diff: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProblemKind {
    /// A generated file differs from its committed copy.
    Drifted,
    /// A generated file has no committed copy.
    Missing,
    /// A committed schema file is no longer generated.
    Stale,
    /// The manifest breaks its schema or a cross-field rule, or disagrees with the handlers.
    Manifest,
    /// An example fails its schema, or its file is missing or not JSON.
    Example,
    /// A file under `fixtures/examples/` that no operation lists.
    Unreferenced,
}

/// The outcome of [`check`]: empty when the contract holds.
#[derive(Clone, Debug, Default)]
pub struct CheckReport {
    pub problems: Vec<Problem>,
    pub files_checked: usize,
    pub examples_checked: usize,
}

impl CheckReport {
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }

    fn push(&mut self, path: impl Into<String>, kind: ProblemKind, message: impl Into<String>) {
        self.problems.push(Problem {
            path: path.into(),
            kind,
            message: message.into(),
            diff: None,
        });
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for problem in &self.problems {
            writeln!(
                f,
                "{}: {:?}: {}",
                problem.path, problem.kind, problem.message
            )?;
            if let Some(diff) = &problem.diff {
                writeln!(f, "{diff}")?;
            }
        }
        write!(
            f,
            "contracts: {} generated files, {} examples checked, {} problem(s)",
            self.files_checked,
            self.examples_checked,
            self.problems.len()
        )
    }
}

/// Checks the repository at `root`. Only an unreadable tree is an `Err`; every contract
/// failure is a [`Problem`] in the report.
pub fn check(root: &Path) -> Result<CheckReport, Error> {
    let mut report = CheckReport::default();
    let manifest_text = repository_manifest(root)?;
    if manifest_text != MANIFEST_YAML {
        report.push(
            MANIFEST_PATH,
            ProblemKind::Manifest,
            "differs from the manifest built into this binary; rebuild (cargo build) and check again",
        );
    }
    let manifest = check_manifest(&manifest_text, &mut report);
    let Some(manifest) = manifest else {
        return Ok(report);
    };

    let generated = generated_files(&manifest);
    report.files_checked = generated.len();
    for file in &generated {
        match read(root, &file.path)? {
            None => report.push(
                &file.path,
                ProblemKind::Missing,
                "not committed; run `marketref contracts write`",
            ),
            Some(committed) if committed != file.contents => {
                let diff = TextDiff::from_lines(&committed, &file.contents)
                    .unified_diff()
                    .context_radius(3)
                    .header(
                        &format!("{} (committed)", file.path),
                        &format!("{} (generated)", file.path),
                    )
                    .to_string();
                report.problems.push(Problem {
                    path: file.path.clone(),
                    kind: ProblemKind::Drifted,
                    message: "differs from the generated schema; run `marketref contracts write` if the change is intended".to_owned(),
                    diff: Some(diff),
                });
            }
            Some(_) => {}
        }
    }
    for stale in stale_schema_files(root, &generated)? {
        report.push(
            stale,
            ProblemKind::Stale,
            "no type generates this schema any more; delete it",
        );
    }
    check_examples(root, &manifest, &mut report)?;
    Ok(report)
}

/// Writes every generated file and deletes stale schema files. Returns the paths written.
pub fn write(root: &Path) -> Result<Vec<String>, Error> {
    repository_manifest(root)?;
    let manifest = Manifest::parse(MANIFEST_YAML)?;
    let generated = generated_files(&manifest);
    let mut written = Vec::new();
    for file in &generated {
        let path = root.join(&file.path);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(file.contents.as_str()) {
            std::fs::write(&path, &file.contents).map_err(|e| Error::io(&path, e))?;
            written.push(file.path.clone());
        }
    }
    for stale in stale_schema_files(root, &generated)? {
        let path = root.join(&stale);
        std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
        written.push(format!("{stale} (deleted)"));
    }
    Ok(written)
}

/// The committed manifest under `root`, which must be the repository: a folder without one is
/// refused before anything is compared or written there.
fn repository_manifest(root: &Path) -> Result<String, Error> {
    read(root, MANIFEST_PATH)?.ok_or_else(|| {
        Error::new(
            ErrorKind::Config,
            format!(
                "{MANIFEST_PATH} was not found under {}: run this from the repository root, or pass --root <repository>",
                if root == Path::new(".") {
                    "the current folder".to_owned()
                } else {
                    root.display().to_string()
                }
            ),
        )
    })
}

fn read(root: &Path, relative: &str) -> Result<Option<String>, Error> {
    let path = root.join(relative);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some(text)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(Error::io(&path, error)),
    }
}

fn stale_schema_files(root: &Path, generated: &[GeneratedFile]) -> Result<Vec<String>, Error> {
    let dir = root.join("schemas");
    let wanted: BTreeSet<&str> = generated.iter().map(|file| file.path.as_str()).collect();
    let mut stale = Vec::new();
    let entries = std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(&dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let relative = format!("schemas/{name}");
        if name.ends_with(".schema.json") && !wanted.contains(relative.as_str()) {
            stale.push(relative);
        }
    }
    stale.sort();
    Ok(stale)
}

/// Parses the manifest text, validates it against its own schema and the cross-field rules,
/// and checks that schemas and handlers exist for it.
fn check_manifest(text: &str, report: &mut CheckReport) -> Option<Manifest> {
    let as_json: Value = match serde_saphyr::from_str(text) {
        Ok(value) => value,
        Err(error) => {
            report.push(
                MANIFEST_PATH,
                ProblemKind::Manifest,
                format!("not YAML: {error}"),
            );
            return None;
        }
    };
    let validator =
        schemas::named("Manifest").and_then(|schema| jsonschema::draft202012::new(&schema).ok());
    if let Some(validator) = validator {
        for error in validator.iter_errors(&as_json) {
            report.push(
                MANIFEST_PATH,
                ProblemKind::Manifest,
                format!("at {}: {error}", error.instance_path().as_str()),
            );
        }
    }
    let manifest = match Manifest::parse(text) {
        Ok(manifest) => manifest,
        Err(error) => {
            report.push(MANIFEST_PATH, ProblemKind::Manifest, error.message());
            return None;
        }
    };
    // Every schema the manifest names is generated, in the direction it names it in: the
    // operations', and the model-server contract's.
    let named = manifest
        .operations
        .iter()
        .map(|op| {
            (
                op.operation_id.clone(),
                op.request_schema.as_ref(),
                &op.response_schema,
            )
        })
        .chain(manifest.model_server.iter().flat_map(|contract| {
            contract.endpoints.iter().map(|endpoint| {
                (
                    format!("model_server.{}", endpoint.name),
                    endpoint.request_schema.as_ref(),
                    &endpoint.response_schema,
                )
            })
        }));
    for (owner, request, response) in named {
        let wanted = request
            .map(|name| (name, Direction::Request))
            .into_iter()
            .chain([(response, Direction::Response)]);
        for (name, direction) in wanted {
            let known = schemas::all()
                .iter()
                .any(|schema| schema.name == *name && schema.direction == direction);
            if !known {
                report.push(
                    MANIFEST_PATH,
                    ProblemKind::Manifest,
                    format!("{owner}: no generated {direction:?} schema named `{name}`"),
                );
            }
        }
    }
    if let Err(error) = crate::http::bind_operations(&manifest, crate::domain::ALL) {
        report.push(MANIFEST_PATH, ProblemKind::Manifest, error.message());
    }
    Some(manifest)
}

fn check_examples(root: &Path, manifest: &Manifest, report: &mut CheckReport) -> Result<(), Error> {
    let mut referenced = BTreeSet::new();
    for operation in &manifest.operations {
        for example in &operation.examples {
            let is_failure = example.status.unwrap_or(operation.success_status) >= 400;
            if let Some(path) = &example.request {
                referenced.insert(path.clone());
                // The request of a failure example is invalid on purpose.
                if let (Some(schema), false) = (&operation.request_schema, is_failure) {
                    check_example(root, path, schema, schemas::named(schema), report)?;
                }
            }
            if let Some(path) = &example.response {
                referenced.insert(path.clone());
                let (label, schema) = if is_failure {
                    ("ErrorEnvelope", schemas::named("ErrorEnvelope"))
                } else {
                    (
                        operation.response_schema.as_str(),
                        schemas::answer_schema(operation),
                    )
                };
                if check_example(root, path, label, schema, report)? && is_failure {
                    check_example_reason(root, path, operation, report)?;
                }
            }
        }
    }
    let dir = root.join(EXAMPLES_DIR);
    for path in files_under(&dir)? {
        let relative = path
            .strip_prefix(root)
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .unwrap_or_default();
        if !referenced.contains(&relative) {
            report.push(
                relative,
                ProblemKind::Unreferenced,
                "no operation in the manifest lists this example",
            );
        }
    }
    Ok(())
}

/// Validates one example file; true when it is valid.
fn check_example(
    root: &Path,
    path: &str,
    schema_name: &str,
    schema: Option<Value>,
    report: &mut CheckReport,
) -> Result<bool, Error> {
    report.examples_checked += 1;
    let Some(text) = read(root, path)? else {
        report.push(
            path,
            ProblemKind::Example,
            "listed in the manifest but missing",
        );
        return Ok(false);
    };
    let instance: Value = match serde_json::from_str(&text) {
        Ok(value) => value,
        Err(error) => {
            report.push(path, ProblemKind::Example, format!("not JSON: {error}"));
            return Ok(false);
        }
    };
    let Some(schema) = schema else {
        report.push(
            path,
            ProblemKind::Example,
            format!("no schema named `{schema_name}`"),
        );
        return Ok(false);
    };
    let validator = jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .map_err(|e| Error::new(crate::ErrorKind::Contracts, format!("{schema_name}: {e}")))?;
    let mut valid = true;
    for error in validator.iter_errors(&instance) {
        valid = false;
        report.push(
            path,
            ProblemKind::Example,
            format!(
                "fails {schema_name} at instance path `{}`: {error}",
                error.instance_path().as_str()
            ),
        );
    }
    Ok(valid)
}

/// An error example must carry a reason the operation may answer.
fn check_example_reason(
    root: &Path,
    path: &str,
    operation: &Operation,
    report: &mut CheckReport,
) -> Result<(), Error> {
    let text = read(root, path)?.unwrap_or_default();
    if let Ok(envelope) = serde_json::from_str::<ErrorEnvelope>(&text) {
        let reason = envelope.error.details.reason_code;
        if !operation.effective_reasons().contains(&reason) {
            report.push(
                path,
                ProblemKind::Example,
                format!(
                    "reason `{}` is not one {} may answer",
                    reason.code(),
                    operation.operation_id
                ),
            );
        }
    }
    Ok(())
}

fn files_under(dir: &Path) -> Result<Vec<std::path::PathBuf>, Error> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(current) = pending.pop() {
        let entries = match std::fs::read_dir(&current) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
            Err(error) => return Err(Error::io(&current, error)),
        };
        for entry in entries {
            let path = entry.map_err(|e| Error::io(&current, e))?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.file_name().is_some_and(|name| name != ".gitkeep") {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}
