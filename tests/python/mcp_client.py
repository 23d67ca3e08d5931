"""Drive Hostel with the official Python MCP client (package `mcp`).

Usage: mcp_client.py BASE_URL   (written against mcp==2.3.0, pinned in .ci/run)
Initializes, lists and calls tools on both demo tenants over Streamable
HTTP; exits non-zero with a message on any mismatch.
"""

import asyncio
import sys

from mcp import ClientSession
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


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
