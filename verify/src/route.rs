//! Which manifest operation answers a method and a concrete path: what a raw step or a probe
//! reaches, so that its response is validated against the right contract.

use std::collections::BTreeMap;

use marketref::manifest::{Manifest, Operation, ROUTER_REASONS};
use marketref::reason::Reason;

#[derive(Debug)]
pub enum Route<'m> {
    /// An operation declares this method and path.
    Operation {
        operation: &'m Operation,
        params: BTreeMap<String, String>,
    },
    /// The path is declared, but not with this method: 405.
    MethodNotAllowed,
    /// No operation declares the path: 404.
    NotFound,
}

impl<'m> Route<'m> {
    /// The reasons an answer on this route may carry.
    pub fn allowed_reasons(&self) -> Vec<Reason> {
        let mut reasons: Vec<Reason> = match self {
            // A server started without its dev routes does not route a `dev_only` operation.
            Route::Operation { operation, .. } if operation.dev_only => operation
                .effective_reasons()
                .into_iter()
                .chain([Reason::RouteNotFound])
                .collect(),
            Route::Operation { operation, .. } => {
                operation.effective_reasons().into_iter().collect()
            }
            Route::MethodNotAllowed => vec![Reason::MethodNotAllowed],
            Route::NotFound => vec![Reason::RouteNotFound],
        };
        // A bug may happen anywhere; the response is still validated and the step fails on
        // its status.
        reasons.extend(
            ROUTER_REASONS
                .iter()
                .copied()
                .filter(|r| *r == Reason::InternalError),
        );
        reasons.sort();
        reasons.dedup();
        reasons
    }

    pub fn operation(&self) -> Option<&'m Operation> {
        match self {
            Route::Operation { operation, .. } => Some(operation),
            Route::MethodNotAllowed | Route::NotFound => None,
        }
    }
}

/// Matches a concrete path (without query) against the manifest's templates.
pub fn resolve<'m>(manifest: &'m Manifest, method: &str, path: &str) -> Route<'m> {
    let mut path_known = false;
    for operation in &manifest.operations {
        let Some(params) = match_template(&operation.path, path) else {
            continue;
        };
        path_known = true;
        if operation.method.as_str() == method {
            return Route::Operation { operation, params };
        }
    }
    if path_known {
        Route::MethodNotAllowed
    } else {
        Route::NotFound
    }
}

/// The path parameters when `path` fits `template` (`/runs/{run_id}` and `/runs/mrun_1`).
pub fn match_template(template: &str, path: &str) -> Option<BTreeMap<String, String>> {
    let mut params = BTreeMap::new();
    let mut template = template.split('/');
    let mut path = path.split('/');
    loop {
        match (template.next(), path.next()) {
            (None, None) => return Some(params),
            (Some(t), Some(p)) => {
                if let Some(name) = t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
                    if p.is_empty() {
                        return None;
                    }
                    params.insert(name.to_owned(), p.to_owned());
                } else if t != p {
                    return None;
                }
            }
            _ => return None,
        }
    }
}

/// The concrete path of an operation with its parameters filled in (percent-encoded).
pub fn fill(template: &str, params: &BTreeMap<String, String>) -> String {
    template
        .split('/')
        .map(
            |segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => encode_segment(params.get(name).map_or("", String::as_str)),
                None => segment.to_owned(),
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}

/// Percent-encodes what may not stand in a path segment as it is.
fn encode_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_resolve_like_the_router() {
        let manifest = Manifest::embedded();
        match resolve(manifest, "GET", "/marketplace/matching/runs/mrun_000002") {
            Route::Operation { operation, params } => {
                assert_eq!(operation.operation_id, "marketplaceMatchingRun.get");
                assert_eq!(params["run_id"], "mrun_000002");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            resolve(manifest, "PUT", "/healthz"),
            Route::MethodNotAllowed
        ));
        assert!(matches!(
            resolve(manifest, "GET", "/nowhere"),
            Route::NotFound
        ));
        assert!(matches!(
            resolve(manifest, "GET", "/swap-intents/"),
            Route::NotFound
        ));
    }

    #[test]
    fn fill_encodes_segments() {
        let params = [("id".to_owned(), "a b/c".to_owned())]
            .into_iter()
            .collect();
        assert_eq!(
            fill("/swap-intents/{id}/cancel", &params),
            "/swap-intents/a%20b%2Fc/cancel"
        );
    }
}
