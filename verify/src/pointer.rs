//! JSON pointers (RFC 6901), checked when a milestone loads so that a typo is a load error and
//! not a silent "absent" at run time.

/// Why `pointer` is not a JSON pointer, if it is not one.
pub fn problem(pointer: &str) -> Option<String> {
    if pointer.is_empty() {
        return None;
    }
    if !pointer.starts_with('/') {
        return Some(format!("`{pointer}` does not start with `/`"));
    }
    let mut chars = pointer.chars();
    while let Some(c) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
            return Some(format!("`{pointer}` has a `~` that is not `~0` or `~1`"));
        }
    }
    None
}

pub const HINT: &str = "a JSON pointer is empty (the whole body) or starts with `/`, like `/run/proposal_ids/0`; write `~` as `~0` and `/` inside a key as `~1`";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_are_checked() {
        assert_eq!(problem(""), None);
        assert_eq!(problem("/run/proposal_ids/0"), None);
        assert_eq!(problem("/a~1b/c~0"), None);
        assert!(problem("run/x").is_some());
        assert!(problem("/a~2").is_some());
        assert!(problem("/a~").is_some());
    }
}
