//! The one redaction of secrets: every log line and every artifact the verifier writes goes
//! through it. A `vk_`, `sit_` or `whsec_` word keeps its prefix and its id, which identify the
//! credential without granting anything, and loses the rest.

use std::borrow::Cow;

/// Words that start a secret.
const PREFIXES: [&str; 3] = ["vk_", "sit_", "whsec_"];
/// What stands where the secret was.
const MASK: &str = "****";

/// `text` with every secret-shaped word masked (`vk_key_000001_****`).
pub fn redact(text: &str) -> Cow<'_, str> {
    if !PREFIXES.iter().any(|prefix| text.contains(prefix)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut masked_any = false;
    while let Some((at, prefix)) = PREFIXES
        .iter()
        .filter_map(|prefix| find_word(rest, prefix).map(|at| (at, *prefix)))
        .min()
    {
        out.push_str(&rest[..at]);
        let word_len = rest[at..]
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
            .count();
        let word = &rest[at..at + word_len];
        out.push_str(&masked(word, prefix));
        masked_any = true;
        rest = &rest[at + word_len..];
    }
    if !masked_any {
        return Cow::Borrowed(text);
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Whether `text` holds a secret-shaped word (what [`redact`] would change).
pub fn redacted(text: &str) -> bool {
    matches!(redact(text), Cow::Owned(_))
}

/// Where `prefix` starts a word in `text` (not inside another word).
fn find_word(text: &str, prefix: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(found) = text[from..].find(prefix) {
        let at = from + found;
        let starts_word = text[..at]
            .bytes()
            .last()
            .is_none_or(|b| !(b.is_ascii_alphanumeric() || b == b'_'));
        if starts_word {
            return Some(at);
        }
        from = at + prefix.len();
    }
    None
}

/// A secret word as it may be shown: `vk_key_000001_` plus the mask. The id part is the first
/// two `_`-separated tokens after the prefix (`key_000001`), when the word has them.
fn masked(word: &str, prefix: &str) -> String {
    let after = &word[prefix.len()..];
    let mut parts = after.splitn(3, '_');
    match (parts.next(), parts.next(), parts.next()) {
        // A prefix and an id with nothing after them (a listing's `prefix`, or what a mask
        // already left) hold no secret: redacting twice changes nothing.
        (Some(kind), Some(number), Some(""))
            if kind.bytes().all(|b| b.is_ascii_lowercase())
                && number.bytes().all(|b| b.is_ascii_digit()) =>
        {
            word.to_owned()
        }
        (Some(kind), Some(number), Some(_))
            if kind.bytes().all(|b| b.is_ascii_lowercase())
                && number.bytes().all(|b| b.is_ascii_digit()) =>
        {
            format!("{prefix}{kind}_{number}_{MASK}")
        }
        _ => format!("{prefix}{MASK}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::{TokenKind, issue};

    #[test]
    fn a_token_keeps_its_prefix_and_id_only() {
        let token = issue(TokenKind::VendorKey, "key_000001").token;
        let line = format!("authorization=Bearer {token} status=401");
        assert_eq!(
            redact(&line),
            "authorization=Bearer vk_key_000001_**** status=401"
        );
        let deployment = issue(TokenKind::DeploymentToken, "tok_000002").token;
        assert_eq!(
            redact(&format!("\"{deployment}\"")),
            "\"sit_tok_000002_****\""
        );
        assert_eq!(redact("whsec_abcdef"), "whsec_****");
    }

    #[test]
    fn redacting_twice_changes_nothing() {
        let token = issue(TokenKind::VendorKey, "key_000001").token;
        let once = redact(&token).into_owned();
        assert_eq!(redact(&once), once);
        assert_eq!(
            redact("prefix vk_key_000001_ only"),
            "prefix vk_key_000001_ only"
        );
    }

    #[test]
    fn words_that_merely_contain_a_prefix_are_left_alone() {
        for text in ["task_vk_1", "sit_down is not a token", "no secrets here"] {
            let expected = if text.starts_with("sit_") {
                "sit_**** is not a token"
            } else {
                text
            };
            assert_eq!(redact(text), expected);
        }
        assert!(!redacted("invoke_vk_thing"));
    }
}

/// A log writer that passes every line through [`redact`]: whatever a log line holds (a header a
/// dependency prints at debug, a body in an error), no token reaches the log whole.
#[derive(Clone, Copy, Debug, Default)]
pub struct RedactingWriter<M>(pub M);

impl<'a, M: tracing_subscriber::fmt::MakeWriter<'a>> tracing_subscriber::fmt::MakeWriter<'a>
    for RedactingWriter<M>
{
    type Writer = Redacting<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        Redacting(self.0.make_writer())
    }
}

/// One write of [`RedactingWriter`]; the formatter writes a whole event at once.
#[derive(Debug)]
pub struct Redacting<W>(W);

impl<W: std::io::Write> std::io::Write for Redacting<W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(bytes);
        self.0.write_all(redact(&text).as_bytes())?;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}
