"""Drive Hostel with the official Python MCP client (package `mcp`).

Usage: mcp_client.py BASE_URL   (written against mcp==2.3.0, pinned in .ci/run)
Initializes, lists and calls tools on both demo tenants over Streamable
HTTP (the handshake era), then talks to the `everything` tenant with the
high-level `Client` in its newest mode (`server/discover`, MCP 2026-07-28,
an input-required elicitation answered by a callback) and in legacy mode.
Exits non-zero with a message on any mismatch.
"""

import asyncio
import sys

from mcp import ClientSession, types
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


async def session_check(url, headers, expect_tools, call, expect_text):
    async with create_mcp_http_client(headers=headers) as http, streamable_http_client(url, http_client=http) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            tools = await session.list_tools()
            names = [t.name for t in tools.tools]
            assert names == expect_tools, f"{url}: tools {names} != {expect_tools}"
            for tool in tools.tools:
                assert tool.input_schema.get("type") == "object", f"{tool.name}: {tool.input_schema}"
            result = await session.call_tool(call[0], call[1])
            text = result.content[0].text
            assert not result.is_error, f"{url}: {call} failed: {text}"
            assert text == expect_text, f"{url}: {call} -> {text!r}, want {expect_text!r}"
            await session.send_ping()
            print(f"ok {url} server={init.server_info.name} protocol={init.protocol_version} tools={names}")


async def answer_elicitation(context, params):
    assert "name" in params.requested_schema["properties"], params
    return types.ElicitResult(action="accept", content={"name": "Alice"})


async def client_check(url, mode, expect_version):
    async with Client(url, mode=mode, elicitation_callback=answer_elicitation) as client:
        assert client.protocol_version == expect_version, f"{mode}: negotiated {client.protocol_version}"
        tools = await client.list_tools()
        names = [t.name for t in tools.tools]
        assert "test_simple_text" in names and "add" in names, names
        add = next(t for t in tools.tools if t.name == "add")
        assert add.output_schema and "sum" in add.output_schema["properties"], add
        result = await client.call_tool("add", {"a": 2, "b": 3})
        assert result.structured_content == {"sum": 5.0}, result
        text = (await client.call_tool("test_simple_text", {})).content[0].text
        assert text == "This is a simple text response for testing.", text
        read = await client.read_resource("test://template/42/data")
        assert "42" in read.contents[0].text, read
        prompt = await client.get_prompt("test_prompt_with_arguments", {"arg1": "x", "arg2": "y"})
        assert "arg1='x'" in prompt.messages[0].content.text, prompt
        if expect_version == "2026-07-28":
            # The SDK answers the input-required result with our callback and retries.
            greeting = await client.call_tool("test_input_required_result_elicitation", {})
            assert greeting.content[0].text == "Hello, Alice!", greeting
        print(f"ok {url} mode={mode} protocol={client.protocol_version} tools={len(names)}")


async def main(base):
    await session_check(
        f"{base}/echo/mcp",
        {},
        ["echo", "add", "whoami", "header_names", "header", "counter"],
        ("echo", {"text": "hi from python"}),
        "hi from python",
    )
    await session_check(
        f"{base}/words/mcp",
        {"Authorization": "Bearer tok-words"},
        ["reverse", "word_count", "repeat"],
        ("reverse", {"text": "hostel"}),
        "letsoh",
    )
    await client_check(f"{base}/everything/mcp", "auto", "2026-07-28")
    await client_check(f"{base}/everything/mcp", "legacy", "2025-11-25")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
