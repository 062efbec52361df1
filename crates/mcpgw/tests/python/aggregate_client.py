"""A real MCP client (the official Python SDK, PyPI `mcp` 2.x) of the gateway's aggregated
endpoint, driven step by step by the Rust test that starts it.

Usage: aggregate_client.py (http|sse) (stateful|stateless) URL TOKEN

Reads one JSON command per line on stdin and answers each with one JSON line on stdout,
all in one session:
  {"op": "list"}                            -> {"tools": [names], "servers": {name: _meta server}}
  {"op": "call", "name": N, "arguments": A} -> {"ok": true, "is_error": b, "text": t,
                                                "structured": s, "progress": [p, ...]}
                                             | {"ok": false, "error": "<what the client saw>"}
  {"op": "changed", "timeout": S}           -> {"changed": b}: whether a tools/list_changed
                                               notification arrived since the last "changed"
  {"op": "quit"}
"stateful" initialises a 2025-11-25 session (list changes arrive on its GET stream);
"stateless" uses 2026-07-28 `server/discover` and a `subscriptions/listen` stream.
"""

import asyncio
import json
import sys

import anyio
import mcp_types as types
from mcp import ClientSession
from mcp.client.sse import sse_client
from mcp.client.streamable_http import create_mcp_http_client, streamable_http_client
from mcp.client.subscriptions import listen

changes = anyio.Event()


async def on_message(message) -> None:
    global changes
    if isinstance(message, types.ToolListChangedNotification):
        changes.set()


def text_of(result) -> str:
    return "".join(getattr(block, "text", "") for block in result.content)


async def step(session: ClientSession, command: dict) -> dict:
    global changes
    op = command["op"]
    if op == "list":
        tools = (await session.list_tools()).tools
        servers = {}
        for tool in tools:
            meta = tool.meta or {}
            servers[tool.name] = meta.get("io.mcpgw/server")
        return {"tools": [tool.name for tool in tools], "servers": servers}
    if op == "call":
        progress = []

        async def on_progress(value, total, message):
            progress.append(value)

        try:
            result = await asyncio.wait_for(
                session.call_tool(
                    command["name"], command.get("arguments", {}), progress_callback=on_progress
                ),
                timeout=60,
            )
        except Exception as error:  # McpError, or a transport failure
            return {"ok": False, "error": str(error), "progress": progress}
        return {
            "ok": True,
            "is_error": bool(result.is_error),
            "text": text_of(result),
            "structured": result.structured_content,
            "progress": progress,
        }
    if op == "changed":
        with anyio.move_on_after(command.get("timeout", 20)):
            await changes.wait()
        seen = changes.is_set()
        changes = anyio.Event()
        return {"changed": seen}
    raise ValueError(f"unknown op {op}")


async def drive(session: ClientSession, era: str) -> None:
    if era == "stateless":
        await session.discover()
    else:
        await session.initialize()
    async with anyio.create_task_group() as tasks:
        if era == "stateless":

            async def follow() -> None:
                async with listen(session, tools_list_changed=True) as subscription:
                    print(json.dumps({"listening": True}), flush=True)
                    async for _event in subscription:
                        changes.set()

            tasks.start_soon(follow)
        else:
            print(json.dumps({"listening": True}), flush=True)
        lines = anyio.wrap_file(sys.stdin)
        async for line in lines:
            command = json.loads(line)
            if command["op"] == "quit":
                break
            print(json.dumps(await step(session, command)), flush=True)
        tasks.cancel_scope.cancel()


async def main() -> None:
    transport, era, url, token = sys.argv[1:5]
    headers = {"Authorization": f"Bearer {token}"}
    if transport == "http":
        async with create_mcp_http_client(headers=headers) as http_client:
            async with streamable_http_client(url, http_client=http_client) as (read, write):
                async with ClientSession(read, write, message_handler=on_message) as session:
                    await drive(session, era)
    else:
        async with sse_client(url, headers=headers) as (read, write):
            async with ClientSession(read, write, message_handler=on_message) as session:
                await drive(session, era)


if __name__ == "__main__":
    asyncio.run(main())
