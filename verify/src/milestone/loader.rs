//! [`load`]: the file read and parsed, then resolved against the manifest and the registry
//! section by section (id, clock, operations, floor, actors, seed, scenarios, pin), every
//! problem collected rather than the first returned.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use marketref::clock::parse_rfc3339;
use marketref::manifest::{Manifest, Operation, ROUTER_REASONS};
use marketref::reason::Reason;
use serde_json::Value;
use serde_saphyr::{Location, Spanned};
use time::OffsetDateTime;

use super::hints::{closest, unknown_reason_hint};
use super::raw::RawMilestone;
use super::source::{Source, yaml_options};
use super::{Actor, Milestone, PinnedOutcome, SEED_SCENARIO, Scenario, is_name};
use crate::error::{Error, ErrorKind};
use crate::rules::Rule;

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

pub(super) struct Loader<'a> {
    pub(super) source: &'a Source<'a>,
    pub(super) manifest: &'static Manifest,
    /// The milestone file's folder: relative fixture and body paths start here.
    dir: PathBuf,
    pub(super) errors: Vec<Error>,
}

/// What steps may refer to while they are checked.
pub(super) struct Context<'c> {
    pub(super) milestone_id: &'c str,
    pub(super) listed: &'c BTreeSet<String>,
    pub(super) actors: &'c BTreeMap<String, Actor>,
    pub(super) clock: &'c str,
    /// Captures set by earlier steps, with the step that sets them.
    pub(super) captures: BTreeMap<String, String>,
    /// Operations some step calls.
    pub(super) called: BTreeSet<String>,
    /// Every listed operation is known (else "not listed" errors would only repeat that one).
    pub(super) listed_complete: bool,
    /// Unlisted operations already reported, so that each is reported once.
    pub(super) reported_unlisted: BTreeSet<String>,
    /// Steps being checked load the seed (its API steps), whose operations need not be listed.
    pub(super) seed_loading: bool,
}

impl Loader<'_> {
    pub(super) fn error(
        &mut self,
        at: &Location,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
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
            if self.known_operation(entry).is_some() && !listed.insert(entry.value.clone()) {
                self.error(
                    &entry.referenced,
                    format!("operation `{}` is listed twice", entry.value),
                    "list each operation once",
                );
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
            seed_loading: false,
        };
        let advisory = self.advisory(&raw.advisory);
        let mut scenarios = Vec::new();
        let mut seed = raw.seed;
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
        let mut seeded = None;
        for scenario in raw.scenarios {
            // The seed is checked where it runs: after the scenarios that run before it, so
            // that captures are checked in run order.
            if !scenario.before_seed
                && let Some(seed) = seed.take()
            {
                seeded = Some(self.seed(seed, &mut context));
            }
            if scenario.before_seed && seeded.is_some() {
                self.error(
                    &scenario.name.referenced,
                    format!(
                        "scenario `{}` runs `before_seed` but follows a scenario that does not",
                        scenario.name.value
                    ),
                    "put the scenarios that run before the seed first: file order is run order",
                );
            } else if scenario.before_seed && seed.is_none() {
                self.error(
                    &scenario.name.referenced,
                    format!(
                        "scenario `{}` runs `before_seed`, but there is no `seed:`",
                        scenario.name.value
                    ),
                    "remove `before_seed`, or give the milestone a seed",
                );
            }
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
                before_seed: scenario.before_seed,
                steps,
            });
        }
        if let Some(seed) = seed.take() {
            seeded = Some(self.seed(seed, &mut context));
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
            seed: seeded,
            scenarios,
            advisory,
            expected_outcome,
            text: String::new(),
        }
    }

    fn advisory(&mut self, entries: &[Spanned<String>]) -> BTreeSet<Rule> {
        let mut rules = BTreeSet::new();
        for entry in entries {
            match Rule::from_name(&entry.value) {
                Some(rule) if !rules.insert(rule) => self.error(
                    &entry.referenced,
                    format!("`{}` is listed twice", entry.value),
                    "list each rule once",
                ),
                Some(_) => {}
                None => {
                    let names: Vec<&str> = Rule::ALL.iter().map(|rule| rule.name()).collect();
                    let hint = match closest(&entry.value, &names) {
                        Some(best) => {
                            format!("did you mean `{best}`? `advisory` names contract rules")
                        }
                        None => format!("`advisory` names contract rules: {}", names.join(", ")),
                    };
                    self.error(
                        &entry.referenced,
                        format!("unknown contract rule `{}`", entry.value),
                        hint,
                    );
                }
            }
        }
        rules
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

    pub(super) fn json_file(&mut self, file: &Spanned<String>) -> Option<Value> {
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
}
