#!/usr/bin/env bash
# Storyboard benchmark, one run, one markdown table (loopback only): wall
# time to run every bundled AdCP storyboard that targets the training
# agent's tenants (sales: capability_discovery, media_buy_seller with its 9
# scenarios, error_compliance, idempotency, deterministic_testing; signals:
# capability_discovery, signals_baseline, idempotency), three ways:
#   - the official runner (`@adcp/sdk` 6.11.0) against `hostel serve` over HTTP,
#     webhook receiver on (what tests/e2e/storyboard.rs compares with);
#   - `hostel storyboard run`, in-process, one storyboard at a time;
#   - the same with --jobs 2 (each storyboard in its own sandbox).
# Each is run RUNS times (default 3); the table shows the median.
#
#   bash bench/storyboards.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
[ -x tests/adcp/node_modules/.bin/adcp ] || npm ci --prefix tests/adcp >&2
cargo build --release -p hostel >&2
bin=$PWD/target/release/hostel
agent=$PWD/target/guests/training-agent.wasm
bundle=$PWD/tests/adcp/node_modules/@adcp/sdk/compliance/cache/$(cat tests/adcp/node_modules/@adcp/sdk/ADCP_VERSION)
adcp=$PWD/tests/adcp/node_modules/.bin/adcp
sales=capability_discovery,media_buy_seller,error_compliance,idempotency,deterministic_testing
signals=capability_discovery,signals_baseline,idempotency

work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
cat > "$work/hostel.toml" <<TOML
[server]
listen = "127.0.0.1:0"
state = "sqlite://$work/state.db"
cache_dir = "$work/cache"
[limits]
max_concurrent = 256
[[tenant]]
name = "sales"
component = "$agent"
tokens = ["demo-sales-v1"]
outbound = ["http://127.0.0.1:*"]
[[tenant]]
name = "signals"
component = "$agent"
tokens = ["demo-signals-v1"]
outbound = ["http://127.0.0.1:*"]
TOML
"$bin" compile --cache-dir "$work/cache" "$agent" >/dev/null 2>&1
"$bin" serve --config "$work/hostel.toml" > "$work/out" 2> "$work/err" &
pid=$!
for _ in $(seq 1 200); do addr=$(grep -o 'http://[0-9.:]*' "$work/out" | head -1 || true); [ -n "$addr" ] && break; sleep 0.05; done
for _ in $(seq 1 600); do curl -sf "$addr/readyz" >/dev/null && break; sleep 0.05; done

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# time_it CMD…: seconds, failing loudly if the command fails.
time_it() { local t0; t0=$(now); "$@" > "$work/last.out" 2> "$work/last.err" || { echo "failed: $*" >&2; tail -20 "$work/last.err" >&2; exit 1; }; echo "$(now) - $t0" | bc; }

official() {
  "$adcp" storyboard run "$addr/sales/mcp" --storyboards "$sales" --protocol mcp --auth demo-sales-v1 --allow-http --webhook-receiver --json
  "$adcp" storyboard run "$addr/signals/mcp" --storyboards "$signals" --protocol mcp --auth demo-signals-v1 --allow-http --webhook-receiver --json
}
ours() {
  "$bin" storyboard run --component "$agent" --bundle "$bundle" --cache-dir "$work/cache" --jobs "$1" ${sales//,/ }
  "$bin" storyboard run --component "$agent" --bundle "$bundle" --cache-dir "$work/cache" --jobs "$1" ${signals//,/ }
}
declare -A t
for i in $(seq 1 "$RUNS"); do
  t[official]+="$(time_it official)"$'\n'
  t[ours1]+="$(time_it ours 1)"$'\n'
  t[ours2]+="$(time_it ours 2)"$'\n'
done
o=$(printf '%s' "${t[official]}" | median); h1=$(printf '%s' "${t[ours1]}" | median); h2=$(printf '%s' "${t[ours2]}" | median)
graded=$("$bin" storyboard run --component "$agent" --bundle "$bundle" --cache-dir "$work/cache" --format json ${sales//,/ } | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["passed"]+d["failed"]+d["skipped"])')
echo
echo "| runner (8 storyboard runs, $graded steps on sales + signals' own; median of $RUNS) | wall time | vs official |"
echo "|---|---:|---:|"
printf '| official `@adcp/sdk` runner → `hostel serve` (HTTP, webhook receiver) | %.2f s | 1.0× |\n' "$o"
printf '| `hostel storyboard run` (in-process, --jobs 1) | %.2f s | %.1f× faster |\n' "$h1" "$(echo "$o / $h1" | bc -l)"
printf '| `hostel storyboard run` (in-process, --jobs 2) | %.2f s | %.1f× faster |\n' "$h2" "$(echo "$o / $h2" | bc -l)"
