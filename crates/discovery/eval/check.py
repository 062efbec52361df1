#!/usr/bin/env python3
"""Checks the retrieval-evaluation data set: tools.json and queries.json.

Run: python3 crates/discovery/eval/check.py   (exits non-zero on any problem)
"""
import collections, json, os, re, sys

HERE = os.path.dirname(os.path.abspath(__file__))
errors = []
def err(msg): errors.append(msg)

servers = json.load(open(os.path.join(HERE, "tools.json")))
queries = json.load(open(os.path.join(HERE, "queries.json")))

pairs = set(); paths = set(); per_server = {}
for entry in servers:
    s = entry.get("server", {})
    p = s.get("path", "")
    if not re.fullmatch(r"[a-z0-9._-]+", p): err(f"bad server path {p!r}")
    if p in paths: err(f"duplicate server path {p}")
    paths.add(p)
    for k in ("name", "description", "source"):
        if not isinstance(s.get(k), str) or not s[k].strip(): err(f"{p}: server.{k} missing")
    if not isinstance(s.get("tags"), list): err(f"{p}: server.tags must be a list")
    if not s.get("source", "").startswith("https://"): err(f"{p}: source is not a URL")
    tools = entry.get("tools", [])
    per_server[p] = len(tools)
    for t in tools:
        n = t.get("name")
        if not isinstance(n, str) or not n: err(f"{p}: tool without name"); continue
        if (p, n) in pairs: err(f"duplicate tool {p}/{n}")
        pairs.add((p, n))
        if not isinstance(t.get("description"), str) or not t["description"].strip(): err(f"{p}/{n}: empty description")
        if t.get("title") is not None and not isinstance(t["title"], str): err(f"{p}/{n}: title must be null or string")
        sch = t.get("inputSchema")
        if not isinstance(sch, dict) or sch.get("type") != "object" or not isinstance(sch.get("properties"), dict):
            err(f"{p}/{n}: inputSchema must be an object schema with properties"); continue
        for r in sch.get("required", []):
            if r not in sch["properties"]: err(f"{p}/{n}: required {r!r} not among properties")

used = collections.Counter(); seen_q = set(); multi = 0
for i, q in enumerate(queries):
    text = q.get("query", "")
    if not text.strip(): err(f"query {i}: empty")
    if text.strip().lower() in seen_q: err(f"duplicate query {text!r}")
    seen_q.add(text.strip().lower())
    rel = q.get("relevant", [])
    if not rel: err(f"query {i} {text!r}: no relevant tools")
    keys = [(r.get("server"), r.get("tool")) for r in rel]
    if len(set(keys)) != len(keys): err(f"query {text!r}: duplicate relevant entries")
    for k in keys:
        if k not in pairs: err(f"query {text!r}: relevant tool {k[0]}/{k[1]} not in tools.json")
        used[k[0]] += 1
    if len({k[0] for k in keys}) > 1: multi += 1

n_tools = len(pairs)
print(f"servers: {len(paths)}  tools: {n_tools}  queries: {len(queries)}")
print(f"tools per server: min {min(per_server.values())}, max {max(per_server.values())}")
print(f"servers with at least one query: {len(used)}/{len(paths)}; without: {sorted(paths - set(used)) or 'none'}")
print(f"queries with relevant tools on more than one server (hard): {multi}")
print(f"queries with more than one relevant tool: {sum(1 for q in queries if len(q['relevant']) > 1)}")
if len(paths) < 30: err("fewer than 30 servers")
if n_tools < 300: err("fewer than 300 tools")
if len(queries) < 150: err("fewer than 150 queries")
for e in errors: print("ERROR:", e)
print("OK" if not errors else f"{len(errors)} error(s)")
sys.exit(1 if errors else 0)
