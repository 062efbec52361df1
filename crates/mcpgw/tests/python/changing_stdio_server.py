"""An MCP server over stdio (standard library only) whose tools are read from a JSON file
(argv[1]) at every tools/list, and which announces a change of that file with
`notifications/tools/list_changed`, as a stdio server that updates its tools does. For the
tool scan's test of changes announced by a bridged server between health checks.

The file holds [{"name": ..., "description": ...}, ...]; each tool echoes its `text`.
"""

import json
import sys
import threading
import time

from tools_file import read_tools, version

TOOLS_FILE = sys.argv[1]
WRITE = threading.Lock()


def send(message):
    with WRITE:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()


def announce_changes():
    seen = version(TOOLS_FILE)
    while True:
        time.sleep(0.1)
        now = version(TOOLS_FILE)
        if now != seen:
            seen = now
            send({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"})


def answer(message):
    method = message.get("method")
    params = message.get("params") or {}
    if method == "initialize":
        return {"protocolVersion": params.get("protocolVersion", "2025-06-18"),
                "capabilities": {"tools": {"listChanged": True}},
                "serverInfo": {"name": "changing-stdio", "version": "1.0.0"}}
    if method == "tools/list":
        return {"tools": read_tools(TOOLS_FILE)}
    if method == "tools/call":
        text = (params.get("arguments") or {}).get("text", "")
        return {"content": [{"type": "text", "text": f"echo: {text}"}]}
    if method == "ping":
        return {}
    return None


def main():
    threading.Thread(target=announce_changes, daemon=True).start()
    for line in sys.stdin:
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if "id" not in message or "method" not in message:
            continue
        result = answer(message)
        if result is None:
            send({"jsonrpc": "2.0", "id": message["id"],
                  "error": {"code": -32601, "message": "method not found"}})
        else:
            send({"jsonrpc": "2.0", "id": message["id"], "result": result})


if __name__ == "__main__":
    main()
