//! The `seed:` section as a scenario of its own: a reset, one load per fixture file, then the
//! seed's own steps.

use std::collections::BTreeMap;

use serde_saphyr::{Location, Spanned};

use super::loader::{Context, Loader};
use super::raw;
use super::{Body, Expect, RequestSpec, RequestTarget, SEED_SCENARIO, Scenario, Step};
use crate::error::{Error, ErrorKind};

impl Loader<'_> {
    pub(super) fn seed(
        &mut self,
        seed: Spanned<raw::RawSeed>,
        context: &mut Context<'_>,
    ) -> Scenario {
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
}
