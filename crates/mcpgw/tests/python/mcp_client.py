"""A real MCP client (the official Python SDK, PyPI `mcp` 2.x) driven by the Rust tests.

Usage: mcp_client.py (http|sse) URL TOKEN

Connects through the gateway, then in one session: lists tools, calls `get-sum`, and calls
`trigger-long-running-operation` with a progress callback. Prints one JSON object with
what it saw; exits non-zero with the error on stderr if anything fails.
"""

import asyncio
import json
import sys
import time

from mcp import ClientSession
from mcp.client.sse import sse_client
from mcp.client.streamable_http import create_mcp_http_client, streamable_http_client


async def exercise(session: ClientSession) -> dict:
    init = await session.initialize()
    tools = await session.list_tools()
    total = await session.call_tool("get-sum", {"a": 2, "b": 3})
    progress = []

    async def on_progress(value, total_steps, message):
        progress.append({"progress": value, "total": total_steps, "at": time.monotonic()})

    long_run = await session.call_tool(
        "trigger-long-running-operation",
        {"duration": 2, "steps": 4},
        progress_callback=on_progress,
    )
    finished_at = time.monotonic()
    return {
        "protocol_version": init.protocol_version,
        "server_name": init.server_info.name,
        "tools": [tool.name for tool in tools.tools],
        "sum_text": [c.text for c in total.content if getattr(c, "type", "") == "text"],
        "long_run_error": bool(long_run.is_error),
        "progress_count": len(progress),
        "first_progress_before_result": bool(progress) and progress[0]["at"] < finished_at,
        "progress_spread_over_run": len(progress) > 1 and progress[-1]["at"] > progress[0]["at"],
    }


async def main() -> None:
    transport, url, token = sys.argv[1], sys.argv[2], sys.argv[3]
    headers = {"Authorization": f"Bearer {token}"}
    if transport == "http":
        async with create_mcp_http_client(headers=headers) as http_client:
            async with streamable_http_client(url, http_client=http_client) as (read, write):
                async with ClientSession(read, write) as session:
                    result = await exercise(session)
    else:
        async with sse_client(url, headers=headers) as (read, write):
            async with ClientSession(read, write) as session:
                result = await exercise(session)
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())
