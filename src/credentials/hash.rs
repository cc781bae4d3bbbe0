//! Hashing a secret for storage: argon2id with the OWASP parameters (19 MiB, 2 passes, 1 lane),
//! a random salt per credential, and the server's pepper as argon2's secret, so that a stolen
//! database alone verifies nothing.

use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngExt;

/// The parameters every credential is hashed with; stored beside the hash so that a later change
/// of parameters can still verify old rows.
pub const ARGON2_PARAMS: &str = "argon2id v=19 m=19456 t=2 p=1";
const SALT_LEN: usize = 16;
const HASH_LEN: usize = 32;

/// The server's pepper: from `MARKETREF_TOKEN_PEPPER`, or the fixed development pepper under
/// `--dev` (never to be used for real keys: the server says so when it starts with it).
#[derive(Clone)]
pub struct Pepper(Vec<u8>);

impl Pepper {
    /// The pepper of development servers and of the in-process verifier.
    pub const DEV: &'static str = "marketref-dev-pepper-do-not-use-in-production";

    pub fn new(bytes: impl Into<Vec<u8>>) -> Pepper {
        Pepper(bytes.into())
    }

    pub fn dev() -> Pepper {
        Pepper::new(Pepper::DEV)
    }

    /// The file in a data folder that keeps a server's own pepper.
    pub const FILE: &'static str = "token-pepper";

    /// The pepper kept in `data_dir`, made from 32 random bytes (hex, mode 0600) when there is
    /// none yet; the flag says whether it was made now.
    pub fn kept_in(data_dir: &std::path::Path) -> std::io::Result<(Pepper, bool)> {
        let path = data_dir.join(Pepper::FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) if !text.trim().is_empty() => return Ok((Pepper::new(text.trim()), false)),
            Ok(_) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(error),
        }
        std::fs::create_dir_all(data_dir)?;
        let bytes: [u8; 32] = rand::rng().random();
        let text = hex::encode(bytes);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&path)?;
        std::io::Write::write_all(&mut file, text.as_bytes())?;
        file.sync_all()?;
        Ok((Pepper::new(text), true))
    }

    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Pepper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pepper(****)")
    }
}

/// Hashes and verifies secrets with one pepper.
#[derive(Clone, Debug)]
pub struct Hasher {
    pepper: Pepper,
}

impl Hasher {
    pub fn new(pepper: Pepper) -> Hasher {
        Hasher { pepper }
    }

    fn argon2(&self) -> Argon2<'_> {
        let params = Params::new(
            Params::DEFAULT_M_COST,
            Params::DEFAULT_T_COST,
            Params::DEFAULT_P_COST,
            Some(HASH_LEN),
        )
        .expect("the OWASP parameters are valid");
        Argon2::new_with_secret(
            self.pepper.bytes(),
            Algorithm::Argon2id,
            Version::V0x13,
            params,
        )
        .expect("a pepper within argon2's secret length")
    }

    /// A new salt and the hash of `secret` with it, both hex.
    pub fn hash(&self, secret: &str) -> (String, String) {
        let salt: [u8; SALT_LEN] = rand::rng().random();
        let hash = self.hash_with(secret, &salt);
        (hex::encode(salt), hex::encode(hash))
    }

    fn hash_with(&self, secret: &str, salt: &[u8]) -> [u8; HASH_LEN] {
        let mut out = [0u8; HASH_LEN];
        self.argon2()
            .hash_password_into(secret.as_bytes(), salt, &mut out)
            .expect("a salt and output within argon2's limits");
        out
    }

    /// Whether `secret` is the one whose hash with `salt` (hex) is `hash` (hex). The comparison
    /// looks at every byte, whatever the first difference.
    pub fn verify(&self, secret: &str, salt: &str, hash: &str) -> bool {
        let (Ok(salt), Ok(expected)) = (hex::decode(salt), hex::decode(hash)) else {
            return false;
        };
        if salt.len() != SALT_LEN || expected.len() != HASH_LEN {
            return false;
        }
        let actual = self.hash_with(secret, &salt);
        actual
            .iter()
            .zip(&expected)
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parameters_are_owasps_argon2id_recommendation() {
        // OWASP Password Storage Cheat Sheet: argon2id, m=19456 (19 MiB), t=2, p=1.
        assert_eq!(Params::DEFAULT_M_COST, 19_456);
        assert_eq!(Params::DEFAULT_T_COST, 2);
        assert_eq!(Params::DEFAULT_P_COST, 1);
        let hasher = Hasher::new(Pepper::dev());
        let argon2 = format!("{:?}", hasher.argon2());
        assert!(
            argon2.contains("Argon2id") && argon2.contains("V0x13"),
            "{argon2}"
        );
        assert_eq!(ARGON2_PARAMS, "argon2id v=19 m=19456 t=2 p=1");
    }

    #[test]
    fn a_secret_verifies_only_with_its_salt_hash_and_pepper() {
        let hasher = Hasher::new(Pepper::new("pepper-a"));
        let (salt, hash) = hasher.hash("s3cret");
        assert!(hasher.verify("s3cret", &salt, &hash));
        assert!(!hasher.verify("s3cres", &salt, &hash));
        let (other_salt, _) = hasher.hash("s3cret");
        assert_ne!(salt, other_salt, "a salt per hash");
        assert!(!hasher.verify("s3cret", &other_salt, &hash));
        assert!(!Hasher::new(Pepper::new("pepper-b")).verify("s3cret", &salt, &hash));
        assert!(!hasher.verify("s3cret", "zz", &hash));
    }
}
