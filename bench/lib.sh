# Shared by the benchmark scripts (sourced): starting processes in the background and
# waiting for the line that says where they listen. The caller sets `work` (a scratch
# directory) and `pids` (an array; its cleanup stops every pid in it).

# The release binaries the benchmarks run, in $bin; built first unless BENCH_SKIP_BUILD.
target_dir=${CARGO_TARGET_DIR:-$HOME/.cache/mcpgw-target}
bin=$target_dir/release
build_release() {
    if [[ -z ${BENCH_SKIP_BUILD:-} ]]; then
        CARGO_TARGET_DIR=$target_dir cargo build --release -p mcpgw -p mcpgw-bench
    fi
}

# start NAME COMMAND...: runs COMMAND in the background, output in $work/NAME.{out,err}.
start() {
    local name=$1
    shift
    : >"$work/$name.out"
    "$@" >"$work/$name.out" 2>"$work/$name.err" &
    pids+=("$!")
}

# listening_url NAME PREFIX: waits for the line starting with PREFIX that the last
# started process prints, and echoes the rest of it.
listening_url() {
    local name=$1 prefix=$2 pid=${pids[-1]} line
    for _ in $(seq 300); do
        line=$(grep -m1 "^$prefix" "$work/$name.out" || true)
        if [[ -n $line ]]; then
            echo "${line#"$prefix"}"
            return
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "${0##*/}: $name exited before listening:" >&2
            cat "$work/$name.err" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "${0##*/}: $name did not start within 30 s" >&2
    return 1
}
