"""A misbehaving MCP server for the chaos tests (standard library only, any python3).

It speaks Streamable HTTP well enough to be registered and checked healthy (initialize,
tools/list with one `countdown` tool like the example toolbox's, ping, notifications,
DELETE), but every `tools/call` starts an event stream, sends one progress notification
and then fails the way argv[1] says:

  hang            sends nothing more and keeps the connection open (a stalled upstream)
  garbage-text    an event whose data is not JSON, then ends the stream cleanly
  garbage-binary  bytes that are not even text, then ends the stream cleanly
  truncated       half an event, then drops the connection without ending the stream

argv[2] is the loopback port to listen on (0: any); it prints `listening on URL` once it
listens, like `mcpgw example-server`.
"""

import json
import socket
import sys
import time

import http_mcp

MODE = sys.argv[1]
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 0
MODES = ("hang", "garbage-text", "garbage-binary", "truncated")
if MODE not in MODES:
    sys.exit(f"unknown mode {MODE!r}: one of {', '.join(MODES)}")

COUNTDOWN = {
    "name": "countdown",
    "description": "Counts down, reporting progress (and then misbehaves).",
    "inputSchema": {
        "type": "object",
        "properties": {
            "steps": {"type": "integer"},
            "delay_ms": {"type": "integer"},
        },
    },
}


class Handler(http_mcp.Handler):
    """Answers like a healthy server, then misbehaves in every `tools/call`."""

    server_label = "chaos"

    def tools(self):
        return [COUNTDOWN]

    def call(self, message):
        self.misbehave(message)

    def misbehave(self, message):
        params = message.get("params") or {}
        token = (params.get("_meta") or {}).get("progressToken", "chaos")
        self.start_stream()
        progress = {"jsonrpc": "2.0", "method": "notifications/progress",
                    "params": {"progressToken": token, "progress": 1, "total": 3,
                               "message": "step 1 of 3"}}
        self.chunk(b"event: message\ndata: " + json.dumps(progress).encode() + b"\n\n")
        time.sleep(0.2)
        if MODE == "hang":
            # Keeps the connection until the peer gives up (or the process is killed).
            while True:
                time.sleep(3600)
        elif MODE == "garbage-text":
            self.chunk(b"event: message\ndata: this is not JSON {{{\n\n")
            self.wfile.write(b"0\r\n\r\n")
        elif MODE == "garbage-binary":
            self.chunk(b"\x00\xff\xfe\x80\x81 binary \xc3\x28\r\n\x00\n\n")
            self.wfile.write(b"0\r\n\r\n")
        else:
            ident = json.dumps(message.get("id"))
            self.chunk(b'event: message\ndata: {"jsonrpc": "2.0", "id": ' + ident.encode()
                       + b', "result": {"content": [{"type": "te')
            # Gone without the last chunk: the stream never ends properly.
            self.connection.shutdown(socket.SHUT_RDWR)
        self.close_connection = True


if __name__ == "__main__":
    http_mcp.serve(Handler, PORT)
