//! Tools built on 2026-07-28 input-required results (the conformance
//! suite's `input-required-result-*` scenarios): elicitation, sampling,
//! roots, sealed request state, several inputs at once, several rounds,
//! and choosing what to ask by the client's declared capabilities.

use crate::NoArgs;
use hostel_sdk::{Ctx, InputRequired, Server, ToolError, ToolResult};
use serde_json::{json, Value};

/// The value of field `field` in an accepted elicitation answered under `key`.
pub fn accepted(ctx: &Ctx, key: &str, field: &str) -> Option<String> {
    let answer = ctx.input(key)?;
    if answer["action"] != "accept" {
        return None;
    }
    match &answer["content"][field] {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// The text of a sampling answer under `key`.
pub fn sampled_text(ctx: &Ctx, key: &str) -> Option<String> {
    ctx.input(key)?["content"]["text"].as_str().map(str::to_owned)
}

/// An elicitation of one string field.
pub fn ask_text(key: &str, message: &str, field: &str) -> InputRequired {
    let schema = json!({ "type": "object", "properties": { field: { "type": "string" } }, "required": [field] });
    InputRequired::new().elicit(key, message, schema)
}

fn ask_ok(key: &str) -> InputRequired {
    let schema = json!({ "type": "object", "properties": { "ok": { "type": "boolean" } }, "required": ["ok"] });
    InputRequired::new().elicit(key, "Please confirm", schema)
}

pub fn tools(server: Server) -> Server {
    server
        .tool("test_input_required_result_elicitation", "Asks the user's name, then greets them", |_: NoArgs, ctx: &Ctx| {
            match accepted(ctx, "user_name", "name") {
                Some(name) => Ok(ToolResult::text(format!("Hello, {name}!"))),
                None => Err(ask_text("user_name", "What is your name?", "name").into()),
            }
        })
        .tool("test_streaming_elicitation", "Asks the user's name (an input-required result, never a stream)", |_: NoArgs, ctx: &Ctx| {
            match accepted(ctx, "user_name", "name") {
                Some(name) => Ok(ToolResult::text(format!("Hello, {name}!"))),
                None => Err(ask_text("user_name", "What is your name?", "name").into()),
            }
        })
        .tool("test_input_required_result_sampling", "Asks the client's model a question", |_: NoArgs, ctx: &Ctx| {
            match sampled_text(ctx, "capital_question") {
                Some(text) => Ok(ToolResult::text(format!("The model said: {text}"))),
                None => Err(InputRequired::new().sample("capital_question", "What is the capital of France?", 100).into()),
            }
        })
        .tool("test_input_required_result_list_roots", "Asks for the client's roots", |_: NoArgs, ctx: &Ctx| {
            match ctx.input("client_roots") {
                Some(answer) => Ok(ToolResult::text(format!("Roots: {}", answer["roots"]))),
                None => Err(InputRequired::new().list_roots("client_roots").into()),
            }
        })
        .tool("test_input_required_result_request_state", "Round-trips sealed request state", |_: NoArgs, ctx: &Ctx| {
            match (ctx.request_state(), ctx.input("confirm")) {
                (Some(state), Some(_)) if state["issued_by"] == "request_state" => Ok(ToolResult::text("state-ok")),
                _ => Err(ask_ok("confirm").state(json!({ "issued_by": "request_state" })).into()),
            }
        })
        .tool("test_input_required_result_tampered_state", "Refuses a request state the client altered", |_: NoArgs, ctx: &Ctx| {
            match (ctx.request_state(), ctx.input("confirm")) {
                (Some(_), Some(_)) => Ok(ToolResult::text("state verified")),
                _ => Err(ask_ok("confirm").state(json!({ "issued_by": "tampered_state" })).into()),
            }
        })
        .tool("test_input_required_result_multiple_inputs", "Asks for a name, a greeting and roots at once", |_: NoArgs, ctx: &Ctx| {
            let name = accepted(ctx, "user_name", "name");
            let greeting = sampled_text(ctx, "greeting");
            match (name, greeting, ctx.input("client_roots"), ctx.request_state()) {
                (Some(name), Some(greeting), Some(_), Some(_)) => Ok(ToolResult::text(format!("{greeting} {name}"))),
                _ => Err(ask_text("user_name", "What is your name?", "name")
                    .sample("greeting", "Generate a greeting", 50)
                    .list_roots("client_roots")
                    .state(json!({ "round": 1 }))
                    .into()),
            }
        })
        .tool("test_input_required_result_multi_round", "Asks a name, then a colour, in two rounds", multi_round)
        .tool("test_input_required_result_capabilities", "Asks only what the client declared it can answer", |_: NoArgs, ctx: &Ctx| {
            if let Some(answer) = ctx.input("user_input").or(ctx.input("sample_input")).or(ctx.input("client_roots")) {
                return Ok(ToolResult::text(format!("Got: {answer}")));
            }
            let ask = if ctx.client_supports("elicitation") != Some(false) {
                ask_text("user_input", "What should I use?", "value")
            } else if ctx.client_supports("sampling") != Some(false) {
                InputRequired::new().sample("sample_input", "Suggest a value", 50)
            } else if ctx.client_supports("roots") != Some(false) {
                InputRequired::new().list_roots("client_roots")
            } else {
                return Ok(ToolResult::text("The client can answer no input requests; going on without input."));
            };
            Err(ask.into())
        })
}

fn multi_round(_: NoArgs, ctx: &Ctx) -> Result<ToolResult, ToolError> {
    let state = ctx.request_state().cloned().unwrap_or(Value::Null);
    let round1 = || ask_text("step1", "Step 1: What is your name?", "name").state(json!({ "step": 1 }));
    match state["step"].as_u64() {
        Some(1) => match accepted(ctx, "step1", "name") {
            Some(name) => {
                Err(ask_text("step2", "Step 2: What is your favorite color?", "color").state(json!({ "step": 2, "name": name })).into())
            }
            None => Err(round1().into()),
        },
        Some(2) => match accepted(ctx, "step2", "color") {
            Some(color) => Ok(ToolResult::text(format!("{} likes {color}", state["name"].as_str().unwrap_or("someone")))),
            None => Err(ask_text("step2", "Step 2: What is your favorite color?", "color").state(state).into()),
        },
        _ => Err(round1().into()),
    }
}

/// SEP-1034: a form whose fields carry defaults.
pub fn sep1034_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "name": { "type": "string", "description": "User name", "default": "John Doe" },
            "age": { "type": "integer", "description": "User age", "default": 30 },
            "score": { "type": "number", "description": "User score", "default": 95.5 },
            "status": { "type": "string", "description": "User status", "enum": ["active", "inactive", "pending"], "default": "active" },
            "verified": { "type": "boolean", "description": "Verification status", "default": true },
        },
        "required": [],
    })
}

/// SEP-1330: single and multi-select enums, titled and untitled.
pub fn sep1330_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "untitledSingle": { "type": "string", "description": "Select one option", "enum": ["option1", "option2", "option3"] },
            "titledSingle": { "type": "string", "description": "Select one option with titles", "oneOf": [
                { "const": "value1", "title": "First Option" }, { "const": "value2", "title": "Second Option" }, { "const": "value3", "title": "Third Option" } ] },
            "legacyEnum": { "type": "string", "description": "Select one option (legacy)", "enum": ["opt1", "opt2", "opt3"],
                "enumNames": ["Option One", "Option Two", "Option Three"] },
            "untitledMulti": { "type": "array", "description": "Select multiple options", "minItems": 1, "maxItems": 3,
                "items": { "type": "string", "enum": ["option1", "option2", "option3"] } },
            "titledMulti": { "type": "array", "description": "Select multiple options with titles", "minItems": 1, "maxItems": 3,
                "items": { "anyOf": [ { "const": "value1", "title": "First Choice" }, { "const": "value2", "title": "Second Choice" },
                    { "const": "value3", "title": "Third Choice" } ] } },
        },
        "required": [],
    })
}
