//! The roles the console lets one act as, completed from the manifest. A section declares, in
//! its facts, who its roles are and which operations each drives (the console's knowledge);
//! what such a caller must send, its scopes and actor type, is the manifest's, so it is derived
//! here from the auth rules of those operations and of the reads every role makes, and never
//! written in the page.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::actor::ActorType;
use crate::manifest::{AuthScheme, Operation};

/// A role as a section declares it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Declared {
    key: String,
    label: String,
    /// The id the page starts with in `x-actor-id`.
    actor_id: String,
    /// The role's own choice among the actor types the manifest admits, when it admits several.
    #[serde(default)]
    actor_type: Option<ActorType>,
    /// The operations the role is there to call, by manifest id.
    drives: Vec<String>,
}

/// A role as the page reads it.
#[derive(Debug, Serialize)]
pub struct Role {
    /// The manifest tag of the section whose operations the role drives.
    pub section: String,
    pub key: String,
    pub label: String,
    pub actor_id: String,
    /// What it sends as `x-actor-type`: one of `actor_types`.
    pub actor_type: ActorType,
    /// The actor types every operation of the role admits, in `ActorType::ALL`'s order.
    pub actor_types: Vec<ActorType>,
    /// Every scope those operations require, those of what it drives first: what it sends as
    /// `x-auth-scopes`.
    pub scopes: Vec<String>,
    /// The operations it calls: those it drives, then every read of its section.
    pub operations: Vec<String>,
    /// The privileges of the section's auth rules whose scope the role holds, by name.
    pub privileges: BTreeMap<String, String>,
}

/// Completes each declared role of the section `tag` whose operations are `section`.
pub fn derive(declared: Value, tag: &str, section: &[&Operation]) -> Result<Vec<Role>, String> {
    let declared: Vec<Declared> =
        serde_json::from_value(declared).map_err(|e| format!("console roles: {e}"))?;
    declared
        .into_iter()
        .map(|role| complete(role, tag, section))
        .collect()
}

fn complete(role: Declared, tag: &str, section: &[&Operation]) -> Result<Role, String> {
    let key = &role.key;
    let mut operations: Vec<&Operation> = Vec::new();
    for id in &role.drives {
        let operation = section
            .iter()
            .find(|operation| &operation.operation_id == id)
            .ok_or_else(|| format!("role {key} drives `{id}`, which its section does not have"))?;
        operations.push(operation);
    }
    // The reads a role makes are those the gateway's headers authenticate: a read by a
    // vendor key or a deployment token is that credential's, never a role's.
    for read in section.iter().filter(|operation| {
        operation.method.is_read() && operation.auth.scheme == AuthScheme::Gateway
    }) {
        if !operations
            .iter()
            .any(|o| o.operation_id == read.operation_id)
        {
            operations.push(read);
        }
    }
    let actor_types: Vec<ActorType> = ActorType::ALL
        .into_iter()
        .filter(|kind| operations.iter().all(|operation| admits(operation, *kind)))
        .collect();
    let actor_type = match role.actor_type {
        Some(kind) if actor_types.contains(&kind) => kind,
        Some(kind) => {
            let refusing = operations
                .iter()
                .find(|operation| !admits(operation, kind))
                .map_or("?", |operation| operation.operation_id.as_str());
            return Err(format!(
                "role {key} acts as {}, which `{refusing}` does not admit",
                kind.as_str()
            ));
        }
        None => *actor_types
            .first()
            .ok_or_else(|| format!("role {key}: no actor type may call all of its operations"))?,
    };
    let mut scopes: Vec<String> = Vec::new();
    for scope in operations.iter().flat_map(|o| &o.auth.required_scopes) {
        if !scopes.contains(scope) {
            scopes.push(scope.clone());
        }
    }
    let privileges = section
        .iter()
        .flat_map(|operation| &operation.auth.privileges)
        .filter(|(_, scope)| scopes.contains(scope))
        .map(|(name, scope)| (name.clone(), scope.clone()))
        .collect();
    Ok(Role {
        section: tag.to_owned(),
        operations: operations
            .iter()
            .map(|operation| operation.operation_id.clone())
            .collect(),
        key: role.key,
        label: role.label,
        actor_id: role.actor_id,
        actor_type,
        actor_types,
        scopes,
        privileges,
    })
}

fn admits(operation: &Operation, kind: ActorType) -> bool {
    !operation.auth.required || operation.auth.allowed_actor_types.contains(&kind)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::manifest::Manifest;

    fn marketplace() -> Vec<&'static Operation> {
        Manifest::embedded()
            .operations
            .iter()
            .filter(|operation| operation.tag == "data-marketplace")
            .collect()
    }

    fn role(drives: &[&str], actor_type: Option<&str>) -> Result<Role, String> {
        let declared = json!([{"key": "r", "label": "R", "actor_id": "r_1", "drives": drives}]);
        let mut declared = declared;
        if let Some(kind) = actor_type {
            declared[0]["actor_type"] = json!(kind);
        }
        derive(declared, "data-marketplace", &marketplace()).map(|mut roles| roles.remove(0))
    }

    #[test]
    fn scopes_and_actor_type_come_from_the_auth_rules_of_what_a_role_calls() {
        let operator = role(&["escrow.release"], None).unwrap();
        assert_eq!(
            operator.actor_type,
            ActorType::Partner,
            "the only type release admits"
        );
        assert_eq!(operator.scopes, ["marketplace:operate", "marketplace:read"]);
        assert_eq!(
            operator.privileges,
            BTreeMap::from([("operator".to_owned(), "marketplace:operate".to_owned())]),
            "holding the privilege's scope is holding the privilege"
        );
        assert!(
            operator.operations.contains(&"metrics.summary".to_owned()),
            "every role reads"
        );

        let provider = role(&["dataOffers.create"], Some("agent")).unwrap();
        assert_eq!(provider.actor_types, ActorType::ALL);
        assert_eq!(
            provider.actor_type,
            ActorType::Agent,
            "its choice among those admitted"
        );
        assert_eq!(provider.scopes, ["offers:write", "marketplace:read"]);
        assert!(provider.privileges.is_empty());
    }

    #[test]
    fn a_role_cannot_choose_a_type_or_an_operation_the_manifest_does_not_give_it() {
        assert_eq!(
            role(&["escrow.release"], Some("agent")).unwrap_err(),
            "role r acts as agent, which `escrow.release` does not admit"
        );
        assert_eq!(
            role(&["console.page"], None).unwrap_err(),
            "role r drives `console.page`, which its section does not have"
        );
    }
}
