"""A minimal Streamable HTTP MCP server (standard library only, any python3) for tests
that need an upstream to misbehave or change in ways a real SDK server will not: enough of
the protocol to be registered and checked healthy (initialize with a session id,
notifications, tools/list, ping, DELETE). Subclasses of `Handler` say what their tools are
and what a `tools/call` does; `serve` prints `listening on URL` like `mcpgw example-server`.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    """One request. Event streams are written by hand (chunked) to control their end."""

    protocol_version = "HTTP/1.1"
    server_label = "test"
    capabilities = {"tools": {}}

    def tools(self):
        """The tools `tools/list` answers with."""
        return []

    def call(self, message):
        """Answers a `tools/call` (`message` is the whole request)."""
        self.send_json(200, {"jsonrpc": "2.0", "id": message.get("id"),
                             "error": {"code": -32601, "message": "no tools here"}})

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

    def start_stream(self):
        """Starts a chunked `text/event-stream` answer."""
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

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
        elif method == "initialize":
            result = {
                "protocolVersion": message["params"].get("protocolVersion", "2025-11-25"),
                "capabilities": self.capabilities,
                "serverInfo": {"name": self.server_label, "version": "1.0.0"},
            }
            self.send_json(200, {"jsonrpc": "2.0", "id": ident, "result": result},
                           [("mcp-session-id", f"{self.server_label}-session")])
        elif method == "tools/list":
            self.send_json(200, {"jsonrpc": "2.0", "id": ident, "result": {"tools": self.tools()}})
        elif method == "ping":
            self.send_json(200, {"jsonrpc": "2.0", "id": ident, "result": {}})
        elif method == "tools/call":
            self.call(message)
        else:
            self.send_json(200, {"jsonrpc": "2.0", "id": ident,
                                 "error": {"code": -32601, "message": f"no method {method}"}})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve(handler, port=0):
    """Serves `handler` on 127.0.0.1:`port` (0: any) until the process is stopped."""
    server = Server(("127.0.0.1", port), handler)
    host, bound = server.server_address[:2]
    print(f"listening on http://{host}:{bound}/mcp", flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    threading.Event().wait()
