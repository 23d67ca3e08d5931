#!/usr/bin/env bash
# Hostel benchmark: one command, one run, one markdown table.
#
#   bash bench/run.sh            # DURATION=10 CONNECTIONS=64 by default
#
# Loopback only. Runs the same `tools/call echo` load (wrk, 64 connections,
# fixed duration, one server at a time) against hostel (lean and wasi:http
# paths), the native rmcp anchor, `wasmtime serve` with the same echo
# component (when a wasmtime 48 binary is available) and the MCP TypeScript
# SDK in fresh-server-per-request mode, then the in-process criterion
# benches, and prints ratios to rmcp. Tenant-scale numbers: bench/tenants.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }

echo "building (release)…" >&2
cargo build --release -p hostel >&2
cargo build --release --manifest-path bench/Cargo.toml --target-dir target/bench >&2

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

cat > "$work/hostel.toml" <<TOML
[server]
cache_dir = "$work/cache"
[[tenant]]
name = "echo"
component = "$PWD/target/guests/echo.wasm"

[[tenant]]
name = "echo-http"
component = "$PWD/target/guests/echo.wasm"
entry = "wasi-http"
TOML

# start NAME URL_PATH CMD… : starts a server printing "… http://ADDR" first.
start() {
  local name=$1 path=$2; shift 2
  "$@" > "$work/$name.out" 2> "$work/$name.err" &
  pids+=($!)
  echo $! > "$work/$name.pid"
  for _ in $(seq 1 200); do
    addr=$(cat "$work/$name.out" "$work/$name.err" 2>/dev/null | grep -o 'http://[0-9.:]*' | head -1 || true)
    [ -n "$addr" ] && break
    sleep 0.05
  done
  [ -n "$addr" ] || { echo "$name did not start" >&2; cat "$work/$name.err" >&2; exit 1; }
  echo "$addr$path" > "$work/$name.url"
  # Ready = a correct answer to the benchmark request.
  for _ in $(seq 1 600); do
    curl -sf "$(cat "$work/$name.url")" -H 'content-type: application/json' -H 'accept: application/json, text/event-stream' \
      -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"}}}' | grep -q '"result"' && return 0
    sleep 0.1
  done
  echo "$name never answered" >&2; exit 1
}

load() { # NAME → "rps p50 p99 rss_mib errors"
  local name=$1 url
  url=$(cat "$work/$name.url")
  wrk -t"$THREADS" -c"$CONNECTIONS" -d2s -s bench/echo-call.lua "$url" > /dev/null  # warm-up
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" -s bench/echo-call.lua "$url" > "$work/$name.wrk"
  local line rss
  line=$(grep '^BENCH' "$work/$name.wrk")
  rss=$(awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$(cat "$work/$name.pid")/status")
  echo "$(sed -E 's/.*rps=([0-9.]+) p50_us=([0-9]+) p99_us=([0-9]+) requests=[0-9]+ errors=([0-9]+).*/\1 \2 \3/' <<<"$line") $rss $(sed -E 's/.*errors=([0-9]+).*/\1/' <<<"$line")"
}

# One server at a time owns the cores: start, measure, stop.
start hostel /echo/mcp target/release/hostel serve --config "$work/hostel.toml" --listen 127.0.0.1:0
sed 's#/echo/mcp#/echo-http/mcp#' "$work/hostel.url" > "$work/hostel-http.url"
cp "$work/hostel.pid" "$work/hostel-http.pid"
read -r h_rps h_p50 h_p99 h_rss h_err < <(load hostel)
read -r w_rps w_p50 w_p99 w_rss w_err < <(load hostel-http)
kill "$(cat "$work/hostel.pid")"
start rmcp /mcp target/bench/release/rmcp-echo 127.0.0.1:0
read -r r_rps r_p50 r_p99 r_rss r_err < <(load rmcp)
kill "$(cat "$work/rmcp.pid")"

# The same echo component under `wasmtime serve` 48.0.8 (echo is built
# without the SDK's hostel-seal feature, so it needs only WASI), when a
# `wasmtime` binary is there (WASMTIME=…, or on PATH; install it with
# `cargo install wasmtime-cli --version 48.0.8 --locked`).
wasmtime_bin=${WASMTIME:-$(command -v wasmtime || true)}
t_row="| \`wasmtime serve\` 48.0.8, same echo component | not run: no wasmtime binary | | | | | |"
if [ -n "$wasmtime_bin" ]; then
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  start wasmtime /mcp "$wasmtime_bin" serve -S cli --addr "127.0.0.1:$port" "$PWD/target/guests/echo.wasm"
  read -r x_rps x_p50 x_p99 x_rss x_err < <(load wasmtime)
  kill "$(cat "$work/wasmtime.pid")"
fi

# The MCP TypeScript SDK, fresh server per request (tests/mcp's Node 22).
node_bin=tests/mcp/node_modules/.bin/node
if [ -x "$node_bin" ]; then
  start ts /mcp "$node_bin" bench/ts-echo.mjs
  read -r s_rps s_p50 s_p99 s_rss s_err < <(load ts)
  kill "$(cat "$work/ts.pid")"
fi

echo "in-process benches (criterion)…" >&2
cargo bench -p hostel --bench instance -- --warm-up-time 1 --measurement-time 3 >&2
median() { python3 -c "import json,sys; print('%.1f' % (json.load(open(sys.argv[1]))['median']['point_estimate']/1000))" "target/criterion/$1/new/estimates.json"; }

ms() { awk -v us="$1" 'BEGIN {printf "%.2f", us/1000}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a/b}'; }
cat <<MD

Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr); wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s on loopback, same run.

| server | req/s | p50 ms | p99 ms | peak RSS MiB | errors | req/s vs rmcp |
|---|---:|---:|---:|---:|---:|---:|
| hostel, lean export (fresh instance per request) | $h_rps | $(ms "$h_p50") | $(ms "$h_p99") | $h_rss | $h_err | $(ratio "$h_rps" "$r_rps")× |
| hostel, wasi:http export (fresh instance per request) | $w_rps | $(ms "$w_p50") | $(ms "$w_p99") | $w_rss | $w_err | $(ratio "$w_rps" "$r_rps")× |
| rmcp 3.11 native, shared server, stateless JSON | $r_rps | $(ms "$r_p50") | $(ms "$r_p99") | $r_rss | $r_err | 1.00× |
$(if [ -n "${x_rps:-}" ]; then echo "| \`wasmtime serve\` 48.0.8, same echo component (fresh instance per request) | $x_rps | $(ms "$x_p50") | $(ms "$x_p99") | $x_rss | $x_err | $(ratio "$x_rps" "$r_rps")× |"; else echo "$t_row"; fi)
$(if [ -n "${s_rps:-}" ]; then echo "| MCP TypeScript SDK 1.32.2, fresh server per request (Node 22) | $s_rps | $(ms "$s_p50") | $(ms "$s_p99") | $s_rss | $s_err | $(ratio "$s_rps" "$r_rps")× |"; fi)

$(if [ -n "${x_rps:-}" ]; then echo "hostel lean vs \`wasmtime serve\`: $(ratio "$h_rps" "$x_rps")×."; fi)

| in-process (criterion median) | µs |
|---|---:|
| Store::new + drop | $(median store_new_and_drop) |
| instantiate + drop (pooling) | $(median instantiate_and_drop) |
| whole request, bare wasi:http guest (no SDK, fixed answer) | $(median bare_wasi_http_fresh_instance) |
| whole tools/call echo, SDK guest, wasi:http export | $(median tools_call_echo_fresh_instance) |
| whole tools/call echo, SDK guest, lean export | $(median tools_call_echo_lean) |
| same, without pre-initialization (server built per request) | $(median tools_call_echo_lean_no_preinit) |
| training agent \`sales\`, tools/call get_adcp_capabilities, pre-initialized | $(median training_agent_capabilities) |
| same, without pre-initialization | $(median training_agent_capabilities_no_preinit) |
| training agent \`sales\`, tools/list, pre-initialized | $(median training_agent_tools_list) |
| same, without pre-initialization | $(median training_agent_tools_list_no_preinit) |
MD
