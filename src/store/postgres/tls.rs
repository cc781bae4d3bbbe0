//! A database URL as libpq reads it, and the connections it asks for: plain, or TLS through
//! rustls when it says `sslmode=require` (or `verify-ca`, `verify-full`).
//!
//! TLS here always verifies the server: its certificate must chain to the system's roots, or
//! to the certificates of `sslrootcert=PATH`, and name the host. That is libpq's `verify-full`;
//! libpq's `require` alone would encrypt without knowing whom to, which a marketplace's store
//! should not accept. A URL that does not ask for TLS connects without it, as `sslmode=disable`
//! (libpq would try TLS first, unverified).

use std::path::PathBuf;
use std::sync::Arc;

use postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::store::StoreError;

use super::redacted;

/// What a URL says about connecting: the client's configuration and the TLS connector for it.
#[derive(Clone)]
pub struct Target {
    pub config: postgres::Config,
    pub tls: MakeRustlsConnect,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("ssl_mode", &self.config.get_ssl_mode())
            .finish_non_exhaustive()
    }
}

impl Target {
    pub fn parse(url: &str) -> Result<Target, StoreError> {
        let shown = redacted(url);
        let fail = |problem: String| {
            StoreError::new("reading the database URL", format!("{shown}: {problem}"))
        };
        let (url, root_cert) = libpq_options(url);
        let mut config: postgres::Config = url.parse().map_err(|e| fail(format!("{e}")))?;
        if config.get_ssl_mode() == SslMode::Prefer {
            config.ssl_mode(SslMode::Disable);
        }
        let tls = client_config(root_cert.as_ref()).map_err(fail)?;
        Ok(Target {
            config,
            tls: MakeRustlsConnect::new(tls),
        })
    }

    pub fn connect(&self) -> Result<postgres::Client, postgres::Error> {
        self.config.connect(self.tls.clone())
    }

    /// As [`Target::connect`], a failure told with its causes: "error performing TLS
    /// handshake" alone does not say that the certificate's issuer is unknown.
    pub fn connect_or_say(&self) -> Result<postgres::Client, StoreError> {
        self.connect().map_err(|error| {
            let mut told = error.to_string();
            let mut cause = std::error::Error::source(&error);
            while let Some(inner) = cause {
                told.push_str(": ");
                told.push_str(&inner.to_string());
                cause = inner.source();
            }
            StoreError::new("connecting to Postgres", told)
        })
    }
}

/// The URL without the options the client does not read itself (`sslrootcert`; `sslmode`'s
/// verifying values, which are what its `require` does here), and the root certificate file.
fn libpq_options(url: &str) -> (String, Option<PathBuf>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_owned(), None);
    };
    let mut root_cert = None;
    let kept: Vec<String> = query
        .split('&')
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "sslrootcert" => {
                    let path = percent_encoding::percent_decode_str(value).decode_utf8_lossy();
                    root_cert = Some(PathBuf::from(path.into_owned()));
                    None
                }
                "sslmode" if matches!(value, "verify-ca" | "verify-full") => {
                    Some("sslmode=require".to_owned())
                }
                _ => Some(pair.to_owned()),
            }
        })
        .collect();
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    (url, root_cert)
}

/// rustls trusting the certificates in `root_cert`, else the system's roots.
fn client_config(root_cert: Option<&PathBuf>) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    match root_cert {
        Some(path) => {
            use rustls::pki_types::CertificateDer;
            use rustls::pki_types::pem::PemObject;
            let certificates = CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
            for certificate in certificates {
                let certificate =
                    certificate.map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
                roots
                    .add(certificate)
                    .map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
            }
        }
        None => {
            // Certificates of the system store that rustls cannot read are skipped, as a
            // browser skips them.
            let found = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(found.certs);
        }
    }
    // ring's primitives: pure Rust and assembly, no C toolchain beyond what the build has. rustls
    // marks its ring provider deprecated for lacking post-quantum key exchange (aws-lc-rs has
    // it, at the cost of a CMake build of a C library); a database link does not need it yet.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS versions: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_reads_what_libpq_would_and_tls_is_asked_for_by_name() {
        assert_eq!(
            libpq_options(
                "postgres://u@h/d?sslmode=verify-full&sslrootcert=%2Ftmp%2Fca.pem&application_name=m"
            ),
            (
                "postgres://u@h/d?sslmode=require&application_name=m".to_owned(),
                Some(PathBuf::from("/tmp/ca.pem"))
            )
        );
        assert_eq!(
            libpq_options("postgres://u@h/d?sslrootcert=/ca.pem"),
            (
                "postgres://u@h/d".to_owned(),
                Some(PathBuf::from("/ca.pem"))
            )
        );
        let plain = Target::parse("postgres://u@h/d").unwrap();
        assert_eq!(plain.config.get_ssl_mode(), SslMode::Disable);
        let tls = Target::parse("postgres://u@h/d?sslmode=require").unwrap();
        assert_eq!(tls.config.get_ssl_mode(), SslMode::Require);
        let error = Target::parse("postgres://u:secret@h/d?sslrootcert=/nowhere.pem")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("/nowhere.pem") && !error.contains("secret"),
            "{error}"
        );
    }
}
