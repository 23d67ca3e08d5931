// Drives a Hostel tenant with the official MCP TypeScript SDK client
// (@modelcontextprotocol/sdk, pinned in package-lock.json).
// Usage: node ts_client.mjs URL   (the `everything` tenant's MCP endpoint)
// Lists and calls tools, follows pagination, reads a resource, gets a
// prompt and asks for completions; exits non-zero on any mismatch.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import assert from "node:assert/strict";

const url = new URL(process.argv[2]);
const client = new Client({ name: "hostel-ts-check", version: "1.0.0" });
await client.connect(new StreamableHTTPClientTransport(url));

const tools = (await client.listTools()).tools;
const names = tools.map((t) => t.name);
assert.ok(names.includes("test_simple_text") && names.includes("add"), `tools: ${names}`);
assert.ok(tools.find((t) => t.name === "add").outputSchema, "add has an output schema");

const text = await client.callTool({ name: "test_simple_text", arguments: {} });
assert.equal(text.content[0].text, "This is a simple text response for testing.");
// The SDK validates structuredContent against the tool's outputSchema.
const sum = await client.callTool({ name: "add", arguments: { a: 2, b: 40 } });
assert.deepEqual(sum.structuredContent, { sum: 42 });
const failed = await client.callTool({ name: "test_error_handling", arguments: {} });
assert.equal(failed.isError, true);

const progress = [];
await client.callTool({ name: "test_tool_with_progress", arguments: {} }, undefined, {
  onprogress: (p) => progress.push(p.progress),
});
assert.deepEqual(progress, [0, 50, 100], "progress notifications over SSE");

const resource = await client.readResource({ uri: "test://static-text" });
assert.equal(resource.contents[0].text, "This is the content of the static text resource.");
const prompt = await client.getPrompt({ name: "test_prompt_with_arguments", arguments: { arg1: "a", arg2: "b" } });
assert.match(prompt.messages[0].content.text, /arg1='a'/);
const done = await client.complete({ ref: { type: "ref/prompt", name: "test_prompt_with_arguments" }, argument: { name: "arg1", value: "test" } });
assert.deepEqual(done.completion.values, ["test", "testValue1"]);

await client.close();
console.log(`ok ${url} protocol=${client.getServerVersion()?.name} tools=${names.length}`);
