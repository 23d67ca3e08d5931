//! Every MCP feature the SDK has, shaped as the fixtures the official
//! conformance suite (`@modelcontextprotocol/conformance`) calls: content
//! types, errors, progress and logs, resources and templates, prompts,
//! completion, typed output, and 2026-07-28 input-required results.

use hostel_sdk::{
    Content, Ctx, Deserialize, InputRequired, JsonSchema, LogLevel, PromptMessage, PromptResult, ResourceContents, ResourceInfo, Serialize,
    Server, ToolError, ToolResult,
};
use serde_json::{json, Value};

mod inputs;

/// A 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
    0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63,
    0xfc, 0xcf, 0xc0, 0xf0, 0x1f, 0x00, 0x05, 0x05, 0x02, 0x00, 0x5f, 0xc8, 0xf1, 0xd2, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44,
    0xae, 0x42, 0x60, 0x82,
];

/// A minimal (silent) WAV file.
const WAV: &[u8] = &[
    0x52, 0x49, 0x46, 0x46, 0x26, 0x00, 0x00, 0x00, 0x57, 0x41, 0x56, 0x45, 0x66, 0x6d, 0x74, 0x20, 0x10, 0x00, 0x00, 0x00, 0x01, 0x00,
    0x01, 0x00, 0x40, 0x1f, 0x00, 0x00, 0x00, 0x7d, 0x00, 0x00, 0x02, 0x00, 0x10, 0x00, 0x64, 0x61, 0x74, 0x61, 0x02, 0x00, 0x00, 0x00,
    0x00, 0x00,
];

/// Tools that take no arguments.
#[derive(Deserialize, JsonSchema)]
pub struct NoArgs {}

#[derive(Deserialize, JsonSchema)]
struct PromptArgs {
    /// The prompt for the model.
    prompt: String,
}

#[derive(Deserialize, JsonSchema)]
struct MessageArgs {
    /// What to ask the user.
    message: String,
}

#[derive(Deserialize, JsonSchema)]
struct AddArgs {
    /// First addend.
    a: f64,
    /// Second addend.
    b: f64,
}

/// A typed tool result: its schema becomes the tool's `outputSchema`.
#[derive(Serialize, JsonSchema)]
struct Sum {
    /// `a + b`.
    sum: f64,
}

#[derive(Deserialize, JsonSchema)]
struct TwoArgs {
    /// First argument.
    arg1: String,
    /// Second argument.
    arg2: String,
}

#[derive(Deserialize, JsonSchema)]
struct ResourceUriArg {
    /// URI of the resource to embed.
    #[serde(rename = "resourceUri")]
    resource_uri: String,
}

fn server() -> Server {
    let server = Server::new("hostel-everything", env!("CARGO_PKG_VERSION"))
        .instructions("Conformance fixtures: every MCP feature the Hostel SDK supports.");
    resources(prompts(inputs::tools(content_tools(server))))
}

fn content_tools(server: Server) -> Server {
    server
        .tool("test_simple_text", "Returns a simple text response", |_: NoArgs, _: &Ctx| {
            Ok(ToolResult::text("This is a simple text response for testing."))
        })
        .tool("test_image_content", "Returns a 1x1 PNG image", |_: NoArgs, _: &Ctx| {
            Ok(ToolResult::content(vec![Content::image(PNG, "image/png")]))
        })
        .tool("test_audio_content", "Returns a short WAV clip", |_: NoArgs, _: &Ctx| {
            Ok(ToolResult::content(vec![Content::audio(WAV, "audio/wav")]))
        })
        .tool("test_embedded_resource", "Returns an embedded text resource", |_: NoArgs, _: &Ctx| {
            let r = ResourceContents::text("test://embedded-resource", "text/plain", "This is an embedded resource content.");
            Ok(ToolResult::content(vec![Content::Resource(r)]))
        })
        .tool("test_multiple_content_types", "Returns text, an image and a resource", |_: NoArgs, _: &Ctx| {
            Ok(ToolResult::content(vec![
                Content::text("Multiple content types test:"),
                Content::image(PNG, "image/png"),
                Content::Resource(ResourceContents::text(
                    "test://mixed-content-resource",
                    "application/json",
                    json!({ "test": "data", "value": 123 }).to_string(),
                )),
            ]))
        })
        .tool("test_error_handling", "Always fails (an isError result)", |_: NoArgs, _: &Ctx| {
            Err(ToolError::new("This tool intentionally returns an error for testing"))
        })
        .tool("test_tool_with_logging", "Logs three messages while it runs", log_three)
        .tool("test_logging_tool", "Logs three messages while it runs (2026-07-28: only at the requested level)", log_three)
        .tool("test_tool_with_progress", "Reports progress 0, 50, 100 of 100", |_: NoArgs, ctx: &Ctx| {
            for step in [0.0, 50.0, 100.0] {
                ctx.progress(step, Some(100.0), Some(&format!("{step}% done")));
            }
            Ok(ToolResult::text("Progress test completed"))
        })
        .typed_tool("add", "Adds two numbers (typed result with an output schema)", |a: AddArgs, _: &Ctx| Ok(Sum { sum: a.a + a.b }))
        .raw_tool("json_schema_2020_12_tool", "Takes an input schema using JSON Schema 2020-12 keywords", schema_2020_12(), |args, _| {
            Ok(ToolResult::text(format!("received {args}")))
        })
        .tool("test_missing_capability", "Needs the client's sampling capability", |_: NoArgs, ctx: &Ctx| {
            ToolError::require_capability(ctx, "sampling")?;
            Ok(ToolResult::text("Success"))
        })
        .tool("test_sampling", "Asks the client's model to answer `prompt`", |a: PromptArgs, ctx: &Ctx| {
            match inputs::sampled_text(ctx, "llm") {
                Some(text) => Ok(ToolResult::text(format!("LLM response: {text}"))),
                None => Err(InputRequired::new().sample("llm", &a.prompt, 100).into()),
            }
        })
        .tool("test_elicitation", "Asks the user for a username and email", |a: MessageArgs, ctx: &Ctx| {
            let schema = json!({
                "type": "object",
                "properties": {
                    "username": { "type": "string", "description": "User's response" },
                    "email": { "type": "string", "description": "User's email address" },
                },
                "required": ["username", "email"],
            });
            match ctx.input("user_info") {
                Some(answer) => Ok(ToolResult::text(format!("User response: {answer}"))),
                None => Err(InputRequired::new().elicit("user_info", &a.message, schema).into()),
            }
        })
        .tool("test_elicitation_sep1034_defaults", "Elicits a form whose fields have defaults", |_: NoArgs, ctx: &Ctx| {
            elicit_form(ctx, "Please review and update the form fields with defaults", inputs::sep1034_schema())
        })
        .tool("test_elicitation_sep1330_enums", "Elicits a form with every enum style", |_: NoArgs, ctx: &Ctx| {
            elicit_form(ctx, "Please select options from the enum fields", inputs::sep1330_schema())
        })
}

fn log_three(_: NoArgs, ctx: &Ctx) -> Result<ToolResult, ToolError> {
    for message in ["Tool execution started", "Tool processing data", "Tool execution completed"] {
        ctx.log(LogLevel::Info, message);
    }
    Ok(ToolResult::text("Logging test completed"))
}

fn elicit_form(ctx: &Ctx, message: &str, schema: Value) -> Result<ToolResult, ToolError> {
    match ctx.input("form") {
        Some(answer) => Ok(ToolResult::text(format!("Form result: {answer}"))),
        None => Err(InputRequired::new().elicit("form", message, schema).into()),
    }
}

fn schema_2020_12() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "$defs": { "address": { "$anchor": "addressDef", "type": "object",
            "properties": { "street": { "type": "string" }, "city": { "type": "string" } } } },
        "properties": {
            "name": { "type": "string" },
            "address": { "$ref": "#/$defs/address" },
            "contactMethod": { "type": "string", "enum": ["phone", "email"] },
            "phone": { "type": "string" },
            "email": { "type": "string" },
        },
        "allOf": [{ "anyOf": [{ "required": ["phone"] }, { "required": ["email"] }] }],
        "if": { "properties": { "contactMethod": { "const": "phone" } }, "required": ["contactMethod"] },
        "then": { "required": ["phone"] },
        "else": { "required": ["email"] },
        "additionalProperties": false,
    })
}

fn prompts(server: Server) -> Server {
    server
        .prompt("test_simple_prompt", "A simple prompt without arguments", |_: NoArgs, _: &Ctx| {
            Ok(PromptResult::new(vec![PromptMessage::user(Content::text("This is a simple prompt for testing."))]))
        })
        .prompt("test_prompt_with_arguments", "A prompt with two required arguments", |a: TwoArgs, _: &Ctx| {
            let text = format!("Prompt with arguments: arg1='{}', arg2='{}'", a.arg1, a.arg2);
            Ok(PromptResult::new(vec![PromptMessage::user(Content::text(text))]))
        })
        .prompt("test_prompt_with_embedded_resource", "A prompt embedding a resource", |a: ResourceUriArg, _: &Ctx| {
            let r = ResourceContents::text(a.resource_uri, "text/plain", "Embedded resource content for testing.");
            Ok(PromptResult::new(vec![
                PromptMessage::user(Content::Resource(r)),
                PromptMessage::user(Content::text("Please process the embedded resource above.")),
            ]))
        })
        .prompt("test_prompt_with_image", "A prompt with an image", |_: NoArgs, _: &Ctx| {
            Ok(PromptResult::new(vec![
                PromptMessage::user(Content::image(PNG, "image/png")),
                PromptMessage::user(Content::text("Please analyze the image above.")),
            ]))
        })
        .prompt("test_input_required_result_prompt", "Asks the user for context before rendering (2026-07-28)", |_: NoArgs, ctx: &Ctx| {
            match inputs::accepted(ctx, "user_context", "context") {
                Some(context) => Ok(PromptResult::new(vec![PromptMessage::user(Content::text(format!("Use this context: {context}")))])),
                None => Err(inputs::ask_text("user_context", "What context should the prompt use?", "context").into()),
            }
        })
        .prompt_completion("test_prompt_with_arguments", |arg, prefix, _, _| {
            let options: &[&str] = match arg {
                "arg1" => &["test", "testValue1", "paris", "tokyo"],
                _ => &["testValue2", "red", "green", "blue"],
            };
            options.iter().filter(|o| o.starts_with(prefix)).map(|o| o.to_string()).collect()
        })
}

fn resources(server: Server) -> Server {
    server
        .resource("test://static-text", ResourceInfo::new("Static text", "A fixed text resource", "text/plain"), |_| {
            Ok(vec![ResourceContents::text("test://static-text", "text/plain", "This is the content of the static text resource.")])
        })
        .resource("test://static-binary", ResourceInfo::new("Static binary", "A fixed PNG", "image/png"), |_| {
            Ok(vec![ResourceContents::blob("test://static-binary", "image/png", PNG)])
        })
        .resource_template(
            "test://template/{id}/data",
            ResourceInfo::new("Templated data", "JSON data for any id", "application/json"),
            |uri, vars, _| {
                let id = &vars["id"];
                let text = json!({ "id": id, "templateTest": true, "data": format!("Data for ID: {id}") }).to_string();
                Ok(vec![ResourceContents::text(uri, "application/json", text)])
            },
        )
        .template_completion("test://template/{id}/data", |_, prefix, _, _| {
            ["123", "456", "789"].iter().filter(|v| v.starts_with(prefix)).map(|v| v.to_string()).collect()
        })
}

hostel_sdk::export!(server);
