//! The console page: the assets compiled into the binary, and the contract document written
//! into the page so that its forms, guidance and checks come from the same manifest, schemas,
//! registry and rules as the runtime's.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::api::Domain;
use crate::contracts::schemas;
use crate::error::ApiError;
use crate::headers;
use crate::manifest::{Manifest, Operation};
use crate::reason::Reason;

use super::roles;

pub(crate) const HTML: &str = include_str!("assets/console.html");
const CSS: &str = include_str!("assets/console.css");

/// The page's script, in the order its parts run: each part declares what the later ones use,
/// and all of them share one function scope (see [`script`]).
pub(crate) const SCRIPTS: [(&str, &str); 13] = [
    ("contract.js", include_str!("assets/contract.js")),
    ("words.js", include_str!("assets/words.js")),
    ("validate.js", include_str!("assets/validate.js")),
    ("api.js", include_str!("assets/api.js")),
    ("forms.js", include_str!("assets/forms.js")),
    ("views.js", include_str!("assets/views.js")),
    ("dashboard.js", include_str!("assets/dashboard.js")),
    ("ml_api.js", include_str!("assets/ml_api.js")),
    ("ml_catalog.js", include_str!("assets/ml_catalog.js")),
    ("ml_vendor.js", include_str!("assets/ml_vendor.js")),
    ("ml_training.js", include_str!("assets/ml_training.js")),
    ("ml_operator.js", include_str!("assets/ml_operator.js")),
    ("main.js", include_str!("assets/main.js")),
];

/// The whole page: the HTML shell with its style, script and contract document inline.
pub fn render(manifest: &Manifest, domains: &[&Domain]) -> Result<String, ApiError> {
    let document = contract_document(manifest, domains)?;
    Ok(HTML
        .replace("/*console.css*/", CSS)
        .replace("/*console.js*/", &script())
        .replace("{{contract}}", &script_safe_json(&document)))
}

/// The parts of the script in one strict function, so that they share their declarations
/// without putting any of them on `window`.
fn script() -> String {
    let mut script = String::from("\"use strict\";\n(function () {\n");
    for (name, part) in SCRIPTS {
        script.push_str("// ---- ");
        script.push_str(name);
        script.push('\n');
        script.push_str(part);
    }
    script.push_str("})();\n");
    script
}

/// JSON that can sit inside a `<script>` element: no `<`, `>` or `&` appears literally.
fn script_safe_json(value: &Value) -> String {
    value
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// What the page knows of the contract: the operations of each console section's manifest tag
/// (path, auth rule, idempotency, query parameters, request schema and field reasons), those
/// request schemas, the messages and statuses of every reason they may answer, the reasons of
/// an auth refusal, the header names a caller sends, each section's roles completed from the operations' auth rules, and
/// each section's facts of its rules (status tables, what blocks an action), merged in.
pub fn contract_document(manifest: &Manifest, domains: &[&Domain]) -> Result<Value, ApiError> {
    let mut described = Map::new();
    let mut request_schemas = Map::new();
    let mut reasons = BTreeMap::new();
    let mut roles = Vec::new();
    let mut document = Map::new();
    for section in domains.iter().filter_map(|domain| domain.console) {
        let operations: Vec<&Operation> = manifest
            .operations
            .iter()
            .filter(|operation| operation.tag == section.tag && !operation.dev_only)
            .collect();
        for operation in &operations {
            describe(
                operation,
                &mut described,
                &mut request_schemas,
                &mut reasons,
            )?;
        }
        let Value::Object(mut facts) = (section.facts)()? else {
            return Err(ApiError::internal("console facts are not an object"));
        };
        if let Some(declared) = facts.remove("roles") {
            roles.extend(
                roles::derive(declared, section.tag, &operations).map_err(ApiError::internal)?,
            );
        }
        document.extend(facts);
    }
    document.insert("title".to_owned(), json!(manifest.title));
    document.insert("api_version".to_owned(), json!(manifest.api_version));
    document.insert("operations".to_owned(), Value::Object(described));
    document.insert("schemas".to_owned(), Value::Object(request_schemas));
    document.insert("reasons".to_owned(), json!(reasons));
    document.insert("roles".to_owned(), json!(roles));
    document.insert(
        "auth_reasons".to_owned(),
        json!({
            "actor_type_not_allowed": Reason::AuthActorTypeNotAllowed.code(),
            "scope_missing": Reason::AuthScopeMissing.code(),
            // What a bearer credential itself is refused with: the page drops such a key.
            "credential_scope_missing": Reason::TokenScopeInsufficient.code(),
            "credential_refused": [
                Reason::AuthHeaderRequired.code(),
                Reason::TokenMalformed.code(),
                Reason::TokenInactive.code(),
            ],
        }),
    );
    document.insert(
        "headers".to_owned(),
        json!({
            "actor_type": headers::ACTOR_TYPE,
            "actor_id": headers::ACTOR_ID,
            "auth_scopes": headers::AUTH_SCOPES,
            "idempotency_key": headers::IDEMPOTENCY_KEY,
            "credential": headers::AUTHORIZATION,
            "last_event_id": headers::LAST_EVENT_ID,
        }),
    );
    Ok(Value::Object(document))
}

fn describe(
    operation: &Operation,
    described: &mut Map<String, Value>,
    request_schemas: &mut Map<String, Value>,
    reasons: &mut BTreeMap<&'static str, Value>,
) -> Result<(), ApiError> {
    if let Some(name) = &operation.request_schema {
        let schema = schemas::named(name)
            .ok_or_else(|| ApiError::internal(format!("no request schema `{name}`")))?;
        request_schemas.insert(name.clone(), schema);
    }
    for reason in operation.effective_reasons() {
        reasons.insert(
            reason.code(),
            json!({"status": reason.status(), "message": reason.message()}),
        );
    }
    described.insert(
        operation.operation_id.clone(),
        json!({
            "method": operation.method.as_str(),
            "path": operation.path,
            "summary": operation.summary,
            "auth": operation.auth,
            "idempotency_required": operation.idempotency.required,
            "query_params": operation.query_params,
            "request_schema": operation.request_schema,
            "invalid_request_reason": operation.invalid_request_reason,
            "field_reasons": operation.field_reasons,
            "field_rule_reasons": operation.field_rule_reasons,
            "event_stream": operation.event_stream,
            "envelope": operation.envelope,
        }),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document() -> Value {
        contract_document(Manifest::embedded(), crate::domain::ALL).unwrap()
    }

    #[test]
    fn each_sections_facts_are_in_the_document() {
        let document = document();
        for key in [
            "intent_transitions",
            "release_blockers",
            "rejection_reasons",
        ] {
            assert!(document.get(key).is_some(), "{key}");
        }
        let ml = &document["ml"];
        for key in [
            "stage_transitions",
            "healthy_deployment_status",
            "finished_training_statuses",
            "hyperparams",
            "epoch_line_pattern",
        ] {
            assert!(ml.get(key).is_some(), "ml.{key}");
        }
        assert_eq!(
            ml["hyperparams"]["batch_size"]["maximum"], 65536.0,
            "the trainer's ranges, as a schema"
        );
        assert_eq!(ml["healthy_deployment_status"], "ready");
    }

    /// The ML operations the page calls with a bearer key say so (`auth.scheme`), and the log
    /// says how its event stream is asked for and ends.
    #[test]
    fn the_ml_operations_carry_their_scheme_and_stream() {
        let document = document();
        let operations = &document["operations"];
        assert_eq!(
            operations["mlTraining.create"]["auth"]["scheme"],
            "vendor_key"
        );
        assert!(
            operations["mlVendors.create"]["auth"]
                .get("scheme")
                .is_none()
        );
        assert_eq!(
            operations["mlTraining.logs"]["event_stream"],
            json!({"query": "follow", "value": "true", "end_event": "end"})
        );
        assert_eq!(operations["mlCatalog.list"]["envelope"], "data");
    }

    /// The roles are the guide's (`docs/first-ten-minutes.md`): the page acts as the people
    /// the commands there act as, with what the manifest requires of them.
    #[test]
    fn the_roles_send_what_the_manifest_requires_of_their_operations() {
        let roles = &document()["roles"];
        let sent: Vec<(&str, &str, &str, Value)> = roles
            .as_array()
            .unwrap()
            .iter()
            .map(|role| {
                (
                    role["key"].as_str().unwrap(),
                    role["actor_type"].as_str().unwrap(),
                    role["actor_id"].as_str().unwrap(),
                    role["scopes"].clone(),
                )
            })
            .collect();
        assert_eq!(
            sent,
            [
                (
                    "provider",
                    "agent",
                    "node_alpha",
                    json!(["offers:write", "marketplace:read"])
                ),
                (
                    "owner",
                    "user",
                    "owner_ada",
                    json!(["round_intents:write", "marketplace:read"])
                ),
                (
                    "operator",
                    "partner",
                    "operator_main",
                    json!(["marketplace:operate", "marketplace:read"])
                ),
                (
                    "ml_operator",
                    "partner",
                    "operator_main",
                    json!(["ml:operate", "ml:read"])
                ),
            ]
        );
        assert_eq!(
            roles[2]["privileges"],
            json!({"operator": "marketplace:operate"})
        );
        let document = document();
        assert_eq!(
            document["headers"]["auth_scopes"],
            crate::headers::AUTH_SCOPES
        );
        assert_eq!(
            document["operations"]["dataOffers.list"]["query_params"][2],
            json!({"name": "limit", "type": "integer", "minimum": 1, "maximum": 200, "description": "Page size (default 50)."})
        );
        let empty = document["empty_selection_reason"].as_str().unwrap();
        assert_eq!(document["reasons"][empty]["status"], 422);
    }

    #[test]
    fn the_page_carries_the_schemas_the_runtime_validates_with() {
        let document = document();
        for name in [
            "OfferCreateRequest",
            "RoundIntentCreateRequest",
            "PreviewRequest",
        ] {
            assert_eq!(document["schemas"][name], schemas::named(name).unwrap());
        }
        let create = &document["operations"]["dataOffers.create"];
        assert_eq!(create["path"], "/marketplace/offers");
        assert_eq!(
            create["field_reasons"]["/quality_score"],
            "invalid_quality_score"
        );
        assert_eq!(
            document["reasons"]["invalid_quality_score"]["status"], 400,
            "field reasons carry their registry entry"
        );
    }

    /// The page's validator implements a subset of JSON Schema; a keyword outside it in a schema
    /// the page reads would be a rule the page silently skips.
    #[test]
    fn the_page_validator_knows_every_keyword_of_the_schemas() {
        let validator = SCRIPTS
            .iter()
            .find(|(name, _)| *name == "validate.js")
            .map(|(_, script)| *script)
            .expect("the page has its validator");
        let list = validator
            .split("const SCHEMA_KEYWORDS = [")
            .nth(1)
            .and_then(|rest| rest.split(']').next())
            .expect("validate.js declares SCHEMA_KEYWORDS");
        let known: Vec<&str> = list
            .split(',')
            .map(|item| item.trim().trim_matches('"'))
            .filter(|item| !item.is_empty())
            .collect();
        let unchecked = |schema: &Value| {
            let mut used = std::collections::BTreeSet::new();
            collect_keywords(schema, &mut used);
            used.into_iter()
                .filter(|k| !known.contains(&k.as_str()))
                .collect::<Vec<_>>()
        };
        for (name, schema) in document()["schemas"].as_object().unwrap() {
            assert_eq!(
                unchecked(schema),
                Vec::<String>::new(),
                "validate.js does not check these keywords of {name}"
            );
        }
        let with_a_new_rule =
            json!({"properties": {"price": {"type": "number", "multipleOf": 0.01}}});
        assert_eq!(
            unchecked(&with_a_new_rule),
            ["multipleOf"],
            "the gate catches a keyword the page skips"
        );
    }

    fn collect_keywords(schema: &Value, used: &mut std::collections::BTreeSet<String>) {
        let Some(object) = schema.as_object() else {
            return;
        };
        for (keyword, value) in object {
            used.insert(keyword.clone());
            match keyword.as_str() {
                "properties" | "$defs" => {
                    for sub in value.as_object().into_iter().flat_map(|m| m.values()) {
                        collect_keywords(sub, used);
                    }
                }
                "anyOf" | "oneOf" | "allOf" => {
                    for sub in value.as_array().into_iter().flatten() {
                        collect_keywords(sub, used);
                    }
                }
                "items" | "additionalProperties" | "not" | "propertyNames" => {
                    collect_keywords(value, used);
                }
                _ => {}
            }
        }
    }

    #[test]
    fn the_assets_cannot_close_their_elements_early() {
        for (name, script) in SCRIPTS {
            assert!(!script.contains("</script"), "{name}");
        }
        assert!(!CSS.contains("</style"));
        let page = render(Manifest::embedded(), crate::domain::ALL).unwrap();
        assert!(!page.contains("{{contract}}") && !page.contains("/*console.js*/"));
        assert_eq!(
            page.matches("</script>").count(),
            2,
            "the contract and the script"
        );
    }

    #[test]
    fn the_page_loads_nothing_from_elsewhere() {
        let page = render(Manifest::embedded(), crate::domain::ALL).unwrap();
        for needle in [
            "src=\"http",
            "href=\"http",
            "url(http",
            "@import",
            "src=\"//",
        ] {
            assert!(!page.contains(needle), "{needle}");
        }
        assert!(
            page.contains("default-src 'none'"),
            "the page's CSP forbids it"
        );
    }
}
