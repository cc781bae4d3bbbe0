//! The `seed:` section: the generated dev steps (a reset, one load per fixture file), the API
//! steps that reach the same state through the public operations, and the steps after either.
//!
//! The loading (reset, fixtures, API steps) is the means of reaching the seeded state, not what
//! the milestone checks: the operations only it calls need not be listed under `operations`, so
//! that a server without the dev routes is not probed for them.

use std::collections::BTreeMap;

use serde_saphyr::Spanned;

use super::loader::{Context, Loader};
use super::raw;
use super::{Body, Expect, RequestSpec, RequestTarget, SEED_SCENARIO, Seed, Step};
use crate::error::{Error, ErrorKind};

impl Loader<'_> {
    pub(super) fn seed(&mut self, seed: Spanned<raw::RawSeed>, context: &mut Context<'_>) -> Seed {
        let at = seed.referenced;
        let seed = seed.value;
        let line = at.line();
        if !seed.reset && seed.fixtures.is_empty() && seed.api.is_none() && seed.steps.is_empty() {
            self.error(
                &at,
                "`seed` does nothing",
                "give it `fixtures:`, `api:` or `steps:`, or remove it",
            );
        }
        let reset = seed.reset.then(|| {
            context.called.insert("dev.reset".to_owned());
            self.dev_step(
                "reset",
                "Empty the store, so that the seed starts from nothing.".to_owned(),
                line,
                "dev.reset",
                Body::None,
                context,
            )
        });
        let mut fixtures = Vec::new();
        for (index, fixture) in seed.fixtures.iter().enumerate() {
            context.called.insert("dev.fixtures.load".to_owned());
            let Some(body) = self.json_file(fixture) else {
                continue;
            };
            fixtures.push(self.dev_step(
                &format!("fixtures-{}", index + 1),
                format!("Load {} through POST /dev/fixtures.", fixture.value),
                fixture.referenced.line(),
                "dev.fixtures.load",
                Body::Json(body),
                context,
            ));
        }
        let api = seed.api.map(|api| self.api_steps(api, context));
        let steps = self.steps(SEED_SCENARIO, seed.steps, context);
        let api_names: Vec<&str> = api.iter().flatten().map(|s| s.name.as_str()).collect();
        for step in api.iter().flatten().chain(&steps) {
            if is_generated_name(&step.name) {
                self.name_taken(step, "a generated dev step");
            }
        }
        for step in steps
            .iter()
            .filter(|s| api_names.contains(&s.name.as_str()))
        {
            self.name_taken(step, "an API step of the seed");
        }
        Seed {
            reset,
            fixtures,
            api,
            steps,
        }
    }

    /// The `api:` steps. Their captures serve only the other API steps: the dev path sets
    /// none, so nothing after the loading may depend on them.
    fn api_steps(
        &mut self,
        api: Spanned<Vec<raw::RawStep>>,
        context: &mut Context<'_>,
    ) -> Vec<Step> {
        let before: Vec<String> = context.captures.keys().cloned().collect();
        context.seed_loading = true;
        let steps = self.steps(SEED_SCENARIO, api.value, context);
        context.seed_loading = false;
        context.captures.retain(|name, _| before.contains(name));
        steps
    }

    fn name_taken(&mut self, step: &Step, by: &str) {
        self.errors.push(
            Error::new(
                ErrorKind::Milestone,
                format!(
                    "{}:{}: seed step name `{}` is taken by {by}",
                    self.source.display_path, step.line, step.name
                ),
            )
            .with_hint(
                "the seed's steps share one namespace, where `reset` and `fixtures-N` name the generated dev steps; rename this one",
            ),
        );
    }

    fn dev_step(
        &self,
        name: &str,
        description: String,
        line: u64,
        operation_id: &str,
        body: Body,
        context: &Context<'_>,
    ) -> Step {
        Step {
            name: name.to_owned(),
            description: Some(description),
            line,
            request: RequestSpec {
                target: RequestTarget::Operation {
                    operation_id: operation_id.to_owned(),
                    params: BTreeMap::new(),
                },
                operation_id: Some(operation_id.to_owned()),
                query: Vec::new(),
                actor: None,
                headers: Vec::new(),
                idempotency_key: None,
                clock: context.clock.to_owned(),
                body,
            },
            expect: self.success(operation_id),
            wait_for: None,
            captures: Vec::new(),
            divergence: None,
            advisory: false,
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
            body_sha256: None,
            json: Vec::new(),
        }
    }
}

/// `reset` and `fixtures-N`: the names of the generated dev steps.
fn is_generated_name(name: &str) -> bool {
    name == "reset"
        || name
            .strip_prefix("fixtures-")
            .is_some_and(|n| n.parse::<usize>().is_ok())
}
