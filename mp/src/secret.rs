//! How a secret is shown after the moment it was issued: its prefix (which names the key or
//! token, as the server's listings do) and its last 4 characters, never more.

/// `vk_key_000001_…wxyz` for `vk_key_000001_<secret>wxyz`: the kind and id (the first three
/// `_`-separated parts, which name the credential and grant nothing) and the last 4 characters
/// of the rest. The secret part may hold `_` itself, so only the first three count.
pub fn masked(secret: &str) -> String {
    let parts: Vec<&str> = secret.splitn(4, '_').collect();
    let (prefix, rest) = match parts.as_slice() {
        [kind, name, number, rest] => (format!("{kind}_{name}_{number}_"), *rest),
        _ => (String::new(), secret),
    };
    let count = rest.chars().count();
    let tail: String = if count > 8 {
        rest.chars().skip(count - 4).collect()
    } else {
        String::new()
    };
    format!("{prefix}…{tail}")
}

#[cfg(test)]
mod tests {
    use super::masked;

    #[test]
    fn only_the_prefix_and_the_last_four_show() {
        assert_eq!(
            masked("vk_key_000001_AbCdEfGhIjKlMnOpQrStUvWx1234"),
            "vk_key_000001_…1234"
        );
        assert_eq!(
            masked("dt_tok_000002_0123456789abcdef"),
            "dt_tok_000002_…cdef"
        );
        assert_eq!(
            masked("short"),
            "…",
            "a short secret shows nothing of itself"
        );
        assert_eq!(masked("vk_abc"), "…");
        assert_eq!(
            masked("sit_tok_000003_ab_cd_ef_gh_ij"),
            "sit_tok_000003_…h_ij",
            "a `_` inside the secret does not widen the prefix"
        );
    }
}
