//! Prompts: named message templates with string arguments, declared as a
//! Rust function over a `Deserialize + JsonSchema` argument type.

use crate::content::Content;
use crate::ctx::Ctx;
use crate::tool::{parse_args, BadArguments, ToolError};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

/// Who a prompt message is from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The user.
    User,
    /// The assistant.
    Assistant,
}

/// One message of a prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct PromptMessage {
    /// Sender.
    pub role: Role,
    /// One content block.
    pub content: Content,
}

impl PromptMessage {
    /// A user message.
    pub fn user(content: Content) -> Self {
        PromptMessage { role: Role::User, content }
    }

    /// An assistant message.
    pub fn assistant(content: Content) -> Self {
        PromptMessage { role: Role::Assistant, content }
    }

    fn to_json(&self) -> Value {
        let role = match self.role {
            Role::User => "user",
            Role::Assistant => "assistant",
        };
        json!({ "role": role, "content": self.content.to_json() })
    }
}

/// The `prompts/get` result.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PromptResult {
    /// Optional description of this rendering.
    pub description: Option<String>,
    /// The messages.
    pub messages: Vec<PromptMessage>,
}

impl PromptResult {
    /// A result with these messages.
    pub fn new(messages: Vec<PromptMessage>) -> Self {
        PromptResult { description: None, messages }
    }

    /// The MCP `GetPromptResult` object.
    pub fn to_json(&self) -> Value {
        let mut out = json!({ "messages": self.messages.iter().map(PromptMessage::to_json).collect::<Vec<_>>() });
        if let Some(d) = &self.description {
            out["description"] = json!(d);
        }
        out
    }
}

pub(crate) type PromptHandler = Box<dyn Fn(Value, &Ctx) -> Result<Result<PromptResult, ToolError>, BadArguments>>;

/// A registered prompt.
pub(crate) struct Prompt {
    pub name: String,
    pub description: String,
    pub arguments: fn() -> Value,
    pub handler: PromptHandler,
}

impl Prompt {
    pub fn new<A, F>(name: &str, description: &str, f: F) -> Prompt
    where
        A: DeserializeOwned + schemars::JsonSchema + 'static,
        F: Fn(A, &Ctx) -> Result<PromptResult, ToolError> + 'static,
    {
        let handler: PromptHandler = Box::new(move |args, ctx| Ok(f(parse_args(args)?, ctx)));
        Prompt { name: name.into(), description: description.into(), arguments: arguments::<A>, handler }
    }

    pub fn describe(&self) -> Value {
        json!({ "name": self.name, "description": self.description, "arguments": (self.arguments)() })
    }
}

/// MCP prompt arguments (`[{name, description?, required}]`) from the
/// properties of `A`'s derived schema.
fn arguments<A: schemars::JsonSchema>() -> Value {
    let schema = crate::tool::object_schema::<A>();
    let required: Vec<&str> = schema["required"].as_array().map_or(Vec::new(), |r| r.iter().filter_map(Value::as_str).collect());
    let props = schema["properties"].as_object().cloned().unwrap_or_default();
    Value::Array(
        props
            .iter()
            .map(|(name, prop)| {
                let mut arg = json!({ "name": name, "required": required.contains(&name.as_str()) });
                if let Some(d) = prop.get("description") {
                    arg["description"] = d.clone();
                }
                arg
            })
            .collect(),
    )
}
