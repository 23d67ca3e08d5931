//! Demo tenant with different tools from `echo`: small text utilities.

use hostel_sdk::{Ctx, Deserialize, JsonSchema, Server, ToolError, ToolResult};

#[derive(Deserialize, JsonSchema)]
struct TextArgs {
    /// Input text.
    text: String,
}

#[derive(Deserialize, JsonSchema)]
struct RepeatArgs {
    /// Text to repeat.
    text: String,
    /// How many times (1–100).
    times: u32,
}

fn server() -> Server {
    Server::new("wordsmith", env!("CARGO_PKG_VERSION"))
        .tool("reverse", "Reverse the characters of the text", |a: TextArgs, _: &Ctx| {
            Ok(ToolResult::text(a.text.chars().rev().collect::<String>()))
        })
        .tool("word_count", "Count the words in the text", |a: TextArgs, _: &Ctx| {
            Ok(ToolResult::json(serde_json::json!({ "words": a.text.split_whitespace().count() })))
        })
        .tool("repeat", "Repeat the text a number of times", |a: RepeatArgs, _: &Ctx| {
            if !(1..=100).contains(&a.times) {
                return Err(ToolError::new(format!("`times` must be between 1 and 100, got {}", a.times)));
            }
            Ok(ToolResult::text(a.text.repeat(a.times as usize)))
        })
}

hostel_sdk::export!(server);
