//! `hostel tenants …`: a command-line front for the admin API, so
//! operators never hand-write multipart uploads.

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use http_body_util::Full;
use std::path::Path;

/// What to do.
#[derive(Debug, clap::Subcommand)]
pub enum TenantsCommand {
    /// List tenants with status and source.
    List,
    /// Upload a component (and settings) as tenant NAME, swapping it in
    /// atomically once compiled.
    Deploy {
        /// Tenant name.
        name: String,
        /// The component (`.wasm`).
        component: std::path::PathBuf,
        /// Settings file (TOML or JSON): tokens, hosts, outbound, limits, entry.
        #[arg(long)]
        settings: Option<std::path::PathBuf>,
    },
    /// Stop serving tenant NAME (its key-value data is kept).
    Remove {
        /// Tenant name.
        name: String,
    },
    /// Replace tenant NAME's bearer tokens.
    Tokens {
        /// Tenant name.
        name: String,
        /// The new tokens (none: the tenant becomes open).
        tokens: Vec<String>,
    },
}

/// `hostel tenants`.
#[derive(Debug, clap::Args)]
pub struct TenantsArgs {
    /// The server's admin address (its `--admin-listen`, or main listener).
    #[arg(long, env = "HOSTEL_SERVER", default_value = "http://127.0.0.1:8080")]
    pub server: String,
    /// Admin token.
    #[arg(long, env = "HOSTEL_ADMIN_TOKEN", hide_env_values = true)]
    pub token: String,
    /// What to do.
    #[command(subcommand)]
    pub command: TenantsCommand,
}

/// Runs one admin command and prints the server's JSON answer.
pub fn run(args: &TenantsArgs) -> Result<()> {
    let (method, path, content_type, body) = match &args.command {
        TenantsCommand::List => ("GET", "/admin/tenants".to_owned(), None, Vec::new()),
        TenantsCommand::Deploy { name, component, settings } => {
            let (ctype, body) = multipart(component, settings.as_deref())?;
            ("PUT", format!("/admin/tenants/{name}"), Some(ctype), body)
        }
        TenantsCommand::Remove { name } => ("DELETE", format!("/admin/tenants/{name}"), None, Vec::new()),
        TenantsCommand::Tokens { name, tokens } => {
            let body = serde_json::to_vec(&serde_json::json!({ "tokens": tokens }))?;
            ("PUT", format!("/admin/tenants/{name}/tokens"), Some("application/json".to_owned()), body)
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let (status, text) = runtime.block_on(send(&args.server, &args.token, method, &path, content_type, body))?;
    println!("{text}");
    if !status.is_success() {
        bail!("{method} {path}: HTTP {status}");
    }
    Ok(())
}

fn multipart(component: &Path, settings: Option<&Path>) -> Result<(String, Vec<u8>)> {
    let boundary = format!("hostel-{:016x}", std::hash::BuildHasher::hash_one(&std::collections::hash_map::RandomState::new(), 1));
    let wasm = std::fs::read(component).with_context(|| format!("failed to read `{}`", component.display()))?;
    let mut body = Vec::new();
    let mut part = |name: &str, ctype: &str, data: &[u8]| {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{name}\"\r\nContent-Type: {ctype}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    };
    part("component", "application/wasm", &wasm);
    if let Some(path) = settings {
        let text = std::fs::read(path).with_context(|| format!("failed to read `{}`", path.display()))?;
        part("settings", "text/plain", &text);
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    Ok((format!("multipart/form-data; boundary={boundary}"), body))
}

/// How long a command may take: a deploy waits for the server to compile.
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);

async fn send(
    server: &str,
    token: &str,
    method: &str,
    path: &str,
    ctype: Option<String>,
    body: Vec<u8>,
) -> Result<(http::StatusCode, String)> {
    let authority = server.strip_prefix("http://").with_context(|| format!("`--server {server}`: only http:// URLs are supported"))?;
    let authority = authority.trim_end_matches('/');
    let mut req = http::Request::builder()
        .method(method)
        .uri(path)
        .header(http::header::HOST, authority)
        .header(http::header::AUTHORIZATION, format!("Bearer {token}"));
    if let Some(ctype) = ctype {
        req = req.header(http::header::CONTENT_TYPE, ctype);
    }
    let (status, bytes) = crate::http_client::send(authority, req.body(Full::new(Bytes::from(body)))?, TIMEOUT).await?;
    Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
}
