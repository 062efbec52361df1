#!/usr/bin/env bash
# The data-plane benchmark (issue 3): one small stateless `tools/call` (`echo`) sent
#   direct        loadgen → example server (toolbox, stateless)
#   passthrough   loadgen → bare hyper proxy → example server   (the floor of one hop)
#   gateway       loadgen → mcpgw /toolbox/mcp → example server
# alternating the three targets, round after round, at each concurrency. Reports the
# median across rounds per target in bench/results/latest.json and as a markdown table.
#
# Everything binds 127.0.0.1 and every process started here is stopped on exit.
#
# Settings (environment):
#   BENCH_ROUNDS=3            rounds (each round runs every target at every concurrency)
#   BENCH_DURATION=5          measured seconds per run
#   BENCH_WARMUP=1            warm-up seconds per run (checked, not measured)
#   BENCH_CONCURRENCIES="1 32" first: latency is judged there; last: throughput
#   BENCH_GATEWAY_LOG=info    the gateway's MCPGW_LOG
#   BENCH_CALLER=admin        admin: the admin token (no scopes file); restricted: a gateway
#                             token for a group that scopes.yml allows `echo` and a few
#                             other tools (every message decided by the policy)
#   BENCH_ROUTE=server        server: the gateway target is the server's own route
#                             /toolbox/mcp; aggregate: the aggregated endpoint /mcp, calling
#                             `toolbox__echo` (one more lookup, the caller's own upstream
#                             session, the result re-serialised by rmcp)
#   BENCH_SKIP_BUILD=1        use the binaries already built
#   BENCH_OUT=bench/results/latest.json
#   CARGO_TARGET_DIR          default $HOME/.cache/mcpgw-target
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

rounds=${BENCH_ROUNDS:-3}
duration=${BENCH_DURATION:-5}
warmup=${BENCH_WARMUP:-1}
read -r -a concurrencies <<<"${BENCH_CONCURRENCIES:-1 32}"
latency_concurrency=${concurrencies[0]}
throughput_concurrency=${concurrencies[-1]}
gateway_log=${BENCH_GATEWAY_LOG:-info}
caller=${BENCH_CALLER:-admin}
route=${BENCH_ROUTE:-server}
case $route in
server | aggregate) ;;
*)
    echo "run.sh: BENCH_ROUTE must be server or aggregate" >&2
    exit 2
    ;;
esac
case $caller in
admin | restricted) ;;
*)
    echo "run.sh: BENCH_CALLER must be admin or restricted" >&2
    exit 2
    ;;
esac
out=${BENCH_OUT:-$repo/bench/results/latest.json}

# shellcheck source=bench/lib.sh
source "$repo/bench/lib.sh"
build_release

work=$(mktemp -d "${TMPDIR:-/tmp}/mcpgw-bench.XXXXXX")
pids=()

# Stops every process this script started, then removes the scratch directory.
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

# The upstream: the stateless toolbox example server.
start upstream "$bin/mcpgw" example-server toolbox --listen 127.0.0.1:0 --stateless
upstream_pid=${pids[-1]}
direct_url=$(listening_url upstream "listening on ")
upstream_base=${direct_url%/mcp}

# The floor: the bare pass-through proxy in front of it.
start passthrough "$bin/passthrough" --listen 127.0.0.1:0 --upstream "$upstream_base"
passthrough_pid=${pids[-1]}
passthrough_url="$(listening_url passthrough "listening on ")/mcp"

# The gateway, with the example server registered as `toolbox`; health checks every
# hour, so that none runs during the measurements.
token="bench-admin-token-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
policy_args=()
if [[ $caller == restricted ]]; then
    # A realistic policy: the caller's group maps to two scopes, the second one granting.
    cat >"$work/scopes.yml" <<'YAML'
group_mappings:
  bench-agents: [other-team, toolbox-users]
other-team:
- server: currenttime
  methods: [initialize, tools/list, tools/call]
  tools: [current_time]
toolbox-users:
- server: toolbox
  methods: [initialize, notifications/initialized, ping, tools/list, tools/call]
  tools: [echo, add, "base64_*", word_count]
  deny: [fail]
YAML
    policy_args=(--scopes "$work/scopes.yml")
fi
start gateway env -u MCPGW_CONFIG -u MCPGW_DATABASE_URL -u MCPGW_LISTEN -u MCPGW_DATA_DIR \
    MCPGW_ADMIN_TOKEN="$token" MCPGW_HEALTH_INTERVAL=3600 MCPGW_LOG="$gateway_log" \
    "$bin/mcpgw" serve --listen 127.0.0.1:0 --data-dir "$work/gateway-data" "${policy_args[@]}"
gateway_pid=${pids[-1]}
gateway_base=$(listening_url gateway "mcpgw listening on ")
curl -sS --fail-with-body -o /dev/null -X POST "$gateway_base/api/servers" \
    -H "Authorization: Bearer $token" -H 'content-type: application/json' \
    -d "{\"path\":\"toolbox\",\"url\":\"$direct_url\"}"
gateway_url="$gateway_base/toolbox/mcp"
gateway_tool=echo
if [[ $route == aggregate ]]; then
    gateway_url="$gateway_base/mcp"
    gateway_tool=toolbox__echo
fi
# Let the registration's first health check finish before anything is measured.
for _ in $(seq 100); do
    curl -sS -H "Authorization: Bearer $token" "$gateway_base/api/servers/toolbox" |
        grep -q '"last_checked":"' && break
    sleep 0.1
done
gateway_token=$token
if [[ $caller == restricted ]]; then
    gateway_token=$(curl -sS --fail-with-body -X POST "$gateway_base/api/tokens" \
        -H "Authorization: Bearer $token" -H 'content-type: application/json' \
        -d '{"description":"bench","groups":["bench-agents"]}' |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')
fi
echo "run.sh: direct $direct_url, floor $passthrough_url, gateway $gateway_url ($caller caller, tool $gateway_tool)" >&2

declare -A urls=([direct]=$direct_url [passthrough]=$passthrough_url [gateway]=$gateway_url)
# The process between client and server, whose CPU time per request is reported as `hop`.
declare -A hop_pids=([passthrough]=$passthrough_pid [gateway]=$gateway_pid)
clock_ticks=$(getconf CLK_TCK)
targets=(direct passthrough gateway)
runs=$work/runs.jsonl
: >"$runs"
failed=0
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

# measure TARGET CONCURRENCY ROUND: one loadgen run, its JSON line appended to $runs.
measure() {
    local target=$1 concurrency=$2 round=$3 token_env=(env -u LOADGEN_TOKEN) tool=echo
    local cpu=(--clock-ticks "$clock_ticks" --cpu client=self --cpu "upstream=$upstream_pid"
        --cpu machine=machine)
    if [[ -n ${hop_pids[$target]:-} ]]; then
        cpu+=(--cpu "hop=${hop_pids[$target]}")
    fi
    if [[ $target == gateway ]]; then
        token_env=(env LOADGEN_TOKEN="$gateway_token")
        tool=$gateway_tool
    fi
    if ! "${token_env[@]}" "$bin/loadgen" --url "${urls[$target]}" --tool "$tool" --label "$target" --round "$round" \
        --concurrency "$concurrency" --warmup-secs "$warmup" --duration-secs "$duration" \
        "${cpu[@]}" |
        tee -a "$runs" >&2; then
        failed=1
    fi
}

for ((round = 0; round < rounds; round++)); do
    # Rotate the order each round, so no target always runs first or last.
    order=("${targets[@]:round % 3}" "${targets[@]:0:round % 3}")
    for concurrency in "${concurrencies[@]}"; do
        for target in "${order[@]}"; do
            echo "run.sh: round $((round + 1))/$rounds, c=$concurrency, $target" >&2
            measure "$target" "$concurrency" "$((round + 1))"
        done
    done
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

mkdir -p "$(dirname "$out")"
dirty=no
if [[ -n $(git status --porcelain --untracked-files=no 2>/dev/null) ]]; then
    dirty=yes
fi
"$bin/report" --runs "$runs" --out "$out" \
    --latency-concurrency "$latency_concurrency" \
    --throughput-concurrency "$throughput_concurrency" \
    --meta "command=BENCH_ROUNDS=$rounds BENCH_DURATION=$duration BENCH_WARMUP=$warmup BENCH_CONCURRENCIES='${concurrencies[*]}' BENCH_CALLER=$caller BENCH_ROUTE=$route bench/run.sh" \
    --meta "commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
    --meta "worktree_dirty=$dirty" \
    --meta "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    --meta "nproc=$(nproc)" \
    --meta "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')" \
    --meta "memory=$(grep -m1 MemTotal /proc/meminfo | awk '{printf "%.1f GiB", $2 / 1048576}')" \
    --meta "kernel=$(uname -sr)" \
    --meta "rustc=$(rustc --version)" \
    --meta "gateway_log=$gateway_log" \
    --meta "caller=$caller" \
    --meta "route=$route" \
    --meta "loadavg_start=$load_start" \
    --meta "loadavg_end=$load_end"
echo "run.sh: wrote $out" >&2
if ((failed)); then
    echo "run.sh: some runs had errors: the result is invalid" >&2
    exit 2
fi
