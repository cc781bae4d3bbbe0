//! Signed dataset URLs (spec `ml-marketplace.md` section 3): an HMAC-SHA256 over the method,
//! the path and the expiry, under a key every instance derives from the server's pepper, so
//! that a URL needs no `Authorization` header and any instance can check it.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use super::Pepper;

type HmacSha256 = Hmac<Sha256>;

/// What the key is derived for; a new label would make a new key.
const LABEL: &[u8] = b"marketref signed dataset urls v1";

/// Why a signed URL is refused (all are 403 `signed_url_invalid`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UrlRefusal {
    /// Its expiry has passed by the request clock.
    Expired,
    /// It was signed with another server's key.
    Foreign,
    /// Its path or expiry is not what was signed, or the signature is not ours.
    Altered,
}

impl UrlRefusal {
    pub fn as_str(self) -> &'static str {
        match self {
            UrlRefusal::Expired => "expired",
            UrlRefusal::Foreign => "foreign",
            UrlRefusal::Altered => "altered",
        }
    }
}

/// The query of a signed URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    /// Unix seconds after which the URL is refused.
    pub exp: i64,
    /// Which key signed it.
    pub kid: String,
    /// Hex HMAC-SHA256.
    pub sig: String,
}

#[derive(Clone)]
pub struct UrlSigner {
    key: [u8; 32],
    kid: String,
}

impl std::fmt::Debug for UrlSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UrlSigner")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl UrlSigner {
    pub fn new(pepper: &Pepper) -> UrlSigner {
        let mut mac = HmacSha256::new_from_slice(pepper.bytes()).expect("HMAC takes any key");
        mac.update(LABEL);
        let key: [u8; 32] = mac.finalize().into_bytes().into();
        let kid = hex::encode(&Sha256::digest(key)[..4]);
        UrlSigner { key, kid }
    }

    fn mac(&self, method: &str, path: &str, exp: i64) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key");
        mac.update(format!("{method}\n{path}\n{exp}").as_bytes());
        mac
    }

    pub fn sign(&self, method: &str, path: &str, exp: i64) -> Signature {
        Signature {
            exp,
            kid: self.kid.clone(),
            sig: hex::encode(self.mac(method, path, exp).finalize().into_bytes()),
        }
    }

    /// Checks a URL's signature, then its expiry against `now` (Unix seconds).
    pub fn verify(
        &self,
        method: &str,
        path: &str,
        signature: &Signature,
        now: i64,
    ) -> Result<(), UrlRefusal> {
        if signature.kid != self.kid {
            return Err(UrlRefusal::Foreign);
        }
        let tag = hex::decode(&signature.sig).map_err(|_| UrlRefusal::Altered)?;
        self.mac(method, path, signature.exp)
            .verify_slice(&tag)
            .map_err(|_| UrlRefusal::Altered)?;
        if now >= signature.exp {
            return Err(UrlRefusal::Expired);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_verifies_until_it_expires_and_not_once_altered_or_foreign() {
        let signer = UrlSigner::new(&Pepper::new("a"));
        let path = "/api/datasets/files/r1/train.csv";
        let signed = signer.sign("GET", path, 1_000);
        assert_eq!(signer.verify("GET", path, &signed, 999), Ok(()));
        assert_eq!(
            signer.verify("GET", path, &signed, 1_000),
            Err(UrlRefusal::Expired)
        );
        let other_file = "/api/datasets/files/r1/test.csv";
        assert_eq!(
            signer.verify("GET", other_file, &signed, 10),
            Err(UrlRefusal::Altered)
        );
        let later = Signature {
            exp: 5_000,
            ..signed.clone()
        };
        assert_eq!(
            signer.verify("GET", path, &later, 10),
            Err(UrlRefusal::Altered)
        );
        let bad_hex = Signature {
            sig: "zz".into(),
            ..signed.clone()
        };
        assert_eq!(
            signer.verify("GET", path, &bad_hex, 10),
            Err(UrlRefusal::Altered)
        );
        let elsewhere = UrlSigner::new(&Pepper::new("b"));
        assert_eq!(
            elsewhere.verify("GET", path, &signed, 10),
            Err(UrlRefusal::Foreign)
        );
    }

    #[test]
    fn every_instance_with_the_pepper_signs_alike() {
        let path = "/p";
        assert_eq!(
            UrlSigner::new(&Pepper::new("same")).sign("GET", path, 7),
            UrlSigner::new(&Pepper::new("same")).sign("GET", path, 7)
        );
    }
}
