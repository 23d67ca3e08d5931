//! The host's own outgoing HTTP (the `hostel tenants` CLI, OTLP export):
//! one HTTP/1.1 request per connection, plain `http://`, the whole
//! exchange bounded in time. (Guests' outgoing HTTP goes through
//! wasi:http and the tenant's allowlist instead, see `outbound`.)

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use std::time::Duration;

/// Sends `request` to `authority` (`host:port`) and returns the status and
/// body; fails when it does not complete within `timeout`.
pub async fn send(authority: &str, request: http::Request<Full<Bytes>>, timeout: Duration) -> anyhow::Result<(http::StatusCode, Bytes)> {
    let exchange = async {
        let stream = tokio::net::TcpStream::connect(authority).await.with_context(|| format!("cannot connect to `{authority}`"))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        let resp = sender.send_request(request).await?;
        let status = resp.status();
        let body = resp.into_body().collect().await?.to_bytes();
        Ok::<_, anyhow::Error>((status, body))
    };
    tokio::time::timeout(timeout, exchange).await.with_context(|| format!("`{authority}` did not answer within {} s", timeout.as_secs()))?
}
