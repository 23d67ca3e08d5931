// The MCP TypeScript SDK anchor for bench/run.sh: a stateless Streamable
// HTTP server with the same `echo` tool, in fresh-server-per-request mode
// (the SDK's recommended stateless pattern: no state shared between
// requests, like Hostel's fresh instance). Prints its address first.
// Usage: node bench/ts-echo.mjs   (from tests/mcp's node_modules)
import http from "node:http";
import { createRequire } from "node:module";
const require = createRequire(new URL("../tests/mcp/package.json", import.meta.url));
const { McpServer } = await import(require.resolve("@modelcontextprotocol/sdk/server/mcp.js"));
const { StreamableHTTPServerTransport } = await import(require.resolve("@modelcontextprotocol/sdk/server/streamableHttp.js"));
const { z } = await import(require.resolve("zod"));

function newServer() {
  const server = new McpServer({ name: "ts-echo", version: "1.0.0" });
  server.tool("echo", "Echo the text back", { text: z.string() }, async ({ text }) => ({ content: [{ type: "text", text }] }));
  return server;
}

const httpServer = http.createServer(async (req, res) => {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  let body;
  try { body = JSON.parse(Buffer.concat(chunks).toString()); } catch { res.writeHead(400).end(); return; }
  const server = newServer();
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  res.on("close", () => { transport.close(); server.close(); });
  await server.connect(transport);
  await transport.handleRequest(req, res, body);
});
httpServer.listen(0, "127.0.0.1", () => {
  const { address, port } = httpServer.address();
  console.log(`ts-echo listening on http://${address}:${port}`);
});
