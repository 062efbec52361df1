"""Runs the Python gateway's own sample queries (its README, "Accessing SQLite Metrics")
against mcpgw's SQLite database and prints what they return, as JSON."""

import json
import sqlite3
import sys

db = sqlite3.connect(sys.argv[1])
auth = db.execute(
    """SELECT server, COUNT(*) as total, SUM(success) as successful,
       ROUND(100.0 * SUM(success) / COUNT(*), 2) as success_pct,
       ROUND(AVG(duration_ms), 2) as avg_ms
       FROM auth_metrics GROUP BY server ORDER BY total DESC"""
).fetchall()
tools = db.execute(
    """SELECT tool_name, COUNT(*) as calls, SUM(success) as successful,
       ROUND(AVG(duration_ms), 2) as avg_ms, COUNT(DISTINCT client_name) as unique_clients
       FROM tool_metrics GROUP BY tool_name ORDER BY calls DESC"""
).fetchall()
slowest = db.execute(
    """SELECT tool_name, server_name, ROUND(duration_ms, 2) as duration_ms,
       datetime(timestamp) as time, success FROM tool_metrics
       ORDER BY duration_ms DESC LIMIT 20"""
).fetchall()
searches = db.execute(
    "SELECT query, results_count, source, mode FROM discovery_metrics"
).fetchall()
print(json.dumps({
    "auth": [list(row) for row in auth],
    "tools": [list(row) for row in tools],
    "slowest": [list(row) for row in slowest],
    "searches": [list(row) for row in searches],
}))
