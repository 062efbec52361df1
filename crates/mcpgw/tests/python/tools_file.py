"""Tools read from a JSON file that a test rewrites, for the servers whose tools change
(`changing_server.py` over HTTP, `changing_stdio_server.py` over stdio).

The file holds [{"name": ..., "description": ...}, ...]; each tool takes one string
argument `text`.
"""

import json
import os


def read_tools(path):
    """The tools in the file at `path`, as `tools/list` gives them."""
    with open(path, encoding="utf-8") as file:
        listed = json.load(file)
    return [{"name": tool["name"], "description": tool["description"],
             "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}}}
            for tool in listed]


def version(path):
    """What changes when the file is rewritten (moved into place or written again)."""
    stat = os.stat(path)
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino)
