"""An external tool scanner for the tool scan's tests, speaking the gateway's contract:
the server and its tools as JSON on stdin, {"findings": [...]} on stdout.

It reports every tool whose description mentions a banana (medium, rule "banana"), and
fails (exit 2, a message on stderr) for the server at path "scanner-breaks".
"""

import json
import sys

document = json.load(sys.stdin)
if document["server"]["path"] == "scanner-breaks":
    print("the scanner broke down", file=sys.stderr)
    sys.exit(2)
findings = [
    {
        "tool": tool["name"],
        "severity": "medium",
        "rule": "banana",
        "message": "mentions a banana",
    }
    for tool in document["tools"]
    if "banana" in (tool.get("description") or "").lower()
]
print(json.dumps({"findings": findings}))
