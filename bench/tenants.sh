#!/usr/bin/env bash
# Tenant-scale benchmark, one run, one markdown table (loopback only):
#   - RSS with 1 and with 1,000 configured tenants idle (same component,
#     so they share one compiled copy), and with 100 of the 1,000 active;
#   - throughput, 64 connections: 100 tenants round-robin vs 1 tenant;
#   - first request to a newly deployed tenant (admin API), compile cache
#     cold vs warm (the training agent, 0.7 MB);
#   - 1,000 *distinct* components (echo, each with its own custom section,
#     so nothing is shared) with `lazy_tenants = true`: time to ready and
#     RSS idle, then the first request to 100 of them (compile cache cold,
#     two at a time) and RSS with those 100 loaded.
#
#   bash bench/tenants.sh        # DURATION=10 CONNECTIONS=64 by default
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-64}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cargo build --release -p hostel >&2
bin=$PWD/target/release/hostel
echo_wasm=$PWD/target/guests/echo.wasm
agent_wasm=$PWD/target/guests/training-agent.wasm

work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# serve N CACHE_DIR [distinct]: starts hostel with tenants t1..tN (echo;
# with `distinct`, lazy tenants of N different components) and waits until
# /readyz is 200; sets $pid and $addr.
serve() {
  local n=$1 cache=$2 distinct=${3:-}
  {
    echo "[server]"; echo "listen = \"127.0.0.1:0\""; echo "state = \"sqlite://$work/state-$n$distinct.db\""
    echo "cache_dir = \"$cache\""; echo "admin_token_env = \"BENCH_ADMIN_TOKEN\""
    [ -n "$distinct" ] && echo "lazy_tenants = true"
    for i in $(seq 1 "$n"); do
      echo "[[tenant]]"; echo "name = \"t$i\""
      if [ -n "$distinct" ]; then echo "component = \"$work/distinct/e$i.wasm\""; else echo "component = \"$echo_wasm\""; fi
    done
  } > "$work/hostel-$n.toml"
  BENCH_ADMIN_TOKEN=bench-admin-token-0001 "$bin" serve --config "$work/hostel-$n.toml" > "$work/out" 2> "$work/err" &
  pid=$!
  for _ in $(seq 1 200); do addr=$(grep -o 'http://[0-9.:]*' "$work/out" | head -1 || true); [ -n "$addr" ] && break; sleep 0.05; done
  for _ in $(seq 1 600); do curl -sf "$addr/readyz" >/dev/null && return 0; sleep 0.05; done
  echo "hostel never became ready" >&2; cat "$work/err" >&2; exit 1
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""; }
rss_mib() { awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$pid/status"; }

warmup() { wrk -t2 -c"$CONNECTIONS" -d2s -s bench/echo-call.lua "$addr" -- "$1" >/dev/null; }
serve 1 "$work/cache"; sleep 1; rss1=$(rss_mib)
warmup 1
one=$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" -s bench/echo-call.lua "$addr" -- 1 | grep BENCH)
stop
serve 1000 "$work/cache"; sleep 1; rss1000=$(rss_mib)
warmup 100
many=$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" -s bench/echo-call.lua "$addr" -- 100 | grep BENCH)
rss_active=$(rss_mib)

# First request to a new tenant: deploy through the admin API, then call;
# the sum of the two exchanges as curl times them (connect to last byte),
# so client process start-up is not counted.
first_call() {
  local name=$1 deploy call
  deploy=$(curl -sf -o /dev/null -w '%{time_total}' -X PUT -H "authorization: Bearer bench-admin-token-0001" \
    -F "component=@$agent_wasm" "$addr/admin/tenants/$name")
  call=$(curl -sf -w ' %{time_total}' "$addr/$name/mcp" -H 'content-type: application/json' -H 'accept: application/json' \
    -d '{"jsonrpc":"2.0","id":1,"method":"tools/list"}')
  grep -q '"result"' <<<"$call" || { echo "first call to $name failed: $call" >&2; exit 1; }
  awk -v d="$deploy" -v c="${call##* }" 'BEGIN { printf "%.1f", (d + c) * 1000 }'
}
cold=$(first_call agent-cold)
stop
serve 1 "$work/cache"   # same cache: the agent's artifact is on disk now
warm=$(first_call agent-warm)
stop

# 1,000 distinct components: echo plus a custom section naming the copy
# (valid anywhere in a component), so every one compiles on its own.
mkdir -p "$work/distinct"
python3 - "$echo_wasm" "$work/distinct" <<'PY'
import sys
src, out = open(sys.argv[1], "rb").read(), sys.argv[2]
def leb(n):
    b = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        b.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(b)
for i in range(1, 1001):
    name, payload = b"hostel-bench-copy", str(i).encode()
    body = leb(len(name)) + name + payload
    open(f"{out}/e{i}.wasm", "wb").write(src + b"\x00" + leb(len(body)) + body)
PY
started=$(date +%s.%N)
serve 1000 "$work/cache-distinct" distinct
lazy_ready=$(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN { printf "%.0f", (e - s) * 1000 }')
sleep 1; rss_lazy=$(rss_mib)
started=$(date +%s.%N)
seq 1 100 | xargs -P2 -I{} curl -sf -o /dev/null "$addr/t{}/mcp" -H 'content-type: application/json' -H 'accept: application/json' \
  -d '{"jsonrpc":"2.0","id":1,"method":"tools/list"}'
lazy_first=$(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN { printf "%.0f", (e - s) * 1000 / 100 * 2 }')
rss_lazy_active=$(rss_mib)
loaded=$(curl -s "$addr/readyz" | grep -o '"status":"ready"' | wc -l)
stop

field() { echo "$1" | grep -o "$2=[0-9.]*" | cut -d= -f2; }
per_tenant=$(awk -v a="$rss1000" -v b="$rss1" 'BEGIN { printf "%.1f", (a - b) * 1024 / 999 }')
cat <<TABLE

Machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); wrk ${CONNECTIONS} connections, ${DURATION} s, loopback.

| measurement | value |
|---|---|
| RSS, 1 tenant idle | ${rss1} MiB |
| RSS, 1,000 tenants idle | ${rss1000} MiB (**${per_tenant} KiB per idle tenant**) |
| RSS, 1,000 tenants, 100 active under load | ${rss_active} MiB |
| 1 tenant: req/s, p50, p99 | $(field "$one" rps), $(field "$one" p50_us) µs, $(field "$one" p99_us) µs (errors $(field "$one" errors)) |
| 100 tenants round-robin: req/s, p50, p99 | $(field "$many" rps), $(field "$many" p50_us) µs, $(field "$many" p99_us) µs (errors $(field "$many" errors)) |
| first request to a new tenant, cache cold (deploy + compile + call) | ${cold} ms |
| first request to a new tenant, cache warm | ${warm} ms |
| 1,000 distinct components, \`lazy_tenants\`: start to ready | ${lazy_ready} ms |
| 1,000 distinct components, lazy, idle | ${rss_lazy} MiB |
| first request to a lazy tenant, cache cold (100 tenants, 2 at a time) | ${lazy_first} ms each |
| 1,000 distinct components, lazy, ${loaded} loaded | ${rss_lazy_active} MiB |
TABLE
