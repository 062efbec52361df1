"""An MCP server over HTTPS that requires a client certificate (mutual TLS), built with the
official Python SDK and served by uvicorn, for the upstream TLS tests.

    tls_server.py CERT KEY CLIENT_CA

It listens on 127.0.0.1 (any free port), accepts only clients whose certificate the
CLIENT_CA signed, and prints `listening on https://127.0.0.1:PORT/mcp` once it listens.
Its one tool, `echo`, sends back the `text` it is given.
"""

import asyncio
import socket
import ssl
import sys

import uvicorn
from mcp.server import MCPServer

CERT, KEY, CLIENT_CA = sys.argv[1], sys.argv[2], sys.argv[3]

server = MCPServer("tls-upstream", version="1.0.0")


@server.tool()
def echo(text: str) -> str:
    """Sends back the text it is given."""
    return f"echo: {text}"


async def main():
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    app = server.streamable_http_app(stateless_http=True, json_response=True)
    config = uvicorn.Config(
        app,
        log_level="warning",
        ssl_certfile=CERT,
        ssl_keyfile=KEY,
        ssl_ca_certs=CLIENT_CA,
        ssl_cert_reqs=ssl.CERT_REQUIRED,
    )
    served = uvicorn.Server(config)
    print(f"listening on https://127.0.0.1:{port}/mcp", flush=True)
    await served.serve(sockets=[listener])


if __name__ == "__main__":
    asyncio.run(main())
