"""A real MCP client (the official Python SDK, PyPI `mcp` 2.x) that reports what a caller
may see and do through the gateway, for the access-control tests.

Usage: policy_client.py (http|sse) URL TOKEN CALLS_JSON

CALLS_JSON is a list of {"name": tool, "arguments": {...}}. In one session: initialise, list
the tools, then call each tool in turn. Prints one JSON object: the tool names listed and,
per call, "ok", "tool_error" (an isError result) or "refused: <what the client saw>".
A call that gets no answer within 10 s is reported as "timeout". Exits non-zero with the
error on stderr if the session itself fails.
"""

import asyncio
import json
import sys

from mcp import ClientSession
from mcp.client.sse import sse_client
from mcp.client.streamable_http import create_mcp_http_client, streamable_http_client


async def exercise(session: ClientSession, calls: list) -> dict:
    await session.initialize()
    tools = await session.list_tools()
    outcomes = []
    for call in calls:
        try:
            result = await asyncio.wait_for(
                session.call_tool(call["name"], call.get("arguments", {})), timeout=10
            )
            outcomes.append("tool_error" if result.is_error else "ok")
        except asyncio.TimeoutError:
            outcomes.append("timeout")
        except Exception as error:  # the SDK raises McpError or an HTTP error
            outcomes.append(f"refused: {error}")
    return {"tools": sorted(tool.name for tool in tools.tools), "calls": outcomes}


async def main() -> None:
    transport, url, token, calls = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
    headers = {"Authorization": f"Bearer {token}"}
    if transport == "http":
        async with create_mcp_http_client(headers=headers) as http_client:
            async with streamable_http_client(url, http_client=http_client) as (read, write):
                async with ClientSession(read, write) as session:
                    result = await exercise(session, calls)
    else:
        async with sse_client(url, headers=headers) as (read, write):
            async with ClientSession(read, write) as session:
                result = await exercise(session, calls)
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())
