"""An MCP server (Streamable HTTP, standard library only) whose tools are read from a JSON
file (argv[1]) at every tools/list, and which announces a change of that file with
`notifications/tools/list_changed` on every open GET stream, as a server that updates its
tools does. For the tool scan's test of changes announced between health checks.

The file holds [{"name": ..., "description": ...}, ...]; each tool echoes its `text`.
Prints `listening on URL` once it listens on 127.0.0.1 (any free port).
"""

import json
import sys
import time

import http_mcp
from tools_file import read_tools, version

TOOLS_FILE = sys.argv[1]


class Handler(http_mcp.Handler):
    """Tools from the file; a list_changed event on every GET stream when it changes."""

    server_label = "changing"
    capabilities = {"tools": {"listChanged": True}}

    def tools(self):
        return read_tools(TOOLS_FILE)

    def call(self, message):
        text = ((message.get("params") or {}).get("arguments") or {}).get("text", "")
        self.send_json(200, {"jsonrpc": "2.0", "id": message.get("id"), "result": {
            "content": [{"type": "text", "text": f"echo: {text}"}]}})

    def do_GET(self):
        """The notification stream: a list_changed event whenever the file changes (from
        before the client could know the stream is open)."""
        seen = version(TOOLS_FILE)
        self.start_stream()
        try:
            self.chunk(b": open\n\n")
            while True:
                time.sleep(0.1)
                now = version(TOOLS_FILE)
                if now != seen:
                    seen = now
                    event = {"jsonrpc": "2.0", "method": "notifications/tools/list_changed"}
                    self.chunk(b"event: message\ndata: " + json.dumps(event).encode() + b"\n\n")
        except OSError:
            pass
        self.close_connection = True


if __name__ == "__main__":
    http_mcp.serve(Handler)
