//! The rules of a manifest that its JSON Schema cannot express: across fields and across
//! operations. [`Manifest::parse`] runs them, so a manifest that breaks one never loads.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{Error, ErrorKind};
use crate::reason::Reason;

use super::{AuthScheme, Manifest, RateSubject};

impl Manifest {
    /// Rules across fields: unique ids and routes, known reasons, consistent body rules.
    pub(super) fn check(&self) -> Result<(), Error> {
        let fail = |message: String| Err(Error::new(ErrorKind::Manifest, message));
        let mut ids = BTreeSet::new();
        let mut routes = BTreeSet::new();
        for operation in &self.operations {
            let id = &operation.operation_id;
            if !ids.insert(id.as_str()) {
                return fail(format!("operation id `{id}` is declared twice"));
            }
            if !routes.insert((operation.method, operation.route_shape())) {
                return fail(format!(
                    "{id}: {} {} collides with another operation",
                    operation.method.as_str(),
                    operation.path
                ));
            }
            for code in operation
                .reason_codes
                .iter()
                .chain(operation.invalid_request_reason.iter())
                .chain(operation.field_reasons.values())
                .chain(
                    operation
                        .field_rule_reasons
                        .values()
                        .flat_map(BTreeMap::values),
                )
            {
                if Reason::from_code(code).is_none() {
                    return fail(format!(
                        "{id}: reason code `{code}` is not in the registry (src/reason.rs)"
                    ));
                }
            }
            if operation.request_schema.is_some() != operation.invalid_request_reason.is_some() {
                return fail(format!(
                    "{id}: request_schema and invalid_request_reason go together"
                ));
            }
            if let Some(pointer) = operation
                .field_reasons
                .keys()
                .chain(operation.field_rule_reasons.keys())
                .find(|p| !p.starts_with('/'))
            {
                return fail(format!(
                    "{id}: field_reasons key `{pointer}` is not a JSON pointer"
                ));
            }
            let gateway = operation.auth.scheme.is_gateway();
            if operation.auth.required && gateway && operation.auth.allowed_actor_types.is_empty() {
                return fail(format!(
                    "{id}: auth is required but no actor type is allowed"
                ));
            }
            if !gateway
                && (!operation.auth.required
                    || !operation.auth.allowed_actor_types.is_empty()
                    || !operation.auth.privileges.is_empty())
            {
                return fail(format!(
                    "{id}: a token scheme needs `auth.required: true` and takes no actor types or privileges"
                ));
            }
            if let Some(limit) = &operation.rate_limit {
                let counted = match limit.per {
                    RateSubject::Deployment => AuthScheme::DeploymentToken,
                    RateSubject::Vendor => AuthScheme::VendorKey,
                };
                if operation.auth.scheme != counted {
                    return fail(format!(
                        "{id}: a rate limit per {:?} needs the {:?} auth scheme",
                        limit.per, counted
                    ));
                }
                // The count is written in the request's transaction, which a read does not open.
                if operation.method.is_read() {
                    return fail(format!(
                        "{id}: a rate limit is for writes: a read is not counted"
                    ));
                }
            }
            if !operation.auth.required
                && (!operation.auth.allowed_actor_types.is_empty()
                    || !operation.auth.required_scopes.is_empty())
            {
                return fail(format!(
                    "{id}: actor types and scopes need `auth.required: true`"
                ));
            }
            if !operation.auth.required && !operation.auth.privileges.is_empty() {
                return fail(format!("{id}: privileges need `auth.required: true`"));
            }
            if operation.idempotency.takes_key() && operation.method.is_read() {
                return fail(format!("{id}: a GET cannot be idempotent-keyed"));
            }
            if operation.idempotency.required && operation.idempotency.optional {
                return fail(format!(
                    "{id}: an idempotency key is either required or optional"
                ));
            }
            if operation.idempotency.header.is_some() && !operation.idempotency.takes_key() {
                return fail(format!(
                    "{id}: an idempotency header for an operation that takes no key"
                ));
            }
            if let Some(stream) = &operation.event_stream
                && !operation.query_params.iter().any(|param| {
                    param.name == stream.query
                        && param
                            .allowed
                            .as_ref()
                            .is_some_and(|values| values.contains(&stream.value))
                })
            {
                return fail(format!(
                    "{id}: the event stream's query parameter `{}` must be declared with `{}` among its values",
                    stream.query, stream.value
                ));
            }
            let mut names = BTreeSet::new();
            for param in &operation.query_params {
                if !names.insert(param.name.as_str()) {
                    return fail(format!(
                        "{id}: query parameter `{}` is declared twice",
                        param.name
                    ));
                }
            }
            for example in &operation.examples {
                if example.request.is_some() && operation.request_schema.is_none() {
                    return fail(format!(
                        "{id}: example `{}` has a request but the operation takes no body",
                        example.name
                    ));
                }
            }
        }
        if let Some(contract) = &self.model_server {
            let mut names = BTreeSet::new();
            for endpoint in &contract.endpoints {
                if !names.insert(endpoint.name.as_str()) {
                    return fail(format!(
                        "model_server: endpoint `{}` is declared twice",
                        endpoint.name
                    ));
                }
            }
            // `mp validate` asks these three of every model server.
            for needed in ["health", "ready", "infer"] {
                if !names.contains(needed) {
                    return fail(format!("model_server: no `{needed}` endpoint"));
                }
            }
        }
        Ok(())
    }
}
