//! The OpenAPI document: valid OpenAPI 3.1, complete, and served.

use marketref::contracts::openapi;
use marketref::manifest::Manifest;
use serde_json::Value;

use crate::support::TestServer;

fn openapi_31_validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(include_str!("data/openapi-3.1.schema.json")).unwrap();
    jsonschema::draft202012::new(&schema).unwrap()
}

fn errors(document: &Value) -> Vec<String> {
    openapi_31_validator()
        .iter_errors(document)
        .map(|e| format!("{} at {}", e, e.instance_path().as_str()))
        .collect()
}

#[test]
fn the_document_is_valid_openapi_31() {
    for dev in [false, true] {
        let document = openapi::document(Manifest::embedded(), dev);
        assert_eq!(errors(&document), Vec::<String>::new(), "dev={dev}");
    }
}

#[test]
fn the_validator_catches_a_broken_document() {
    let mut document = openapi::document(Manifest::embedded(), false);
    document.as_object_mut().unwrap().remove("info");
    document["paths"]["/healthz"]["get"]["responses"] = Value::String("none".into());
    assert!(errors(&document).len() >= 2);
}

#[test]
fn every_operation_appears_with_its_reasons_and_rules() {
    let manifest = Manifest::embedded();
    let public = openapi::document(manifest, false);
    let dev = openapi::document(manifest, true);
    for operation in &manifest.operations {
        let method = operation.method.as_str().to_lowercase();
        let in_public = &public["paths"][&operation.path][&method];
        let in_dev = &dev["paths"][&operation.path][&method];
        assert_eq!(in_dev["operationId"], operation.operation_id.as_str());
        if operation.dev_only {
            assert!(
                in_public.is_null(),
                "{} is dev-only",
                operation.operation_id
            );
            continue;
        }
        assert_eq!(in_public["operationId"], operation.operation_id.as_str());
        let listed: Vec<&str> = in_public["responses"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|r| r["x-reason-codes"].as_array().into_iter().flatten())
            .filter_map(Value::as_str)
            .collect();
        for reason in operation.effective_reasons() {
            assert!(
                listed.contains(&reason.code()),
                "{} lacks {}",
                operation.operation_id,
                reason.code()
            );
        }
        if operation.idempotency.takes_key() {
            let params = in_public["parameters"].to_string();
            assert!(
                params.contains(&operation.idempotency.header_name()),
                "{}",
                operation.operation_id
            );
        }
        if operation.auth.required && operation.auth.scheme.is_gateway() {
            assert_eq!(
                in_public["security"][0]["actorScopes"],
                serde_json::json!(operation.auth.required_scopes)
            );
        }
    }
    let listed = openapi::listed_reasons(&dev);
    let expected: std::collections::BTreeSet<_> = manifest
        .operations
        .iter()
        .flat_map(|op| op.effective_reasons())
        .collect();
    assert_eq!(listed, expected);
}

#[test]
fn every_schema_reference_resolves() {
    let document = openapi::document(Manifest::embedded(), true);
    let text = document.to_string();
    for reference in text.split("\"$ref\":\"").skip(1) {
        let target = reference.split('"').next().unwrap();
        let pointer = target.trim_start_matches('#');
        assert!(document.pointer(pointer).is_some(), "dangling {target}");
    }
}

#[tokio::test]
async fn the_server_serves_the_document_of_what_it_mounts() {
    let server = TestServer::start().await;
    let served = server.op("system.openapi", &[]).send().await;
    assert_eq!(served.body, openapi::document(Manifest::embedded(), true));
}
