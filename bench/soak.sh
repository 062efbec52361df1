#!/usr/bin/env bash
# The soak test (issue 13): 10,000 event streams held open on the gateway while 1,000
# concurrent clients send stateless `tools/call echo` back to back through it, for a
# minute. Passes (exit 0) only with zero failed requests, zero streams failed or closed
# early, and flat memory: the gateway's resident memory at the end of the loaded minute
# within SOAK_MAX_GROWTH (default 10 %) of what it was 15 s into it (after the warm-up).
# Writes bench/results/soak.json and prints a summary.
#
# Everything binds 127.0.0.1; every process started here is stopped on exit. The gateway
# holds a descriptor per stream, per client and per upstream connection (about 12,000 at
# the defaults): the soft limit is raised to the hard one, which must allow that.
#
# Settings (environment):
#   SOAK_STREAMS=10000   event streams (GET /sse on the aggregated endpoint)
#   SOAK_CLIENTS=1000    concurrent request clients (each a keep-alive connection)
#   SOAK_SECS=60         the loaded minute
#   SOAK_MAX_GROWTH=0.10 allowed memory growth over the loaded minute
#   BENCH_SKIP_BUILD=1   use the release binaries already built
#   BENCH_OUT=bench/results/soak.json
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
streams=${SOAK_STREAMS:-10000}
clients=${SOAK_CLIENTS:-1000}
secs=${SOAK_SECS:-60}
max_growth=${SOAK_MAX_GROWTH:-0.10}
out=${BENCH_OUT:-$repo/bench/results/soak.json}

hard=$(ulimit -Hn)
needed=$((streams + 2 * clients + 1000))
if [[ $hard != unlimited && $hard -lt $needed ]]; then
    echo "soak.sh: the hard limit on open files is $hard; $needed are needed" >&2
    exit 2
fi
ulimit -n "$hard"

# shellcheck source=bench/lib.sh
source "$repo/bench/lib.sh"
build_release

work=$(mktemp -d "${TMPDIR:-/tmp}/mcpgw-soak.XXXXXX")
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start upstream "$bin/mcpgw" example-server toolbox --listen 127.0.0.1:0 --stateless
upstream_url=$(listening_url upstream "listening on ")
token="soak-admin-token-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
# The streams belong to agents of their own: the gateway caps one caller's legacy
# streams at 100, so 10,000 streams are 100 agents' worth.
cat >"$work/scopes.yml" <<'YAML'
group_mappings:
  soak-agents: [toolbox-users]
toolbox-users:
- server: toolbox
  methods: [initialize, notifications/initialized, ping, tools/list, tools/call]
  tools: ["*"]
YAML
cat >"$work/mcpgw.toml" <<'TOML'
[auth]
max_tokens_per_owner = 10000
# One account's agent fleet (100 tokens the admin minted) holds all 10,000 streams: limits
# count per account, so its stream quota is raised to the gateway-wide cap.
[limits]
max_streams_per_principal = 20000
TOML
start gateway env -u MCPGW_CONFIG -u MCPGW_DATABASE_URL -u MCPGW_LISTEN -u MCPGW_DATA_DIR \
    MCPGW_ADMIN_TOKEN="$token" MCPGW_HEALTH_INTERVAL=3600 MCPGW_LOG=warn \
    "$bin/mcpgw" serve --listen 127.0.0.1:0 --data-dir "$work/gateway-data" \
    --config "$work/mcpgw.toml" --scopes "$work/scopes.yml"
gateway_pid=${pids[-1]}
gateway=$(listening_url gateway "mcpgw listening on ")
curl -sS --fail-with-body -o /dev/null -X POST "$gateway/api/servers" \
    -H "Authorization: Bearer $token" -H 'content-type: application/json' \
    -d "{\"path\":\"toolbox\",\"url\":\"$upstream_url\"}"
for _ in $(seq 100); do
    curl -sS -H "Authorization: Bearer $token" "$gateway/api/servers/toolbox" |
        grep -q '"last_checked":"' && break
    sleep 0.1
done

agents=$(((streams + 99) / 100))
# One caller each: a group of its own besides the shared one.
for agent in $(seq "$agents"); do
    curl -sS --fail-with-body -X POST "$gateway/api/tokens" \
        -H "Authorization: Bearer $token" -H 'content-type: application/json' \
        -d "{\"description\":\"soak agent\",\"groups\":[\"soak-agents\",\"soak-agent-$agent\"]}" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])'
done >"$work/agents.txt"

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$gateway_pid/status"; }
fds() { ls "/proc/$gateway_pid/fd" | wc -l; }
rss_idle=$(rss_kib)

# The streams: opened, then held for the warm-up and the loaded minute.
warmup=15
start streams "$bin/streams" --url "$gateway/sse" --count "$streams" \
    --tokens-file "$work/agents.txt" --hold-secs $((secs + warmup + 5)) --announce
streams_pid=${pids[-1]}
for _ in $(seq 600); do
    grep -q '^open ' "$work/streams.err" && break
    if ! kill -0 "$streams_pid" 2>/dev/null; then
        echo "soak.sh: the stream holder stopped:" >&2
        cat "$work/streams.err" "$work/streams.out" >&2
        exit 1
    fi
    sleep 0.1
done
rss_streams=$(rss_kib)
fds_streams=$(fds)
echo "soak.sh: $(grep '^open ' "$work/streams.err") streams; gateway RSS ${rss_streams} KiB, ${fds_streams} fds" >&2

# Memory samples every second while the clients run.
(
    while kill -0 "$gateway_pid" 2>/dev/null; do
        echo "$(date +%s.%N) $(rss_kib)"
        sleep 1
    done
) >"$work/rss.txt" 2>/dev/null &
pids+=("$!")

set +e
LOADGEN_TOKEN=$token "$bin/loadgen" --url "$gateway/toolbox/mcp" --label soak \
    --concurrency "$clients" --warmup-secs "$warmup" --duration-secs "$secs" \
    >"$work/loadgen.json"
loadgen_status=$?
rss_end=$(rss_kib)
wait "$streams_pid"
streams_status=$?
set -e
if [[ $streams_status != 0 ]]; then
    cat "$work/streams.err" >&2
fi
python3 - "$work" "$out" "$loadgen_status" "$streams_status" "$rss_idle" "$rss_streams" \
    "$rss_end" "$fds_streams" "$max_growth" "$warmup" <<'PY'
import json, sys, os
work, out, lg_status, st_status = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
idle, with_streams, end, fds = (int(x) for x in sys.argv[5:9])
max_growth, warmup = float(sys.argv[9]), float(sys.argv[10])
loadgen = json.loads(open(os.path.join(work, "loadgen.json")).read().strip().splitlines()[-1])
streams = json.loads(open(os.path.join(work, "streams.out")).read().strip().splitlines()[-1])
samples = [line.split() for line in open(os.path.join(work, "rss.txt")) if len(line.split()) == 2]
t0 = float(samples[0][0]) if samples else 0.0
series = [(float(t) - t0, int(kib)) for t, kib in samples]
after_warmup = [kib for t, kib in series if t >= warmup]
start_kib = after_warmup[0] if after_warmup else end
peak = max(kib for _, kib in series) if series else end
growth = (end - start_kib) / start_kib if start_kib else 0.0
result = {
    "streams": streams,
    "requests": loadgen,
    "gateway_rss_kib": {
        "idle": idle, "with_streams": with_streams, "loaded_start": start_kib,
        "loaded_end": end, "peak": peak,
        "per_stream": round((with_streams - idle) / max(streams.get("opened", 1), 1), 2),
    },
    "gateway_fds_with_streams": fds,
    "memory_growth": round(growth, 4),
    "max_growth": max_growth,
}
failures = []
if lg_status != 0 or loadgen.get("errors", 0) != 0:
    failures.append(f"requests failed: {loadgen.get('errors')} ({loadgen.get('first_error')})")
if st_status != 0:
    failures.append(f"streams: {streams.get('failed_to_open')} failed to open, {streams.get('closed_early')} closed early")
if growth > max_growth:
    failures.append(f"memory grew {growth:.1%} over the loaded minute (allowed {max_growth:.0%})")
result["failures"] = failures
os.makedirs(os.path.dirname(out), exist_ok=True)
json.dump(result, open(out, "w"), indent=2)
print(json.dumps(result, indent=2))
if failures:
    print("soak.sh: FAILED: " + "; ".join(failures), file=sys.stderr)
    sys.exit(1)
print("soak.sh: passed", file=sys.stderr)
PY
