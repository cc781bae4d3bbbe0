//! The layering ARCHITECTURE.md promises, read from the source: `http` names no domain but the
//! list, no domain names another, and the backend-neutral store and the handler interface name
//! none at all.

use std::path::{Path, PathBuf};

use crate::support::root;

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

fn domains() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root().join("src/domain"))
        .unwrap()
        .filter_map(|entry| {
            let path = entry.unwrap().path();
            path.is_dir()
                .then(|| path.file_name().unwrap().to_string_lossy().into_owned())
        })
        .collect();
    names.sort();
    names
}

/// The places in the code of `text` (comments aside) that name a module under
/// `crate::domain` or `marketref::domain` other than those `allowed` (a domain, or `ALL`).
fn domain_references(text: &str, allowed: &[&str]) -> Vec<String> {
    const PATHS: [&str; 2] = ["crate::domain::", "marketref::domain::"];
    let mut found = Vec::new();
    for (number, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("//") {
            continue;
        }
        let mut rest = line;
        while let Some((at, prefix)) = PATHS
            .iter()
            .filter_map(|prefix| rest.find(prefix).map(|at| (at, prefix)))
            .min()
        {
            let after = &rest[at + prefix.len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '{')
                .collect();
            let names: Vec<&str> = if name.starts_with('{') {
                let close = after.find('}').unwrap_or(after.len());
                after[1..close]
                    .split(',')
                    .map(|item| item.trim().split("::").next().unwrap_or(""))
                    .collect()
            } else {
                vec![name.as_str()]
            };
            for name in names {
                if !name.is_empty() && !allowed.contains(&name) {
                    found.push(format!("line {}: domain::{name}", number + 1));
                }
            }
            rest = after;
        }
    }
    found
}

fn violations(dir: &str, allowed: &[&str]) -> Vec<String> {
    rust_files(&root().join(dir))
        .into_iter()
        .flat_map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            domain_references(&text, allowed)
                .into_iter()
                .map(move |found| format!("{}: {found}", path.display()))
        })
        .collect()
}

#[test]
fn http_names_no_domain_but_the_list() {
    assert_eq!(violations("src/http", &["ALL"]), Vec::<String>::new());
}

#[test]
fn the_neutral_layers_name_no_domain() {
    assert_eq!(violations("src/api", &[]), Vec::<String>::new());
    assert_eq!(violations("src/console", &["ALL"]), Vec::<String>::new());
    for file in ["mod.rs", "views.rs", "activity.rs"] {
        let text = std::fs::read_to_string(root().join("src/store").join(file)).unwrap();
        assert_eq!(
            domain_references(&text, &[]),
            Vec::<String>::new(),
            "{file}"
        );
    }
}

#[test]
fn no_domain_names_another() {
    let domains = domains();
    assert!(domains.len() >= 3, "{domains:?}");
    for domain in &domains {
        let dir = format!("src/domain/{domain}");
        assert_eq!(
            violations(&dir, &[domain.as_str()]),
            Vec::<String>::new(),
            "{domain}"
        );
    }
}

#[test]
fn the_check_finds_what_it_looks_for() {
    let planted = "use crate::domain::swap::store;\nuse marketref::domain::{ALL, data_market::x};\n\
                   // crate::domain::swap, in a comment\nuse super::domain::Domain;\n";
    assert_eq!(
        domain_references(planted, &["ALL"]),
        ["line 1: domain::swap", "line 2: domain::data_market"]
    );
    assert_eq!(
        domain_references(planted, &["ALL", "swap", "data_market"]),
        Vec::<String>::new()
    );
}

/// `mp` speaks only HTTP: of `marketref` it takes the contract (the manifest, its schemas, the
/// header names) and never the store, the runtime or a domain's code.
#[test]
fn mp_takes_the_contract_and_nothing_that_opens_a_store() {
    const OFF_LIMITS: [&str; 6] = [
        "marketref::store",
        "marketref::http",
        "marketref::domain",
        "marketref::api",
        "rusqlite",
        "SqliteStore",
    ];
    let files = rust_files(&root().join("mp/src"));
    assert!(files.len() >= 10, "{files:?}");
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for name in OFF_LIMITS {
            assert!(!text.contains(name), "{} names {name}", file.display());
        }
    }
}
