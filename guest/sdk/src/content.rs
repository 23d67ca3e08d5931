//! MCP content blocks (tool results, prompt messages) and resource contents.

use base64::Engine as _;
use serde_json::{json, Map, Value};

/// Base64 (standard alphabet, padded), as MCP carries binary data.
pub fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// One item of a tool result's `content` or a prompt message's `content`.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    /// Plain text.
    Text(String),
    /// An image: base64 data plus its MIME type.
    Image {
        /// Base64 of the image bytes.
        data: String,
        /// e.g. `image/png`.
        mime_type: String,
    },
    /// Audio: base64 data plus its MIME type.
    Audio {
        /// Base64 of the audio bytes.
        data: String,
        /// e.g. `audio/wav`.
        mime_type: String,
    },
    /// A resource embedded in the result.
    Resource(ResourceContents),
    /// A link to a resource the client may read later.
    ResourceLink {
        /// The resource URI.
        uri: String,
        /// Display name.
        name: String,
        /// MIME type, when known.
        mime_type: Option<String>,
    },
    /// Any other content block, as raw JSON.
    Raw(Value),
}

impl Content {
    /// A text block.
    pub fn text(text: impl Into<String>) -> Content {
        Content::Text(text.into())
    }

    /// An image block from raw bytes.
    pub fn image(bytes: &[u8], mime_type: &str) -> Content {
        Content::Image { data: base64(bytes), mime_type: mime_type.into() }
    }

    /// An audio block from raw bytes.
    pub fn audio(bytes: &[u8], mime_type: &str) -> Content {
        Content::Audio { data: base64(bytes), mime_type: mime_type.into() }
    }

    /// The MCP JSON for this block.
    pub fn to_json(&self) -> Value {
        match self {
            Content::Text(text) => json!({ "type": "text", "text": text }),
            Content::Image { data, mime_type } => json!({ "type": "image", "data": data, "mimeType": mime_type }),
            Content::Audio { data, mime_type } => json!({ "type": "audio", "data": data, "mimeType": mime_type }),
            Content::Resource(r) => json!({ "type": "resource", "resource": r.to_json() }),
            Content::ResourceLink { uri, name, mime_type } => {
                let mut v = json!({ "type": "resource_link", "uri": uri, "name": name });
                if let Some(m) = mime_type {
                    v["mimeType"] = json!(m);
                }
                v
            }
            Content::Raw(v) => v.clone(),
        }
    }
}

/// The contents of one resource: text or binary, with its URI.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceContents {
    /// The URI these contents belong to.
    pub uri: String,
    /// MIME type, when known.
    pub mime_type: Option<String>,
    /// Text or base64 blob.
    pub body: ResourceBody,
}

/// What a resource holds.
#[derive(Debug, Clone, PartialEq)]
pub enum ResourceBody {
    /// UTF-8 text.
    Text(String),
    /// Binary, base64-encoded.
    Blob(String),
}

impl ResourceContents {
    /// Text contents.
    pub fn text(uri: impl Into<String>, mime_type: &str, text: impl Into<String>) -> Self {
        ResourceContents { uri: uri.into(), mime_type: Some(mime_type.into()), body: ResourceBody::Text(text.into()) }
    }

    /// Binary contents from raw bytes.
    pub fn blob(uri: impl Into<String>, mime_type: &str, bytes: &[u8]) -> Self {
        ResourceContents { uri: uri.into(), mime_type: Some(mime_type.into()), body: ResourceBody::Blob(base64(bytes)) }
    }

    /// The MCP `TextResourceContents` / `BlobResourceContents` object.
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("uri".into(), json!(self.uri));
        if let Some(m) = &self.mime_type {
            out.insert("mimeType".into(), json!(m));
        }
        match &self.body {
            ResourceBody::Text(t) => out.insert("text".into(), json!(t)),
            ResourceBody::Blob(b) => out.insert("blob".into(), json!(b)),
        };
        Value::Object(out)
    }
}
