"""An MCP server (Streamable HTTP, standard library only) whose tools are read from a JSON
file (argv[1]) at every tools/list, and which announces a change of that file with
`notifications/tools/list_changed` on every open GET stream, as a server that updates its
tools does. For the tool scan's test of changes announced between health checks.

The file holds [{"name": ..., "description": ...}, ...]; each tool echoes its `text`.
Prints `listening on URL` once it listens on 127.0.0.1 (any free port).
"""

import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOOLS_FILE = sys.argv[1]


def read_tools():
    with open(TOOLS_FILE, encoding="utf-8") as file:
        listed = json.load(file)
    return [{"name": tool["name"], "description": tool["description"],
             "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}}}
            for tool in listed]


def version():
    stat = os.stat(TOOLS_FILE)
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino)


class Handler(BaseHTTPRequestHandler):
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
        """The notification stream: a list_changed event whenever the file changes (from
        before the client could know the stream is open)."""
        seen = version()
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        try:
            self.chunk(b": open\n\n")
            while True:
                time.sleep(0.1)
                now = version()
                if now != seen:
                    seen = now
                    event = {"jsonrpc": "2.0", "method": "notifications/tools/list_changed"}
                    self.chunk(b"event: message\ndata: " + json.dumps(event).encode() + b"\n\n")
        except OSError:
            pass
        self.close_connection = True

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        message = json.loads(self.rfile.read(length))
        method, ident = message.get("method"), message.get("id")
        if ident is None:
            self.send_response(202)
            self.send_header("content-length", "0")
            self.end_headers()
            return
        if method == "initialize":
            result = {
                "protocolVersion": message["params"].get("protocolVersion", "2025-11-25"),
                "capabilities": {"tools": {"listChanged": True}},
                "serverInfo": {"name": "changing", "version": "1.0.0"},
            }
            self.send_json(200, {"jsonrpc": "2.0", "id": ident, "result": result},
                           [("mcp-session-id", "changing-session")])
        elif method == "tools/list":
            self.send_json(200, {"jsonrpc": "2.0", "id": ident, "result": {"tools": read_tools()}})
        elif method == "ping":
            self.send_json(200, {"jsonrpc": "2.0", "id": ident, "result": {}})
        elif method == "tools/call":
            text = ((message.get("params") or {}).get("arguments") or {}).get("text", "")
            self.send_json(200, {"jsonrpc": "2.0", "id": ident, "result": {
                "content": [{"type": "text", "text": f"echo: {text}"}]}})
        else:
            self.send_json(200, {"jsonrpc": "2.0", "id": ident,
                                 "error": {"code": -32601, "message": f"no method {method}"}})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    server = Server(("127.0.0.1", 0), Handler)
    host, port = server.server_address[:2]
    print(f"listening on http://{host}:{port}/mcp", flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    threading.Event().wait()


if __name__ == "__main__":
    main()
