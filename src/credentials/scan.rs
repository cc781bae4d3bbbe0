//! `marketref secrets scan`: every string in some files that is a well-formed token with a
//! valid checksum, reported by file, line and what may be shown of it. A typo'd or made-up
//! `vk_...` word is not reported: the checksum tells them apart without a lookup.

use std::path::{Path, PathBuf};

use super::{ParsedToken, redact};

/// One token found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub path: PathBuf,
    /// 1-based.
    pub line: usize,
    /// The token as it may be shown: its prefix and id.
    pub shown: String,
}

/// The tokens in `paths` (files, or folders walked recursively in name order); unreadable or
/// non-UTF-8 files are skipped and counted in the second value.
pub fn scan(paths: &[PathBuf]) -> (Vec<Finding>, Vec<PathBuf>) {
    let mut files = Vec::new();
    for path in paths {
        collect(path, &mut files);
    }
    let mut findings = Vec::new();
    let mut skipped = Vec::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            skipped.push(file);
            continue;
        };
        for (index, line) in text.lines().enumerate() {
            for word in line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                if ParsedToken::parse(word).is_ok() {
                    findings.push(Finding {
                        path: file.clone(),
                        line: index + 1,
                        shown: redact(word).into_owned(),
                    });
                }
            }
        }
    }
    (findings, skipped)
}

fn collect(path: &Path, files: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let Ok(entries) = std::fs::read_dir(path) else {
            return;
        };
        let mut children: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        children.sort();
        for child in children {
            collect(&child, files);
        }
    } else {
        files.push(path.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::{TokenKind, issue};

    #[test]
    fn real_tokens_are_found_and_look_alikes_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let real = issue(TokenKind::VendorKey, "key_000004").token;
        let deployment = issue(TokenKind::DeploymentToken, "tok_000009").token;
        let mut typo = real.clone();
        typo.replace_range(20..21, if &real[20..21] == "a" { "b" } else { "a" });
        std::fs::write(
            dir.path().join("config.env"),
            format!("MP_KEY={real}\n# not one: vk_key_000001_short\nOTHER={typo}\n"),
        )
        .unwrap();
        std::fs::create_dir(dir.path().join("deep")).unwrap();
        std::fs::write(
            dir.path().join("deep/ci.yml"),
            format!("token: \"{deployment}\"\n"),
        )
        .unwrap();
        let (findings, skipped) = scan(&[dir.path().to_owned()]);
        assert!(skipped.is_empty());
        let found: Vec<(String, usize, String)> = findings
            .iter()
            .map(|f| {
                (
                    f.path.file_name().unwrap().to_string_lossy().into_owned(),
                    f.line,
                    f.shown.clone(),
                )
            })
            .collect();
        assert_eq!(
            found,
            [
                ("config.env".to_owned(), 1, "vk_key_000004_****".to_owned()),
                ("ci.yml".to_owned(), 1, "sit_tok_000009_****".to_owned()),
            ]
        );
    }
}
