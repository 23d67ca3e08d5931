//! Reads a deploy upload: `multipart/form-data` with a `component` part
//! (the `.wasm` bytes) and an optional `settings` part (TOML or JSON), as
//! `curl -F component=@x.wasm -F settings=@tenant.toml` sends it.

use crate::config::TenantSettings;
use crate::errors::HostError;
use bytes::Bytes;
use http::StatusCode;

fn bad(msg: impl Into<String>) -> HostError {
    HostError::new(StatusCode::BAD_REQUEST, msg)
}

/// The component bytes and parsed settings of an upload.
pub async fn parse(content_type: &str, body: Bytes) -> Result<(Vec<u8>, TenantSettings), HostError> {
    let boundary = multer::parse_boundary(content_type).map_err(|_| {
        bad(format!("expected multipart/form-data with a `component` part (and optional `settings`), got Content-Type `{content_type}`"))
    })?;
    let stream = futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(body) });
    let mut form = multer::Multipart::new(stream, boundary);
    let (mut component, mut settings) = (None, None);
    while let Some(field) = form.next_field().await.map_err(|e| bad(format!("malformed multipart body: {e}")))? {
        let name = field.name().unwrap_or("").to_owned();
        let data = field.bytes().await.map_err(|e| bad(format!("malformed multipart part `{name}`: {e}")))?;
        match name.as_str() {
            "component" => component = Some(data.to_vec()),
            "settings" => {
                let text = String::from_utf8(data.to_vec()).map_err(|_| bad("`settings` must be UTF-8 TOML or JSON"))?;
                settings = Some(TenantSettings::parse(&text).map_err(|e| bad(format!("{e:#}")))?);
            }
            other => return Err(bad(format!("unexpected multipart part `{other}`: send `component` and optionally `settings`"))),
        }
    }
    let component = component.ok_or_else(|| bad("the upload has no `component` part"))?;
    Ok((component, settings.unwrap_or_default()))
}
