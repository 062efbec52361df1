#!/usr/bin/env bash
# Scale-out benchmark (issue 12): one vs two gateway replicas on one PostgreSQL, and how
# long a change made on one replica takes to be in force on the other.
#
#   throughput   two loadgen processes (c = BENCH_CONCURRENCY/2 each) send a small
#                stateless `tools/call echo` to /toolbox/mcp: both at replica A (one
#                replica), then one at A and one at B (two replicas, balanced by the
#                clients); alternated, BENCH_ROUNDS rounds. The same clients either way, so
#                only the number of replicas differs.
#   propagation  BENCH_CHANGES edits of the server's description on A, each timed until
#                B's API shows it (polled every millisecond), in a small Python client.
#   sessions     BENCH_CHANGES sessions on /mcp: the initialize on A, the first request on
#                B (restored from the database), the next one on B (known there).
#
# Prints a markdown summary and writes the raw runs to BENCH_OUT (JSON lines). Everything
# binds 127.0.0.1: its own PostgreSQL in a scratch directory, the example upstream, the
# replicas; every process started here is stopped on exit.
#
# Settings: BENCH_ROUNDS=3 BENCH_DURATION=5 BENCH_WARMUP=1 BENCH_CONCURRENCY=32
#           BENCH_CHANGES=50 BENCH_SKIP_BUILD=1 BENCH_OUT=bench/results/replicas.jsonl
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
rounds=${BENCH_ROUNDS:-3}
duration=${BENCH_DURATION:-5}
warmup=${BENCH_WARMUP:-1}
concurrency=${BENCH_CONCURRENCY:-32}
changes=${BENCH_CHANGES:-50}
out=${BENCH_OUT:-$repo/bench/results/replicas.jsonl}
# shellcheck source=bench/lib.sh
source "$repo/bench/lib.sh"
build_release

work=$(mktemp -d "${TMPDIR:-/tmp}/mcpgw-replicas.XXXXXX")
pids=()
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
if [[ $(id -u) == 0 ]]; then
    chown postgres "$work"
    as_pg() { runuser -u postgres -- "$@"; }
else
    as_pg() { "$@"; }
fi
cleanup() {
    local pid
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    as_pg "$pg_bin/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# PostgreSQL of its own, as the replicas would share one.
pg_port=$(free_port)
as_pg "$pg_bin/initdb" -D "$work/pg" -U mcpgw --auth=trust -E UTF8 >/dev/null
as_pg "$pg_bin/pg_ctl" -D "$work/pg" -l "$work/pg.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $work" start >/dev/null
database="postgres://mcpgw@127.0.0.1:$pg_port/postgres"

start upstream "$bin/mcpgw" example-server toolbox --listen 127.0.0.1:0 --stateless
upstream_url=$(listening_url upstream "listening on ")
token="bench-admin-token-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
secret=$(head -c 32 /dev/urandom | base64)
declare -A base pid
for replica in a b; do
    start "$replica" env -u MCPGW_CONFIG -u MCPGW_LISTEN -u MCPGW_DATA_DIR \
        MCPGW_ADMIN_TOKEN="$token" MCPGW_SECRET_KEY="$secret" MCPGW_DATABASE_URL="$database" \
        MCPGW_HEALTH_INTERVAL=3600 MCPGW_LOG=warn \
        "$bin/mcpgw" serve --listen 127.0.0.1:0 --data-dir "$work/data-$replica"
    pid[$replica]=${pids[-1]}
    base[$replica]=$(listening_url "$replica" "mcpgw listening on ")
done
curl -sS --fail-with-body -o /dev/null -X POST "${base[a]}/api/servers" \
    -H "Authorization: Bearer $token" -H 'content-type: application/json' \
    -d "{\"path\":\"toolbox\",\"url\":\"$upstream_url\"}"
for _ in $(seq 100); do
    curl -sS -H "Authorization: Bearer $token" "${base[b]}/api/servers/toolbox" |
        grep -q '"last_checked":"' && break
    sleep 0.1
done

: >"$out"
half=$((concurrency / 2))
# pair LABEL URL1 URL2 ROUND: two loadgens at once; their lines appended to $out.
pair() {
    local label=$1 first=$2 second=$3 round=$4
    LOADGEN_TOKEN=$token "$bin/loadgen" --url "$first/toolbox/mcp" --label "$label" \
        --round "$round" --concurrency "$half" --warmup-secs "$warmup" \
        --duration-secs "$duration" >"$work/one.json" &
    local one=$!
    LOADGEN_TOKEN=$token "$bin/loadgen" --url "$second/toolbox/mcp" --label "$label" \
        --round "$round" --concurrency "$half" --warmup-secs "$warmup" \
        --duration-secs "$duration" >"$work/two.json"
    wait "$one"
    cat "$work/one.json" "$work/two.json" >>"$out"
}
for round in $(seq "$rounds"); do
    pair one-replica "${base[a]}" "${base[a]}" "$round"
    pair two-replicas "${base[a]}" "${base[b]}" "$round"
done

# Propagation: edit on A, poll B until it shows the edit.
python3 - "${base[a]}" "${base[b]}" "$token" "$changes" >>"$out" <<'PY'
import json, sys, time, urllib.request
a, b, token, changes = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
headers = {"Authorization": f"Bearer {token}", "content-type": "application/json"}
def call(method, url, body=None):
    request = urllib.request.Request(url, method=method, headers=headers,
                                     data=None if body is None else json.dumps(body).encode())
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)
took = []
for change in range(changes):
    description = f"edit {change} {time.time()}"
    start = time.monotonic()
    call("PATCH", f"{a}/api/servers/toolbox", {"description": description})
    acknowledged = time.monotonic()
    while call("GET", f"{b}/api/servers/toolbox")["description"] != description:
        time.sleep(0.001)
        if time.monotonic() - start > 30:
            raise SystemExit("a change never reached the other replica")
    took.append((time.monotonic() - acknowledged) * 1000)
took.sort()
print(json.dumps({"target": "propagation", "changes": changes,
                  "p50_ms": round(took[len(took) // 2], 2),
                  "p95_ms": round(took[int(len(took) * 0.95) - 1], 2),
                  "max_ms": round(took[-1], 2)}))
PY

# Sessions on /mcp: opening one on A (the initialize, with its insert into the database),
# its first request on B (B finds it in the database and restores it), and the next one
# on B (known there: no database).
python3 - "${base[a]}" "${base[b]}" "$token" "$changes" >>"$out" <<'PY'
import json, sys, time, urllib.request
a, b, token, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
def post(base, body, session=None):
    headers = {"Authorization": f"Bearer {token}", "content-type": "application/json",
               "accept": "application/json, text/event-stream",
               "mcp-protocol-version": "2025-11-25"}
    if session:
        headers["mcp-session-id"] = session
    request = urllib.request.Request(f"{base}/mcp", method="POST", headers=headers,
                                     data=json.dumps(body).encode())
    start = time.monotonic()
    with urllib.request.urlopen(request, timeout=10) as answer:
        answer.read()
        return (time.monotonic() - start) * 1000, answer.headers.get("mcp-session-id")
timings = {"open_on_a": [], "first_on_b": [], "next_on_b": []}
listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
for _ in range(count):
    took, session = post(a, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "bench", "version": "1"}}})
    timings["open_on_a"].append(took)
    post(a, {"jsonrpc": "2.0", "method": "notifications/initialized"}, session)
    timings["first_on_b"].append(post(b, listing, session)[0])
    timings["next_on_b"].append(post(b, listing, session)[0])
summary = {"target": "sessions", "sessions": count}
for name, values in timings.items():
    values.sort()
    summary[f"{name}_p50_ms"] = round(values[len(values) // 2], 2)
    summary[f"{name}_p95_ms"] = round(values[int(len(values) * 0.95) - 1], 2)
print(json.dumps(summary))
PY

python3 - "$out" "$(nproc)" <<'PY'
import json, statistics, sys
runs = [json.loads(line) for line in open(sys.argv[1])]
totals = {}
for run in runs:
    if "rps" in run:
        totals.setdefault(run["target"], {}).setdefault(run["round"], 0)
        totals[run["target"]][run["round"]] += run["rps"]
        if run.get("errors"):
            print(f"run with errors: {run}")
print(f"| setup | rps per round | median rps |  ({sys.argv[2]} CPUs)")
print("|---|---|---|")
for target, by_round in totals.items():
    values = [by_round[r] for r in sorted(by_round)]
    print(f"| {target} | {', '.join(str(int(v)) for v in values)} | {int(statistics.median(values))} |")
for run in runs:
    if run.get("target") == "propagation":
        print(f"propagation over {run['changes']} changes (after the write was acknowledged): "
              f"p50 {run['p50_ms']} ms, p95 {run['p95_ms']} ms, max {run['max_ms']} ms")
    if run.get("target") == "sessions":
        print(f"/mcp sessions ({run['sessions']}), p50 / p95 ms: open on A "
              f"{run['open_on_a_p50_ms']} / {run['open_on_a_p95_ms']}, first request on B "
              f"{run['first_on_b_p50_ms']} / {run['first_on_b_p95_ms']}, next request on B "
              f"{run['next_on_b_p50_ms']} / {run['next_on_b_p95_ms']}")
PY
