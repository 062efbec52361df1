"""Follows mcpgw's /ws/health_status with the `websockets` library, as the Python
registry's scripts do. Prints each message received as one JSON line (flushed), until
`count` messages arrived, or {"closed": true} if the gateway ends the stream first. With
an Origin given, prints {"refused": <status>} if the handshake is refused.

usage: health_ws.py <ws-url> <token> <count> [origin]
"""
import asyncio
import json
import sys

import websockets


async def main() -> None:
    url, token, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    origin = sys.argv[4] if len(sys.argv) > 4 else None
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with websockets.connect(url, additional_headers=headers, origin=origin) as ws:
            await ws.send("ping")  # the Python UI's keep-alive text must be tolerated
            for _ in range(count):
                message = await asyncio.wait_for(ws.recv(), timeout=60)
                print(json.dumps(json.loads(message)), flush=True)
    except websockets.exceptions.ConnectionClosed:
        print(json.dumps({"closed": True}), flush=True)
    except websockets.exceptions.InvalidStatus as error:
        print(json.dumps({"refused": error.response.status_code}), flush=True)


asyncio.run(main())
