//! Pushing an [`oci::Image`] to a registry over the OCI distribution API (`oci-client`),
//! with credentials from Docker's `config.json` (and its credential helpers) when present.
//!
//! The CLI is synchronous; `oci-client` is async, so a push runs on a current-thread tokio
//! runtime made for it. The manifest is pushed as the exact bytes `package` writes, so the
//! pushed digest is the packaged one.

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, RegistryOperation};

use crate::ship::oci::{Image, ImageName};
use crate::ui::errors::hint;
use crate::ui::printer::Printer;

/// How to reach the registry.
pub struct PushOptions {
    /// Plain HTTP instead of HTTPS (a local or in-cluster registry).
    pub insecure: bool,
}

/// Credentials for `registry` from Docker's config (`$DOCKER_CONFIG/config.json` or
/// `~/.docker/config.json`, including `credsStore`/`credHelpers`); anonymous when it has none.
fn credentials(registry: &str, printer: &Printer) -> RegistryAuth {
    // Docker keys Docker Hub by its v1 index URL.
    let server = if registry == "docker.io" || registry == "index.docker.io" {
        "https://index.docker.io/v1/"
    } else {
        registry
    };
    match docker_credential::get_credential(server) {
        Ok(docker_credential::DockerCredential::UsernamePassword(user, password)) => {
            printer.verbose(format!(
                "using Docker's credentials for {registry} (user {user})"
            ));
            RegistryAuth::Basic(user, password)
        }
        Ok(docker_credential::DockerCredential::IdentityToken(token)) => {
            printer.verbose(format!("using Docker's identity token for {registry}"));
            RegistryAuth::Bearer(token)
        }
        Err(error) => {
            printer.verbose(format!(
                "no Docker credentials for {registry} ({error:?}): anonymous"
            ));
            RegistryAuth::Anonymous
        }
    }
}

/// Push `image`'s blobs (skipping those the registry has) and then its manifest as `name`.
/// Errors say which registry and what to do: unreachable, login refused, or refused push.
pub fn push(
    image: &Image,
    name: &ImageName,
    options: &PushOptions,
    printer: &Printer,
) -> anyhow::Result<()> {
    // reqwest is built without a default crypto provider; a second install is a no-op error.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let registry = name.reference.resolve_registry().to_owned();
    let auth = credentials(&registry, printer);
    let client = Client::new(ClientConfig {
        protocol: if options.insecure {
            ClientProtocol::Http
        } else {
            ClientProtocol::Https
        },
        connect_timeout: Some(std::time::Duration::from_secs(10)),
        ..ClientConfig::default()
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| anyhow::anyhow!("could not start the network runtime: {error}"))?;
    let reference = &name.reference;
    let explain = |error: OciDistributionError| explain(error, &registry, name, options);
    runtime.block_on(async {
        client
            .auth(reference, &auth, RegistryOperation::Push)
            .await
            .map_err(explain)?;
        for blob in [&image.layer, &image.config] {
            if client
                .blob_exists(reference, &blob.digest)
                .await
                .map_err(explain)?
            {
                printer.verbose(format!("{} is already there", blob.digest));
                continue;
            }
            client
                .push_blob(reference, blob.bytes.clone(), &blob.digest)
                .await
                .map_err(explain)?;
            printer.verbose(format!(
                "pushed {} ({} bytes)",
                blob.digest,
                blob.bytes.len()
            ));
        }
        let content_type =
            http::HeaderValue::from_static("application/vnd.oci.image.manifest.v1+json");
        client
            .push_manifest_raw(reference, image.manifest.bytes.clone(), content_type)
            .await
            .map_err(explain)?;
        Ok(())
    })
}

fn explain(
    error: OciDistributionError,
    registry: &str,
    name: &ImageName,
    options: &PushOptions,
) -> anyhow::Error {
    let detail = error_text(&error);
    match &error {
        OciDistributionError::RequestError(request) if request.is_connect() || request.is_timeout() => {
            let scheme = if options.insecure { "http" } else { "https" };
            let help = if options.insecure {
                format!("check that a registry runs at {registry} and that the name is right")
            } else {
                format!("check that a registry runs at {registry}; for a plain-HTTP registry (a local one) pass `--insecure`")
            };
            hint(
                format!("could not reach the registry {scheme}://{registry}: {detail}"),
                help,
            )
        }
        OciDistributionError::AuthenticationFailure(_)
        | OciDistributionError::UnauthorizedError { .. } => refused_login(registry, name, &detail),
        // The Distribution registry answers a failed basic-auth login with 401 on the first
        // blob request, which oci-client passes on as a plain HTTP status error.
        OciDistributionError::RequestError(request)
            if request.status().is_some_and(|status| status.as_u16() == 401) =>
        {
            refused_login(registry, name, &detail)
        }
        _ => hint(
            format!("pushing {} to {registry} failed: {detail}", name.text),
            "check the registry's address and your access to the repository; `--verbose` shows each step",
        ),
    }
}

/// The registry did not accept the credentials (or their absence).
fn refused_login(registry: &str, name: &ImageName, detail: &str) -> anyhow::Error {
    hint(
        format!("the registry {registry} refused the login for {}: {detail}", name.text),
        format!("log in with `docker login {registry}` (cargo wasock reads Docker's config.json), or check your access to the repository"),
    )
}

/// The error and its causes on one line (reqwest hides the OS reason in its sources).
fn error_text(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text.replace('\n', " ")
}
