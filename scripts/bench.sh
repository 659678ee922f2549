#!/usr/bin/env bash
# The read benchmark (issue 2): keytrail's full read against, in the same run,
#   - the floor: inflating the same files on all cores and discarding the text,
#   - DuckDB's read_json of the same files (the tool users reach for).
# Also peak RSS of `count(*)` at 1x and 4x the input, which must not grow with it.
# Usage: scripts/bench.sh [events_per_day] [days]   (defaults: 60000 x 7 = 420k events, ~30k files)
set -euo pipefail
cd "$(dirname "$0")/.."
per_day=${1:-60000}
days=${2:-7}
work=${KEYTRAIL_BENCH_DIR:-.keytrail/bench}
cargo build --release --bin keytrail
cargo build --release -p keytrail-decode --example inflate_floor
kt=target/release/keytrail
floor=target/release/examples/inflate_floor
python3 -c 'import duckdb' 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check duckdb

estate() { # folder, seed, accounts
  if [ ! -d "$1/AWSLogs" ]; then "$kt" -q simulate "$1" --days "$days" --events-per-day "$per_day" --seed "$2" --accounts "$3"; fi
}
estate "$work/x1" 1 5
for s in 2 3 4; do estate "$work/more$s" "$s" 5; done

files=$(find "$work/x1" -name '*.json.gz' -not -path '*Digest*' | wc -l)
mb=$(du -sm "$work/x1" | cut -f1)
sync; cat $(find "$work/x1" -type f) >/dev/null  # warm the page cache for every contender alike

timed() { # prints seconds and peak RSS (KiB) of a command
  /usr/bin/time -f '%e %M' "$@" 2>&1 >/dev/null | tail -1
}
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -m); $(date -u +%F)"
echo "input: $files files, ${mb} MB compressed"
floor_json=$("$floor" "$work/x1")
echo "floor (inflate only): $floor_json"
read -r kt_s kt_rss < <(timed "$kt" -q query 'select count(*) from cloudtrail' "$work/x1")
events=$("$kt" -q query --format csv 'select count(*) as n from cloudtrail' "$work/x1" | tail -1)
echo "keytrail count(*): ${kt_s}s, peak RSS ${kt_rss} KiB, $events events"
read -r kt4_s kt4_rss < <(timed "$kt" -q query 'select count(*) from cloudtrail' "$work/x1" "$work/more2" "$work/more3" "$work/more4")
echo "keytrail count(*) at 4x: ${kt4_s}s, peak RSS ${kt4_rss} KiB"
rm -rf "$work/parquet"
read -r conv_s conv_rss < <(timed "$kt" -q convert "$work/x1" --to parquet -o "$work/parquet")
echo "keytrail convert to parquet: ${conv_s}s, peak RSS ${conv_rss} KiB"
read -r duck_s duck_rss < <(timed python3 -c "
import duckdb, sys
con = duckdb.connect()
con.execute(\"SET threads TO $(nproc)\")
print(con.execute(\"select count(*) from (select unnest(Records) from read_json('$work/x1/AWSLogs/**/*.json.gz', format='auto', maximum_object_size=268435456))\").fetchone()[0])
")
echo "duckdb read_json count: ${duck_s}s, peak RSS ${duck_rss} KiB"
python3 - "$floor_json" "$kt_s" "$conv_s" "$duck_s" "$events" "$kt_rss" "$kt4_rss" <<'PY'
import json, sys
floor = json.loads(sys.argv[1]); kt, conv, duck = map(float, sys.argv[2:5]); events = int(sys.argv[5])
rss1, rss4 = int(sys.argv[6]), int(sys.argv[7])
mb = floor["inflated_bytes"] / 1e6
print(f"events/s: keytrail count {events/kt:,.0f}, convert {events/conv:,.0f}, duckdb {events/duck:,.0f}")
print(f"MB/s (inflated JSON): floor {mb/floor['seconds']:,.0f}, keytrail count {mb/kt:,.0f}, convert {mb/conv:,.0f}, duckdb {mb/duck:,.0f}")
print(f"ratio to floor: count {floor['seconds']/kt:.2f}, convert {floor['seconds']/conv:.2f} (target >= 0.60)")
print(f"speed-up over duckdb: count {duck/kt:.1f}x, convert {duck/conv:.1f}x (target >= 5x)")
print(f"peak RSS 4x/1x: {rss4/rss1:.2f} (target: flat)")
PY
