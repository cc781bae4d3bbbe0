//! Milestone files: loading, and every check that can be made before a request is sent.
//!
//! [`load`] parses the YAML ([`raw`]) and resolves it against the embedded manifest and the
//! reason-code registry into a [`Milestone`]. Anything wrong (malformed YAML, an unknown key,
//! operation, actor, reason or capture, a bad JSON pointer or regex) is an [`Error`] carrying
//! the file, line and column and a one-line hint. The format is documented key by key in
//! `docs/milestone-format.md`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use marketref::actor::ActorType;
use marketref::clock::parse_rfc3339;
use marketref::manifest::{Manifest, Operation, ROUTER_REASONS};
use marketref::reason::{ErrorClass, Reason};
use regex::Regex;
use serde_json::Value;
use serde_saphyr::{Location, Spanned};
use time::OffsetDateTime;

use crate::error::{Error, ErrorKind, SourceLocation};
use crate::route;
use crate::{pointer, template};

pub mod raw;

use raw::{RawExpect, RawMilestone, RawStep, Text};

/// The name of the scenario the verifier builds from the `seed:` section.
pub const SEED_SCENARIO: &str = "seed";
/// Longest correlation id the runtime echoes (spec section 1 and `x-correlation-id`).
const MAX_CORRELATION_ID: usize = 128;
const FORMAT_DOC: &str = "docs/milestone-format.md";

/// A loaded, checked milestone.
#[derive(Debug)]
pub struct Milestone {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    /// The file as the user named it; used in messages.
    pub display_path: String,
    /// The file, absolute.
    pub path: PathBuf,
    /// The repository root above the file (it holds `schemas/manifest.yaml`).
    pub root: PathBuf,
    /// The file relative to the root, with `/`: what reports record.
    pub relative_path: String,
    /// The request clock sent as `x-now-iso` unless a step says otherwise; also the fixed clock
    /// of the in-process runtime.
    pub clock: String,
    pub clock_instant: OffsetDateTime,
    /// Operations the milestone covers, as listed.
    pub operations: Vec<String>,
    pub reason_floor: Vec<Reason>,
    pub actors: BTreeMap<String, Actor>,
    /// The seed (when there is one) first, then the scenarios in file order.
    pub scenarios: Vec<Scenario>,
    pub expected_outcome: Option<PinnedOutcome>,
    /// The file's text, for `--update-expected`.
    pub text: String,
}

/// `expected_outcome_sha256` and where its value sits in the file.
#[derive(Clone, Debug)]
pub struct PinnedOutcome {
    pub sha256: String,
    pub byte_offset: usize,
    pub byte_len: usize,
}

#[derive(Clone, Debug)]
pub struct Actor {
    pub kind: ActorType,
    pub id: String,
    pub scopes: Vec<String>,
}

#[derive(Debug)]
pub struct Scenario {
    pub name: String,
    pub description: Option<String>,
    pub steps: Vec<Step>,
}

#[derive(Debug)]
pub struct Step {
    pub name: String,
    pub description: Option<String>,
    pub line: u64,
    pub request: RequestSpec,
    pub expect: Expect,
    /// Capture name and the JSON pointer it reads, in file order.
    pub captures: Vec<(String, String)>,
}

impl Step {
    /// The correlation id the verifier sends for this step.
    pub fn correlation_id(milestone: &str, scenario: &str, step: &str) -> String {
        format!("verify:{milestone}:{scenario}:{step}")
    }
}

/// What to send. Strings may hold `${capture}` references, resolved when the step runs.
#[derive(Debug)]
pub struct RequestSpec {
    pub target: RequestTarget,
    /// The operation that answers, when the manifest declares one for this method and path;
    /// a raw step with references in its path is matched when it runs.
    pub operation_id: Option<String>,
    pub query: Vec<(String, String)>,
    pub actor: Option<String>,
    /// Lower-case names; sent after (so they override) the headers the verifier generates.
    pub headers: Vec<(String, String)>,
    pub idempotency_key: Option<String>,
    pub clock: String,
    pub body: Body,
}

#[derive(Debug)]
pub enum RequestTarget {
    Operation {
        operation_id: String,
        params: BTreeMap<String, String>,
    },
    Raw {
        method: String,
        path: String,
    },
}

#[derive(Debug)]
pub enum Body {
    None,
    Json(Value),
    /// Sent byte for byte (malformed JSON on purpose).
    Raw(String),
    /// `text` repeated `times` (an oversized body).
    Repeat {
        text: String,
        times: usize,
    },
}

#[derive(Debug)]
pub struct Expect {
    pub status: u16,
    pub error_code: Option<String>,
    pub reason_code: Option<Reason>,
    /// Lower-case header name and its exact value, or `None` for "absent".
    pub headers: Vec<(String, Option<String>)>,
    pub json: Vec<JsonCheck>,
}

#[derive(Debug)]
pub struct JsonCheck {
    pub at: String,
    pub matcher: Matcher,
}

#[derive(Debug)]
pub enum Matcher {
    Equals(Value),
    /// The number of items of an array or members of an object.
    Count(usize),
    /// A regular expression that a string (or the JSON text of another value) must match.
    Matches(Regex),
    Absent,
}

impl Matcher {
    pub fn describe(&self) -> &'static str {
        match self {
            Matcher::Equals(_) => "equals",
            Matcher::Count(_) => "count",
            Matcher::Matches(_) => "matches",
            Matcher::Absent => "absent",
        }
    }
}

/// The repository root above `path`: the nearest ancestor that holds `schemas/manifest.yaml`.
pub fn find_root(path: &Path) -> Option<PathBuf> {
    path.ancestors()
        .skip(1)
        .find(|dir| dir.join(marketref::manifest::MANIFEST_PATH).is_file())
        .map(Path::to_path_buf)
}

/// Loads and checks one milestone file against the embedded manifest.
pub fn load(path: &Path) -> Result<Milestone, Error> {
    let display_path = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let absolute = std::path::absolute(path).map_err(|e| Error::io(path, e))?;
    let root = find_root(&absolute).ok_or_else(|| {
        Error::usage(format!(
            "{display_path}: no {} in any folder above it",
            marketref::manifest::MANIFEST_PATH
        ))
        .with_hint("milestones live in a marketref repository (usually under milestones/), whose contract files the gates check")
    })?;
    let relative_path = absolute
        .strip_prefix(&root)
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .unwrap_or_else(|_| display_path.clone());
    let source = Source {
        display_path: display_path.clone(),
        text: &text,
    };
    let raw: RawMilestone = serde_saphyr::from_str_with_options(&text, yaml_options())
        .map_err(|error| source.yaml_error(&error))?;
    let mut loader = Loader {
        source: &source,
        manifest: Manifest::embedded(),
        dir: absolute.parent().map(Path::to_path_buf).unwrap_or_default(),
        errors: Vec::new(),
    };
    let milestone = loader.resolve(raw, &display_path, absolute.clone(), root, relative_path);
    match Error::many(loader.errors) {
        Some(error) => Err(error),
        None => Ok(Milestone { text, ..milestone }),
    }
}

/// Milestones carry JSON bodies, so YAML 1.1 surprises are off: only `true`/`false` are
/// booleans (`yes`, `on` and `n` stay text), and `010` or `1_000` stay text rather than
/// becoming numbers nobody meant.
fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        strict_booleans: true,
        leading_zero_numbers_as_strings: true,
        underscored_numbers_as_strings: true,
    }
}

/// The file being loaded, for locations and snippets.
struct Source<'t> {
    display_path: String,
    text: &'t str,
}

impl Source<'_> {
    fn location(&self, at: &Location) -> SourceLocation {
        let line = at.line();
        let line_text = usize::try_from(line)
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|index| self.text.lines().nth(index))
            .map(str::to_owned);
        SourceLocation {
            file: self.display_path.clone(),
            line: line.max(1),
            column: at.column().max(1),
            line_text,
        }
    }

    fn yaml_error(&self, error: &serde_saphyr::Error) -> Error {
        let plain = error.without_snippet().to_string();
        // The plain form ends with " at line L, column C"; the location is reported separately.
        let message = plain
            .rfind(" at line ")
            .map_or(plain.as_str(), |cut| &plain[..cut])
            .to_owned();
        let hint = yaml_hint(&message);
        match error.location() {
            Some(at) if at.line() > 0 => Error::at(self.location(&at), message, hint),
            _ => Error::new(
                ErrorKind::Milestone,
                format!("{}: {message}", self.display_path),
            )
            .with_hint(hint),
        }
    }
}

fn yaml_hint(message: &str) -> String {
    if message.contains("unknown field") {
        format!("remove this key or fix its spelling; {FORMAT_DOC} lists every key")
    } else if message.contains("missing field") {
        format!("add the missing key to this mapping; {FORMAT_DOC} says which keys are required")
    } else if message.contains("duplicate") {
        "a key may appear only once in a mapping; remove one of them".to_owned()
    } else if message.contains("unknown variant") {
        "use one of the values listed in the message".to_owned()
    } else if [
        "indentation",
        "not allowed",
        "while scanning",
        "did not find",
        "unterminated",
        "quoted",
        "end of",
    ]
    .iter()
    .any(|syntax| message.contains(syntax))
    {
        "check the indentation and quoting around this position (quote text that contains `: ` or starts with a special character)".to_owned()
    } else if message.contains("invalid") || message.contains("expected") {
        format!("this value has the wrong type; {FORMAT_DOC} gives the type of each key")
    } else {
        "check the indentation and quoting around this position (quote text that contains `: ` or starts with a special character)".to_owned()
    }
}

struct Loader<'a> {
    source: &'a Source<'a>,
    manifest: &'static Manifest,
    /// The milestone file's folder: relative fixture and body paths start here.
    dir: PathBuf,
    errors: Vec<Error>,
}

/// What steps may refer to while they are checked.
struct Context<'c> {
    milestone_id: &'c str,
    listed: &'c BTreeSet<String>,
    actors: &'c BTreeMap<String, Actor>,
    clock: &'c str,
    /// Captures set by earlier steps, with the step that sets them.
    captures: BTreeMap<String, String>,
    /// Operations some step calls.
    called: BTreeSet<String>,
    /// Every listed operation is known (else "not listed" errors would only repeat that one).
    listed_complete: bool,
    /// Unlisted operations already reported, so that each is reported once.
    reported_unlisted: BTreeSet<String>,
}

impl Loader<'_> {
    fn error(&mut self, at: &Location, message: impl Into<String>, hint: impl Into<String>) {
        let location = self.source.location(at);
        self.errors.push(Error::at(location, message, hint));
    }

    fn resolve(
        &mut self,
        raw: RawMilestone,
        display_path: &str,
        path: PathBuf,
        root: PathBuf,
        relative_path: String,
    ) -> Milestone {
        let id = raw.milestone.value.clone();
        if !is_name(&id) || id.len() > 64 {
            self.error(
                &raw.milestone.referenced,
                format!("milestone id `{id}` is not a plain name"),
                "use letters, digits, `_`, `-` and `.` (at most 64), starting with a letter or digit, like `M111`: it names the artifacts folder",
            );
        }
        let clock_instant = parse_rfc3339(&raw.clock.value).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        if parse_rfc3339(&raw.clock.value).is_none() {
            self.error(
                &raw.clock.referenced,
                format!("`{}` is not an RFC 3339 date-time", raw.clock.value),
                "write the request clock like `2026-02-28T20:00:00Z`",
            );
        }

        let mut listed = BTreeSet::new();
        for entry in &raw.operations {
            match self.manifest.operation(&entry.value) {
                Some(_) if !listed.insert(entry.value.clone()) => self.error(
                    &entry.referenced,
                    format!("operation `{}` is listed twice", entry.value),
                    "list each operation once",
                ),
                Some(_) => {}
                None => {
                    let hint = self.unknown_operation_hint(&entry.value);
                    self.error(
                        &entry.referenced,
                        format!("unknown operation `{}`", entry.value),
                        hint,
                    );
                }
            }
        }
        // An unknown listed operation would make every step that calls the intended one and
        // every reason it answers an error too; the first error is the one to fix.
        let listed_complete = listed.len() == raw.operations.len();
        let reason_floor = self.reason_floor(&raw.reason_floor, &listed, listed_complete);

        let mut actors = BTreeMap::new();
        for (name, actor) in raw.actors {
            if !is_name(&name) || actor.id.trim().is_empty() {
                self.errors.push(
                    Error::new(
                        ErrorKind::Milestone,
                        format!(
                            "{display_path}: actor `{name}` needs a plain name and a non-empty id"
                        ),
                    )
                    .with_hint(
                        "name actors with letters, digits, `_` and `-`, and give each an `id:`",
                    ),
                );
            }
            actors.insert(
                name,
                Actor {
                    kind: actor.kind,
                    id: actor.id,
                    scopes: actor.scopes,
                },
            );
        }

        let mut context = Context {
            milestone_id: &id,
            listed: &listed,
            actors: &actors,
            clock: &raw.clock.value,
            captures: BTreeMap::new(),
            called: BTreeSet::new(),
            listed_complete,
            reported_unlisted: BTreeSet::new(),
        };
        let mut scenarios = Vec::new();
        if let Some(seed) = raw.seed {
            scenarios.push(self.seed(seed, &mut context));
        }
        if raw.scenarios.is_empty() {
            self.errors.push(
                Error::new(
                    ErrorKind::Milestone,
                    format!("{display_path}: `scenarios` is empty"),
                )
                .with_hint("a milestone needs at least one scenario with at least one step"),
            );
        }
        let mut names = BTreeSet::new();
        for scenario in raw.scenarios {
            let name = scenario.name.value.clone();
            if name == SEED_SCENARIO {
                self.error(
                    &scenario.name.referenced,
                    "the scenario name `seed` is reserved",
                    "put seeding steps under `seed: steps:`, or rename this scenario",
                );
            } else if !is_name(&name) {
                self.error(
                    &scenario.name.referenced,
                    format!("scenario name `{name}` is not a plain name"),
                    "use letters, digits, `_`, `-` and `.`: names go into correlation ids and reports",
                );
            } else if !names.insert(name.clone()) {
                self.error(
                    &scenario.name.referenced,
                    format!("scenario `{name}` is declared twice"),
                    "give every scenario its own name",
                );
            }
            if scenario.steps.is_empty() {
                self.error(
                    &scenario.name.referenced,
                    format!("scenario `{name}` has no steps"),
                    "add at least one step",
                );
            }
            let steps = self.steps(&name, scenario.steps, &mut context);
            scenarios.push(Scenario {
                name,
                description: scenario.description,
                steps,
            });
        }

        for entry in &raw.operations {
            if listed.contains(&entry.value) && !context.called.contains(&entry.value) {
                self.error(
                    &entry.referenced,
                    format!("operation `{}` is listed but no step calls it", entry.value),
                    "add a step that calls it, or remove it from `operations`",
                );
            }
        }

        let expected_outcome = raw.expected_outcome_sha256.as_ref().and_then(|pinned| {
            let value = &pinned.value;
            if value.len() != 64
                || !value
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            {
                self.error(
                    &pinned.referenced,
                    "expected_outcome_sha256 is not 64 lower-case hex digits",
                    "run `verify --update-expected FILE` to write it",
                );
                return None;
            }
            let span = pinned.referenced.span();
            let byte_offset = usize::try_from(span.byte_offset()?).ok()?;
            let byte_len = usize::try_from(span.byte_len()?).ok()?;
            // Only an unquoted or simply quoted value is rewritten in place.
            let found = self.source.text.get(byte_offset..byte_offset + byte_len)?;
            let (byte_offset, byte_len) = match found.find(value.as_str()) {
                Some(at) => (byte_offset + at, value.len()),
                None => return None,
            };
            Some(PinnedOutcome {
                sha256: value.clone(),
                byte_offset,
                byte_len,
            })
        });

        Milestone {
            id: id.clone(),
            title: raw.title,
            description: raw.description,
            display_path: display_path.to_owned(),
            path,
            root,
            relative_path,
            clock: raw.clock.value.clone(),
            clock_instant,
            operations: raw
                .operations
                .into_iter()
                .map(|entry| entry.value)
                .collect(),
            reason_floor,
            actors,
            scenarios,
            expected_outcome,
            text: String::new(),
        }
    }

    fn unknown_operation_hint(&self, name: &str) -> String {
        let ids: Vec<&str> = self
            .manifest
            .operations
            .iter()
            .map(|op| op.operation_id.as_str())
            .collect();
        match closest(name, &ids) {
            Some(best) => {
                format!("did you mean `{best}`? operations are declared in schemas/manifest.yaml")
            }
            None => format!(
                "use an operation_id of schemas/manifest.yaml: {}",
                ids.join(", ")
            ),
        }
    }

    fn reason_floor(
        &mut self,
        entries: &[Spanned<String>],
        listed: &BTreeSet<String>,
        listed_complete: bool,
    ) -> Vec<Reason> {
        let answerable: BTreeSet<Reason> = listed
            .iter()
            .filter_map(|id| self.manifest.operation(id))
            .flat_map(Operation::effective_reasons)
            .chain(ROUTER_REASONS)
            .collect();
        let mut floor = Vec::new();
        for entry in entries {
            let Some(reason) = Reason::from_code(&entry.value) else {
                let hint = unknown_reason_hint(&entry.value);
                self.error(
                    &entry.referenced,
                    format!("unknown reason code `{}`", entry.value),
                    hint,
                );
                continue;
            };
            if reason == Reason::InternalError {
                self.error(
                    &entry.referenced,
                    "`internal_error` cannot be in a floor",
                    "internal_error is a bug, never part of a contract; remove it",
                );
            } else if !answerable.contains(&reason) && listed_complete {
                self.error(
                    &entry.referenced,
                    format!("no operation of this milestone may answer `{}`", entry.value),
                    "add the operation that answers it to `operations` (see reason_codes in schemas/manifest.yaml)",
                );
            } else if floor.contains(&reason) {
                self.error(
                    &entry.referenced,
                    format!("`{}` is listed twice", entry.value),
                    "list each reason once",
                );
            } else {
                floor.push(reason);
            }
        }
        floor
    }

    fn seed(&mut self, seed: Spanned<raw::RawSeed>, context: &mut Context<'_>) -> Scenario {
        let at = seed.referenced;
        let seed = seed.value;
        let mut steps = Vec::new();
        let line = at.line();
        if !seed.reset && seed.fixtures.is_empty() && seed.steps.is_empty() {
            self.error(
                &at,
                "`seed` does nothing",
                "give it `fixtures:` or `steps:`, or remove it",
            );
        }
        if seed.reset {
            self.require_listed(
                "dev.reset",
                &at,
                "the seed resets the store first (`reset: true`)",
                context,
            );
            steps.push(Step {
                name: "reset".to_owned(),
                description: Some(
                    "Empty the store, so that the seed starts from nothing.".to_owned(),
                ),
                line,
                request: RequestSpec {
                    target: RequestTarget::Operation {
                        operation_id: "dev.reset".to_owned(),
                        params: BTreeMap::new(),
                    },
                    operation_id: Some("dev.reset".to_owned()),
                    query: Vec::new(),
                    actor: None,
                    headers: Vec::new(),
                    idempotency_key: None,
                    clock: context.clock.to_owned(),
                    body: Body::None,
                },
                expect: self.success("dev.reset"),
                captures: Vec::new(),
            });
        }
        for (index, fixture) in seed.fixtures.iter().enumerate() {
            self.require_listed(
                "dev.fixtures.load",
                &fixture.referenced,
                "the seed loads fixtures",
                context,
            );
            let Some(body) = self.json_file(fixture) else {
                continue;
            };
            steps.push(Step {
                name: format!("fixtures-{}", index + 1),
                description: Some(format!(
                    "Load {} through POST /dev/fixtures.",
                    fixture.value
                )),
                line: fixture.referenced.line(),
                request: RequestSpec {
                    target: RequestTarget::Operation {
                        operation_id: "dev.fixtures.load".to_owned(),
                        params: BTreeMap::new(),
                    },
                    operation_id: Some("dev.fixtures.load".to_owned()),
                    query: Vec::new(),
                    actor: None,
                    headers: Vec::new(),
                    idempotency_key: None,
                    clock: context.clock.to_owned(),
                    body: Body::Json(body),
                },
                expect: self.success("dev.fixtures.load"),
                captures: Vec::new(),
            });
        }
        let mut named = self.steps(SEED_SCENARIO, seed.steps, context);
        for step in &named {
            if steps.iter().any(|generated| generated.name == step.name) {
                self.errors.push(
                    Error::new(
                        ErrorKind::Milestone,
                        format!(
                            "{}:{}: seed step name `{}` is taken by a generated seed step",
                            self.source.display_path, step.line, step.name
                        ),
                    )
                    .with_hint(
                        "`reset` and `fixtures-N` name the generated seed steps; rename this one",
                    ),
                );
            }
        }
        steps.append(&mut named);
        Scenario {
            name: SEED_SCENARIO.to_owned(),
            description: Some("Seed the store before the scenarios run.".to_owned()),
            steps,
        }
    }

    fn success(&self, operation_id: &str) -> Expect {
        Expect {
            status: self
                .manifest
                .operation(operation_id)
                .map_or(200, |op| op.success_status),
            error_code: None,
            reason_code: None,
            headers: Vec::new(),
            json: Vec::new(),
        }
    }

    fn require_listed(
        &mut self,
        operation_id: &str,
        at: &Location,
        why: &str,
        context: &mut Context<'_>,
    ) {
        context.called.insert(operation_id.to_owned());
        if !context.listed.contains(operation_id) && context.listed_complete {
            self.error(
                at,
                format!("{why}, but `{operation_id}` is not in `operations`"),
                format!("add `{operation_id}` to `operations`: a milestone lists every operation it calls"),
            );
        }
    }

    fn json_file(&mut self, file: &Spanned<String>) -> Option<Value> {
        let path = self.dir.join(&file.value);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) => {
                self.error(
                    &file.referenced,
                    format!("cannot read `{}`: {error}", file.value),
                    "paths are relative to the milestone file's folder",
                );
                return None;
            }
        };
        match serde_json::from_str(&text) {
            Ok(value) => Some(value),
            Err(error) => {
                self.error(
                    &file.referenced,
                    format!("`{}` is not JSON: {error}", file.value),
                    "fixture and body files hold one JSON document",
                );
                None
            }
        }
    }

    fn steps(&mut self, scenario: &str, raw: Vec<RawStep>, context: &mut Context<'_>) -> Vec<Step> {
        let mut names = BTreeSet::new();
        let mut steps = Vec::new();
        for step in raw {
            let name = step.name.value.clone();
            if !is_name(&name) {
                self.error(
                    &step.name.referenced,
                    format!("step name `{name}` is not a plain name"),
                    "use letters, digits, `_`, `-` and `.`: names go into correlation ids and reports",
                );
            } else if !names.insert(name.clone()) {
                self.error(
                    &step.name.referenced,
                    format!("step `{name}` appears twice in scenario `{scenario}`"),
                    "give every step of a scenario its own name",
                );
            }
            let correlation = Step::correlation_id(context.milestone_id, scenario, &name);
            if correlation.len() > MAX_CORRELATION_ID {
                self.error(
                    &step.name.referenced,
                    format!("the correlation id `{correlation}` would be longer than {MAX_CORRELATION_ID} characters"),
                    "shorten the milestone, scenario or step name",
                );
            }
            if let Some(step) = self.step(step, context) {
                steps.push(step);
            }
        }
        steps
    }

    #[allow(clippy::too_many_lines)]
    fn step(&mut self, step: RawStep, context: &mut Context<'_>) -> Option<Step> {
        let at = step.name.referenced;
        let mut references: Vec<(String, Location)> = Vec::new();
        let mut note =
            |this: &mut Self, text: &str, location: &Location| match template::references(text) {
                Ok(names) => references.extend(names.into_iter().map(|n| (n, *location))),
                Err(problem) => this.error(
                    location,
                    problem,
                    "write `${name}` to use a capture, `$${` for a literal `${`",
                ),
            };

        // What to call.
        let (target, route_operation) = match (&step.operation, &step.method, &step.path) {
            (Some(operation), None, None) => {
                let Some(op) = self.manifest.operation(&operation.value) else {
                    let hint = self.unknown_operation_hint(&operation.value);
                    self.error(
                        &operation.referenced,
                        format!("unknown operation `{}`", operation.value),
                        hint,
                    );
                    return None;
                };
                let declared: BTreeSet<&str> = op.path_params().into_iter().collect();
                let mut params = BTreeMap::new();
                for (name, value) in &step.params {
                    if !declared.contains(name.as_str()) {
                        self.error(
                            &value.referenced,
                            format!("`{}` has no path parameter `{name}`", op.operation_id),
                            format!(
                                "its path is {}; parameters: {}",
                                op.path,
                                list_or_none(declared.iter().copied())
                            ),
                        );
                    }
                    note(self, &value.value.0, &value.referenced);
                    params.insert(name.clone(), value.value.0.clone());
                }
                for name in &declared {
                    if !params.contains_key(*name) {
                        self.error(
                            &operation.referenced,
                            format!("`{}` needs the path parameter `{name}`", op.operation_id),
                            format!("add `params: {{{name}: ...}}` to the step"),
                        );
                    }
                }
                (
                    RequestTarget::Operation {
                        operation_id: op.operation_id.clone(),
                        params,
                    },
                    Some(op),
                )
            }
            (None, Some(method), Some(path)) => {
                let upper = method.value.to_ascii_uppercase();
                if !["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
                    .contains(&upper.as_str())
                {
                    self.error(
                        &method.referenced,
                        format!("`{}` is not an HTTP method", method.value),
                        "use GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS",
                    );
                }
                if !path.value.starts_with('/') {
                    self.error(
                        &path.referenced,
                        format!("path `{}` does not start with `/`", path.value),
                        "write the path from the server root, like `/healthz`",
                    );
                }
                if path.value.contains('?') {
                    self.error(
                        &path.referenced,
                        "put the query string under `query:`, not in `path:`",
                        "write `query: {limit: 1}`",
                    );
                }
                if !step.params.is_empty() {
                    self.error(
                        &path.referenced,
                        "`params:` belongs to steps that name an `operation:`",
                        "write the concrete path instead",
                    );
                }
                note(self, &path.value, &path.referenced);
                let route = if template::references(&path.value).is_ok_and(|r| r.is_empty()) {
                    route::resolve(self.manifest, &upper, &path.value).operation()
                } else {
                    None
                };
                (
                    RequestTarget::Raw {
                        method: upper,
                        path: path.value.clone(),
                    },
                    route,
                )
            }
            _ => {
                self.error(
                    &at,
                    format!("step `{}` must name either `operation:` or both `method:` and `path:`", step.name.value),
                    "use `operation: <operation_id>` (with `params:`), or a raw `method:` and `path:`",
                );
                return None;
            }
        };
        if let Some(op) = route_operation {
            context.called.insert(op.operation_id.clone());
            if !context.listed.contains(&op.operation_id)
                && context.listed_complete
                && context.reported_unlisted.insert(op.operation_id.clone())
            {
                self.error(
                    &at,
                    format!(
                        "step `{}` calls `{}`, which is not in `operations`",
                        step.name.value, op.operation_id
                    ),
                    format!(
                        "add `{}` to `operations`: a milestone lists every operation it calls",
                        op.operation_id
                    ),
                );
            }
        }

        // Who calls, and how.
        if let Some(actor) = &step.actor
            && !context.actors.contains_key(&actor.value)
        {
            let names: Vec<&str> = context.actors.keys().map(String::as_str).collect();
            let hint = match closest(&actor.value, &names) {
                Some(best) => {
                    format!("did you mean `{best}`? actors are declared under `actors:`")
                }
                None => format!(
                    "declare it under `actors:` (declared: {})",
                    list_or_none(names.iter().copied())
                ),
            };
            self.error(
                &actor.referenced,
                format!("unknown actor `{}`", actor.value),
                hint,
            );
        }
        let mut query = Vec::new();
        for (name, value) in &step.query {
            note(self, &value.value.0, &value.referenced);
            query.push((name.clone(), value.value.0.clone()));
        }
        let mut headers = Vec::new();
        for (name, value) in &step.headers {
            let lower = name.to_ascii_lowercase();
            if reqwest::header::HeaderName::from_bytes(lower.as_bytes()).is_err() {
                self.error(
                    &value.referenced,
                    format!("`{name}` is not an HTTP header name"),
                    "header names are letters, digits and `-`",
                );
            }
            note(self, &value.value.0, &value.referenced);
            headers.push((lower, value.value.0.clone()));
        }
        let idempotency_key = step.idempotency_key.as_ref().map(|key| {
            if let Some(op) = route_operation
                && !op.idempotency.required {
                    self.error(
                        &key.referenced,
                        format!("`{}` is not idempotent, so it takes no idempotency key", op.operation_id),
                        "remove `idempotency_key`, or send the header under `headers:` if that is the point",
                    );
                }
            note(self, &key.value.0, &key.referenced);
            key.value.0.clone()
        });
        let clock = match &step.clock {
            Some(clock) => {
                note(self, &clock.value, &clock.referenced);
                clock.value.clone()
            }
            None => context.clock.to_owned(),
        };

        // The body.
        let given = [
            step.body.as_ref().map(|b| b.referenced),
            step.body_raw.as_ref().map(|b| b.referenced),
            step.body_file.as_ref().map(|b| b.referenced),
            step.body_repeat.as_ref().map(|b| b.referenced),
        ];
        let bodies: Vec<Location> = given.into_iter().flatten().collect();
        if bodies.len() > 1 {
            self.error(
                &bodies[1],
                "a step has at most one of `body`, `body_raw`, `body_file`, `body_repeat`",
                "keep one of them",
            );
        }
        let body = if let Some(body) = &step.body {
            match template::references_in_value(&body.value) {
                Ok(names) => references.extend(names.into_iter().map(|n| (n, body.referenced))),
                Err(problem) => self.error(
                    &body.referenced,
                    problem,
                    "write `${name}` to use a capture",
                ),
            }
            Body::Json(body.value.clone())
        } else if let Some(raw) = &step.body_raw {
            Body::Raw(raw.value.clone())
        } else if let Some(file) = &step.body_file {
            self.json_file(file).map_or(Body::None, Body::Json)
        } else if let Some(repeat) = &step.body_repeat {
            if repeat.value.text.is_empty() || repeat.value.times == 0 {
                self.error(
                    &repeat.referenced,
                    "`body_repeat` needs a non-empty `text` and `times` above 0",
                    "like `body_repeat: {text: \"a\", times: 1048577}`",
                );
            }
            Body::Repeat {
                text: repeat.value.text.clone(),
                times: repeat.value.times,
            }
        } else {
            Body::None
        };
        if let (Some(op), Some(first)) = (route_operation, bodies.first())
            && op.request_schema.is_none()
        {
            self.error(
                first,
                format!("`{}` takes no request body", op.operation_id),
                "remove the body, or use a raw `method:` and `path:` step to send one anyway",
            );
        }

        // What must come back.
        let expect = self.expect(
            step.expect.unwrap_or_default(),
            &at,
            &target,
            route_operation,
            &mut references,
        );

        // Captures, checked after the references so that a step cannot use its own.
        let mut captures = Vec::new();
        for (name, location) in &references {
            if !context.captures.contains_key(name) {
                let names: Vec<&str> = context.captures.keys().map(String::as_str).collect();
                let hint = match closest(name, &names) {
                    Some(best) => format!(
                        "did you mean `${{{best}}}`? a step can use what earlier steps captured"
                    ),
                    None => format!(
                        "capture it in an earlier step with `capture: {{{name}: /json/pointer}}`"
                    ),
                };
                self.error(location, format!("unknown capture `{name}`"), hint);
            }
        }
        for (name, at_pointer) in &step.capture {
            if !template::is_capture_name(name) {
                self.error(
                    &at_pointer.referenced,
                    format!("`{name}` cannot name a capture"),
                    "use letters, digits and `_`, not starting with a digit",
                );
            }
            if let Some(problem) = pointer::problem(&at_pointer.value) {
                self.error(
                    &at_pointer.referenced,
                    format!("bad JSON pointer: {problem}"),
                    pointer::HINT,
                );
            }
            if let Some(previous) = context.captures.get(name) {
                self.error(
                    &at_pointer.referenced,
                    format!("capture `{name}` is already set by step `{previous}`"),
                    "give each capture its own name",
                );
            }
            captures.push((name.clone(), at_pointer.value.clone()));
        }
        for (name, _) in &captures {
            context
                .captures
                .insert(name.clone(), step.name.value.clone());
        }

        Some(Step {
            name: step.name.value,
            description: step.description,
            line: at.line(),
            request: RequestSpec {
                target,
                operation_id: route_operation.map(|op| op.operation_id.clone()),
                query,
                actor: step.actor.map(|actor| actor.value),
                headers,
                idempotency_key,
                clock,
                body,
            },
            expect,
            captures,
        })
    }

    fn expect(
        &mut self,
        raw: RawExpect,
        at: &Location,
        target: &RequestTarget,
        operation: Option<&Operation>,
        references: &mut Vec<(String, Location)>,
    ) -> Expect {
        let allowed: BTreeSet<Reason> = match (operation, target) {
            (Some(op), _) => op.effective_reasons(),
            // A path with `${...}` is only known when the step runs; its answer is still
            // checked against the route it reaches then.
            (None, RequestTarget::Raw { path, .. })
                if !template::references(path).is_ok_and(|names| names.is_empty()) =>
            {
                Reason::ALL.iter().copied().collect()
            }
            (None, RequestTarget::Raw { method, path }) => {
                route::resolve(self.manifest, method, path)
                    .allowed_reasons()
                    .into_iter()
                    .collect()
            }
            (None, RequestTarget::Operation { .. }) => BTreeSet::new(),
        };
        let mut reason_code = None;
        if let Some(code) = &raw.reason_code {
            match Reason::from_code(&code.value) {
                None => {
                    let hint = unknown_reason_hint(&code.value);
                    self.error(
                        &code.referenced,
                        format!("unknown reason code `{}`", code.value),
                        hint,
                    );
                }
                Some(reason) if !allowed.contains(&reason) => {
                    let who = operation.map_or_else(
                        || "this route".to_owned(),
                        |op| format!("`{}`", op.operation_id),
                    );
                    let codes: Vec<&str> = allowed.iter().map(|r| r.code()).collect();
                    self.error(
                        &code.referenced,
                        format!("{who} may not answer `{}`", code.value),
                        format!("it may answer: {}", codes.join(", ")),
                    );
                }
                Some(reason) => reason_code = Some(reason),
            }
        }
        let mut error_code = None;
        if let Some(code) = &raw.error_code {
            match ErrorClass::ALL
                .iter()
                .find(|class| class.code() == code.value)
            {
                None => {
                    let codes: Vec<&str> = ErrorClass::ALL.iter().map(|c| c.code()).collect();
                    self.error(
                        &code.referenced,
                        format!("unknown error code `{}`", code.value),
                        format!("error codes are: {}", codes.join(", ")),
                    );
                }
                Some(class) => {
                    if let Some(reason) = reason_code
                        && reason.class() != *class
                    {
                        self.error(
                            &code.referenced,
                            format!(
                                "`{}` has error code `{}`, not `{}`",
                                reason.code(),
                                reason.class().code(),
                                code.value
                            ),
                            "fix one of the two, or drop `error_code` (the reason implies it)",
                        );
                    }
                    error_code = Some(code.value.clone());
                }
            }
        }
        let status = match (&raw.status, reason_code, operation) {
            (Some(status), reason, _) => {
                if !(100..=599).contains(&status.value) {
                    self.error(
                        &status.referenced,
                        format!("{} is not an HTTP status", status.value),
                        "use a status from 100 to 599",
                    );
                }
                if let Some(reason) = reason
                    && reason.status() != status.value
                {
                    self.error(
                        &status.referenced,
                        format!(
                            "`{}` is answered with {}, not {}",
                            reason.code(),
                            reason.status(),
                            status.value
                        ),
                        "fix the status, or drop it (the reason implies it)",
                    );
                }
                status.value
            }
            (None, Some(reason), _) => reason.status(),
            (None, None, Some(op)) => op.success_status,
            (None, None, None) => {
                self.error(
                    at,
                    "this raw step says neither `expect.status` nor `expect.reason_code`",
                    "a raw step must say what it expects, like `expect: {status: 404}`",
                );
                0
            }
        };
        let mut headers = Vec::new();
        for (name, value) in raw.headers {
            let lower = name.to_ascii_lowercase();
            if reqwest::header::HeaderName::from_bytes(lower.as_bytes()).is_err() {
                self.error(
                    at,
                    format!("`{name}` is not an HTTP header name"),
                    "header names are letters, digits and `-`",
                );
            }
            if let Some(Text(text)) = &value {
                match template::references(text) {
                    Ok(names) => references.extend(names.into_iter().map(|n| (n, *at))),
                    Err(problem) => self.error(
                        at,
                        problem,
                        "write `${name}` to use a capture, `$${` for a literal `${`",
                    ),
                }
            }
            headers.push((lower, value.map(|Text(text)| text)));
        }
        let mut json = Vec::new();
        for check in raw.json {
            if let Some(problem) = pointer::problem(&check.at.value) {
                self.error(
                    &check.at.referenced,
                    format!("bad JSON pointer: {problem}"),
                    pointer::HINT,
                );
            }
            let mut matchers = Vec::new();
            if let Some(value) = check.equals {
                match template::references_in_value(&value) {
                    Ok(names) => {
                        references.extend(names.into_iter().map(|n| (n, check.at.referenced)))
                    }
                    Err(problem) => self.error(
                        &check.at.referenced,
                        problem,
                        "write `${name}` to use a capture",
                    ),
                }
                matchers.push(Matcher::Equals(value));
            }
            if let Some(count) = check.count {
                matchers.push(Matcher::Count(count));
            }
            if let Some(pattern) = &check.matches {
                match Regex::new(&pattern.value) {
                    Ok(regex) => matchers.push(Matcher::Matches(regex)),
                    Err(error) => {
                        let first = error
                            .to_string()
                            .lines()
                            .last()
                            .unwrap_or_default()
                            .trim()
                            .to_owned();
                        self.error(&pattern.referenced, format!("bad regular expression: {first}"), "the syntax is Rust's regex crate; quote the pattern in single quotes so that `\\` stays as it is");
                    }
                }
            }
            match check.absent {
                Some(true) => matchers.push(Matcher::Absent),
                Some(false) => self.error(
                    &check.at.referenced,
                    "`absent: false` checks nothing",
                    "write `absent: true`, or another check (`count`, `matches`, `equals`)",
                ),
                None => {}
            }
            match matchers.len() {
                1 => json.push(JsonCheck {
                    at: check.at.value,
                    matcher: matchers.remove(0),
                }),
                0 if check.matches.is_some() => {}
                0 => self.error(&check.at.referenced, format!("the check at `{}` says nothing to check", check.at.value), "add one of `equals`, `count`, `matches`, `absent: true`"),
                _ => self.error(&check.at.referenced, format!("the check at `{}` has more than one of `equals`, `count`, `matches`, `absent`", check.at.value), "write one check per entry"),
            }
        }
        Expect {
            status,
            error_code,
            reason_code,
            headers,
            json,
        }
    }
}

fn unknown_reason_hint(code: &str) -> String {
    let codes: Vec<&str> = Reason::ALL.iter().map(|r| r.code()).collect();
    match closest(code, &codes) {
        Some(best) => format!(
            "did you mean `{best}`? reason codes are declared in src/reason.rs (schemas/reason_codes.json)"
        ),
        None => "reason codes are declared in src/reason.rs (schemas/reason_codes.json)".to_owned(),
    }
}

fn list_or_none<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let joined = names.into_iter().collect::<Vec<_>>().join(", ");
    if joined.is_empty() {
        "none".to_owned()
    } else {
        joined
    }
}

/// Letters, digits, `_`, `-`, `.`; starting with a letter or digit.
pub fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// The candidate nearest to `name` by edit distance, when it is near enough to be a typo.
fn closest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(2);
    candidates
        .iter()
        .map(|candidate| (edit_distance(name, candidate), *candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min()
        .map(|(_, candidate)| candidate)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            current[j + 1] = (previous[j] + cost)
                .min(previous[j + 1] + 1)
                .min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_get_suggestions() {
        assert_eq!(
            closest(
                "marketplaceMatching.runn",
                &["marketplaceMatching.run", "system.health"]
            ),
            Some("marketplaceMatching.run")
        );
        assert_eq!(closest("zzz", &["marketplaceMatching.run"]), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn names_are_plain() {
        assert!(is_name("M111"));
        assert!(is_name("first-run.replay_1"));
        assert!(!is_name("-x"));
        assert!(!is_name("a b"));
        assert!(!is_name(""));
    }
}
