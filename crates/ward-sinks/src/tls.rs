//! TLS for the webhook and MQTT sinks: rustls with the ring provider
//! (no aws-lc C build), trusting either the CA file the config names or
//! the system's certificate store.

use std::path::Path;
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

use crate::SinkError;

/// The certificates to trust.
pub fn roots(ca_file: Option<&Path>) -> Result<Vec<CertificateDer<'static>>, SinkError> {
    match ca_file {
        Some(p) => {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(p)
                .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                .map_err(|e| SinkError::Start(format!("CA file {}: {e}", p.display())))?;
            if certs.is_empty() {
                return Err(SinkError::Start(format!(
                    "CA file {} holds no certificate",
                    p.display()
                )));
            }
            Ok(certs)
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            if found.certs.is_empty() {
                return Err(SinkError::Start(format!(
                    "no system CA certificates found ({} errors); set ca_file",
                    found.errors.len()
                )));
            }
            Ok(found.certs)
        }
    }
}

pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A rustls client configuration for MQTT over TLS.
pub fn client_config(ca_file: Option<&Path>) -> Result<rustls::ClientConfig, SinkError> {
    let mut store = rustls::RootCertStore::empty();
    for c in roots(ca_file)? {
        // One unparsable system certificate must not disable TLS.
        let _ = store.add(c);
    }
    rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| SinkError::Start(format!("TLS: {e}")))
        .map(|b| b.with_root_certificates(store).with_no_client_auth())
}
