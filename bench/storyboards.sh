#!/usr/bin/env bash
# Storyboard benchmark, one run, one markdown table (loopback only): wall
# time to run every bundled AdCP storyboard that targets the training
# agent's tenants (what the official runner selects from their
# capabilities, less the two transport-level ones; the list of
# tests/e2e/storyboard.rs), two ways, same machine, same run:
#   - the official runner (`@adcp/sdk` 6.11.0) against `hostel serve` over
#     HTTP, webhook receiver on, one invocation per tenant;
#   - `hostel storyboard run`, in-process (--jobs 1 and --jobs 2).
# Twice: all storyboards, and without the two whose webhook steps make the
# official runner wait out fixed windows (idempotency 30 s, webhook_emission
# 90 s), so the ratio is shown with and without those waits.
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
common="capability_discovery pagination_integrity_collection_lists pagination_integrity_content_standards deterministic_testing
error_compliance get_media_buys_pagination_integrity get_signals_pagination_integrity idempotency pagination_integrity
pagination_integrity_creative_formats pagination_integrity_list_accounts pagination_integrity_property_lists schema_validation
v3_envelope_integrity webhook_emission"
sales_all=$(echo $common media_buy_seller creative_sales_agent media_buy_state_machine)
signals_all=$(echo $common signals_baseline)
no_waits() { echo "$@" | tr ' ' '\n' | grep -vx 'idempotency\|webhook_emission' | tr '\n' ' '; }

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

# official SALES_IDS SIGNALS_IDS / ours JOBS SALES_IDS SIGNALS_IDS
official() {
  "$adcp" storyboard run "$addr/sales/mcp" --storyboards "$(echo $1 | tr ' ' ,)" --protocol mcp --auth demo-sales-v1 --allow-http --webhook-receiver --timeout 900 --json || [ $? = 1 ]
  "$adcp" storyboard run "$addr/signals/mcp" --storyboards "$(echo $2 | tr ' ' ,)" --protocol mcp --auth demo-signals-v1 --allow-http --webhook-receiver --timeout 900 --json || [ $? = 1 ]
}
ours() {
  "$bin" storyboard run --tenant sales --config "$work/hostel.toml" --bundle "$bundle" --cache-dir "$work/cache" --jobs "$1" $2 || [ $? = 1 ]
  "$bin" storyboard run --tenant signals --config "$work/hostel.toml" --bundle "$bundle" --cache-dir "$work/cache" --jobs "$1" $3 || [ $? = 1 ]
}
sales_nw=$(no_waits $sales_all); signals_nw=$(no_waits $signals_all)
declare -A t
for i in $(seq 1 "$RUNS"); do
  t[o_all]+="$(time_it official "$sales_all" "$signals_all")"$'\n'
  t[h1_all]+="$(time_it ours 1 "$sales_all" "$signals_all")"$'\n'
  t[h2_all]+="$(time_it ours 2 "$sales_all" "$signals_all")"$'\n'
  t[o_nw]+="$(time_it official "$sales_nw" "$signals_nw")"$'\n'
  t[h1_nw]+="$(time_it ours 1 "$sales_nw" "$signals_nw")"$'\n'
  t[h2_nw]+="$(time_it ours 2 "$sales_nw" "$signals_nw")"$'\n'
done
m() { printf '%s' "${t[$1]}" | median; }
steps=$( { "$bin" storyboard run --tenant sales --config "$work/hostel.toml" --bundle "$bundle" --cache-dir "$work/cache" --format json $sales_all || true; } | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["passed"]+d["failed"]+d["skipped"])')
steps2=$( { "$bin" storyboard run --tenant signals --config "$work/hostel.toml" --bundle "$bundle" --cache-dir "$work/cache" --format json $signals_all || true; } | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["passed"]+d["failed"]+d["skipped"])')
echo
echo "All applicable storyboards: $(echo $sales_all | wc -w) ids on sales, $(echo $signals_all | wc -w) on signals (with scenarios), $((steps + steps2)) steps; median of $RUNS runs."
echo
echo "| runner | all storyboards | vs official | without idempotency, webhook_emission | vs official |"
echo "|---|---:|---:|---:|---:|"
row() { printf '| %s | %.2f s | %s | %.2f s | %s |\n' "$1" "$2" "$3" "$4" "$5"; }
ratio() { printf '%.0f× faster' "$(echo "$1 / $2" | bc -l)"; }
row 'official `@adcp/sdk` runner → `hostel serve` (HTTP)' "$(m o_all)" "1×" "$(m o_nw)" "1×"
row '`hostel storyboard run`, in-process, --jobs 1' "$(m h1_all)" "$(ratio "$(m o_all)" "$(m h1_all)")" "$(m h1_nw)" "$(ratio "$(m o_nw)" "$(m h1_nw)")"
row '`hostel storyboard run`, in-process, --jobs 2' "$(m h2_all)" "$(ratio "$(m o_all)" "$(m h2_all)")" "$(m h2_nw)" "$(ratio "$(m o_nw)" "$(m h2_nw)")"
