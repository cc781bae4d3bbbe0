//! The token format: `vk_<key id>_<secret><checksum>` for vendor keys and
//! `sit_<token id>_<secret><checksum>` for deployment tokens. The secret is 43 random base62
//! characters (256 bits, what 32 random bytes carry); the checksum is the CRC32 of everything
//! before it, as 6 base62 characters, so that a scanner and the server tell a real token from a
//! typo without a lookup.

use rand::RngExt;
use rand::distr::Alphanumeric;

/// Characters of the secret.
const SECRET_LEN: usize = 43;
/// Characters of the checksum.
const CHECKSUM_LEN: usize = 6;
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// What a token is for; its prefix says so before any lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TokenKind {
    /// A vendor's key: its CLI and CI, 90 days.
    VendorKey,
    /// One deployment's token: heartbeats, signals, consensus, 30 days.
    DeploymentToken,
}

impl TokenKind {
    pub const ALL: [TokenKind; 2] = [TokenKind::VendorKey, TokenKind::DeploymentToken];

    /// The token's first word.
    pub fn prefix(self) -> &'static str {
        match self {
            TokenKind::VendorKey => "vk",
            TokenKind::DeploymentToken => "sit",
        }
    }

    /// The prefix of the credential ids of this kind (`key_000001`).
    pub fn id_prefix(self) -> &'static str {
        match self {
            TokenKind::VendorKey => "key",
            TokenKind::DeploymentToken => "tok",
        }
    }

    /// The name of the kind on the wire (RFC 7662 `token_type`, the stored `kind`).
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::VendorKey => "vendor_key",
            TokenKind::DeploymentToken => "deployment_token",
        }
    }

    pub fn parse(text: &str) -> Option<TokenKind> {
        TokenKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }
}

/// A token whose shape and checksum hold: where to look it up, and what to verify.
#[derive(Clone, PartialEq, Eq)]
pub struct ParsedToken<'a> {
    pub kind: TokenKind,
    /// The credential's id (`key_000001`), its row's key.
    pub id: &'a str,
    /// The secret, verified against the stored hash.
    pub secret: &'a str,
}

impl std::fmt::Debug for ParsedToken<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParsedToken")
            .field("kind", &self.kind)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Why a text is not a token: its shape, or its checksum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenMalformed {
    Shape,
    Checksum,
}

impl TokenMalformed {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenMalformed::Shape => "shape",
            TokenMalformed::Checksum => "checksum",
        }
    }
}

impl<'a> ParsedToken<'a> {
    /// Reads a token, checking its shape and checksum; nothing is looked up.
    pub fn parse(text: &'a str) -> Result<ParsedToken<'a>, TokenMalformed> {
        let kind = TokenKind::ALL
            .into_iter()
            .find(|kind| {
                text.strip_prefix(kind.prefix())
                    .is_some_and(|rest| rest.starts_with('_'))
            })
            .ok_or(TokenMalformed::Shape)?;
        let rest = &text[kind.prefix().len() + 1..];
        let tail = SECRET_LEN + CHECKSUM_LEN;
        if !rest.is_ascii() || rest.len() < tail + 2 {
            return Err(TokenMalformed::Shape);
        }
        let (id_and_separator, body) = rest.split_at(rest.len() - tail);
        let id = id_and_separator
            .strip_suffix('_')
            .ok_or(TokenMalformed::Shape)?;
        let digits = id
            .strip_prefix(kind.id_prefix())
            .and_then(|rest| rest.strip_prefix('_'))
            .ok_or(TokenMalformed::Shape)?;
        if digits.is_empty()
            || !digits.bytes().all(|b| b.is_ascii_digit())
            || !body.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(TokenMalformed::Shape);
        }
        let (secret, checksum) = body.split_at(SECRET_LEN);
        let signed = &text[..text.len() - CHECKSUM_LEN];
        if checksum_of(signed) != checksum {
            return Err(TokenMalformed::Checksum);
        }
        Ok(ParsedToken { kind, id, secret })
    }
}

/// A freshly issued token: shown once, then only its hash is kept.
pub struct Issued {
    pub token: String,
    /// Where the secret starts in `token`.
    secret_at: usize,
}

impl Issued {
    pub fn secret(&self) -> &str {
        &self.token[self.secret_at..self.secret_at + SECRET_LEN]
    }
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&super::redact(&self.token))
    }
}

/// A new token of `kind` for the credential `id`, with a secret from the operating system's
/// generator (through the thread's cryptographic generator).
pub fn issue(kind: TokenKind, id: &str) -> Issued {
    let secret: String = rand::rng()
        .sample_iter(Alphanumeric)
        .take(SECRET_LEN)
        .map(char::from)
        .collect();
    compose(kind, id, &secret)
}

/// The token of `kind` for `id` with this `secret` (43 base62 characters) and its checksum.
/// Only [`issue`] makes tokens a server hands out; a fixed secret makes a well-formed token
/// that no server issued, which a verifier's probe sends to be refused the same every run.
pub fn compose(kind: TokenKind, id: &str, secret: &str) -> Issued {
    assert_eq!(
        secret.len(),
        SECRET_LEN,
        "a token's secret has 43 characters"
    );
    let head = format!("{}_{id}_", kind.prefix());
    let signed = format!("{head}{secret}");
    let checksum = checksum_of(&signed);
    Issued {
        token: format!("{signed}{checksum}"),
        secret_at: head.len(),
    }
}

/// CRC32 of `text` as 6 base62 characters (62^6 > 2^32), most significant first.
fn checksum_of(text: &str) -> String {
    let mut value = u64::from(crc32fast::hash(text.as_bytes()));
    let mut digits = [b'0'; CHECKSUM_LEN];
    for digit in digits.iter_mut().rev() {
        *digit = BASE62[(value % 62) as usize];
        value /= 62;
    }
    String::from_utf8_lossy(&digits).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_issued_token_parses_back_to_its_kind_id_and_secret() {
        for kind in TokenKind::ALL {
            let issued = issue(kind, &format!("{}_000042", kind.id_prefix()));
            let parsed = ParsedToken::parse(&issued.token).unwrap();
            assert_eq!(parsed.kind, kind);
            assert_eq!(parsed.id, format!("{}_000042", kind.id_prefix()));
            assert_eq!(parsed.secret, issued.secret());
            assert_eq!(parsed.secret.len(), 43);
        }
    }

    #[test]
    fn two_tokens_never_share_a_secret() {
        let a = issue(TokenKind::VendorKey, "key_000001");
        let b = issue(TokenKind::VendorKey, "key_000001");
        assert_ne!(a.secret(), b.secret());
    }

    #[test]
    fn a_typo_is_a_bad_checksum_and_a_wrong_shape_is_a_shape() {
        let token = issue(TokenKind::DeploymentToken, "tok_000007").token;
        let mut typo = token.clone().into_bytes();
        let at = token.len() - 10;
        typo[at] = if typo[at] == b'a' { b'b' } else { b'a' };
        let typo = String::from_utf8(typo).unwrap();
        assert_eq!(
            ParsedToken::parse(&typo).unwrap_err(),
            TokenMalformed::Checksum
        );
        for wrong in [
            "",
            "vk_",
            "vk_key_000001",
            "xx_key_000001_abc",
            &token.replacen("sit_tok", "sit_key", 1),
            &token.replacen("sit_", "vk_", 1),
            &format!("{token}x"),
            &token[1..],
            &token.replace("tok_000007", "tok_"),
        ] {
            assert!(ParsedToken::parse(wrong).is_err(), "{wrong}");
        }
    }

    #[test]
    fn the_debug_form_shows_no_secret() {
        let issued = issue(TokenKind::VendorKey, "key_000003");
        let parsed = ParsedToken::parse(&issued.token).unwrap();
        for shown in [format!("{issued:?}"), format!("{parsed:?}")] {
            assert!(!shown.contains(issued.secret()), "{shown}");
        }
    }
}
