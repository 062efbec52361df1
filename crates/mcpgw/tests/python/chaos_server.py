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
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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


class Handler(BaseHTTPRequestHandler):
    """One request; chunked event streams are written by hand to control their end."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass

    def send_json(self, status, body, headers=()):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_DELETE(self):
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def do_GET(self):
        self.send_response(405)
        self.send_header("content-length", "0")
        self.end_headers()

    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        try:
            message = json.loads(self.rfile.read(length))
        except ValueError:
            self.send_json(400, {"jsonrpc": "2.0", "id": None,
                                 "error": {"code": -32700, "message": "parse error"}})
            return
        method, ident = message.get("method"), message.get("id")
        if ident is None:
            self.send_response(202)
            self.send_header("content-length", "0")
            self.end_headers()
            return
        if method == "initialize":
            result = {
                "protocolVersion": message["params"].get("protocolVersion", "2025-11-25"),
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "chaos", "version": "1.0.0"},
            }
            self.send_json(200, {"jsonrpc": "2.0", "id": ident, "result": result},
                           [("mcp-session-id", "chaos-session")])
        elif method == "tools/list":
            self.send_json(200, {"jsonrpc": "2.0", "id": ident,
                                 "result": {"tools": [COUNTDOWN]}})
        elif method == "ping":
            self.send_json(200, {"jsonrpc": "2.0", "id": ident, "result": {}})
        elif method == "tools/call":
            self.misbehave(message)
        else:
            self.send_json(200, {"jsonrpc": "2.0", "id": ident,
                                 "error": {"code": -32601, "message": f"no method {method}"}})

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def misbehave(self, message):
        params = message.get("params") or {}
        token = (params.get("_meta") or {}).get("progressToken", "chaos")
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
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


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    server = Server(("127.0.0.1", PORT), Handler)
    host, port = server.server_address[:2]
    print(f"listening on http://{host}:{port}/mcp", flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    threading.Event().wait()


if __name__ == "__main__":
    main()
