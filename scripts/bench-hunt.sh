#!/usr/bin/env bash
# The hunt benchmark (issue 3): every query/new_terms/esql rule of Elastic's AWS set, backfilled
# over the >= 400,000-event benchmark estate, against the time the same hunt spends reading the
# events (the same columns, in the same run). Target: total <= 2x the read.
# Usage: scripts/bench-hunt.sh   (KEYTRAIL_BENCH_DIR: where scripts/bench.sh left its estates;
#        KEYTRAIL_BENCH_SKIP_BUILD=1 uses the release build already there)
set -euo pipefail
cd "$(dirname "$0")/.."
work=${KEYTRAIL_BENCH_DIR:-.keytrail/bench}
rules=${KEYTRAIL_RULES_DIR:-../shared/corpus/rules/elastic-aws}
[ -n "${KEYTRAIL_BENCH_SKIP_BUILD:-}" ] || cargo build --release --workspace --bins
kt=${CARGO_TARGET_DIR:-target}/release/keytrail
[ -d "$rules" ] || { echo "no rules at $rules (set KEYTRAIL_RULES_DIR)" >&2; exit 2; }
if [ ! -d "$work/x1/AWSLogs" ]; then
  "$kt" -q simulate "$work/x1" --days 7 --events-per-day 60000 --seed 1 --accounts 6
fi
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -m); $(date -u +%F); load $(cut -d' ' -f1 /proc/loadavg)"
log=$(mktemp)
status=0
/usr/bin/time -f '%e %M' -o "$log.time" "$kt" -v hunt "$work/x1" --no-builtin --rules "$rules" --format ndjson \
  2> "$log" > "$log.alerts" || status=$?
[ "$status" -le 1 ] || { cat "$log" >&2; exit 2; }
grep -v "skipping rule" "$log" | sed 's/\x1b\[[0-9;]*m//g' | grep -E "events read|INFO|alerts from"
read -r wall rss < <(tail -1 "$log.time")
echo "wall ${wall}s, peak RSS ${rss} KiB, $(wc -l < "$log.alerts") alerts"
rm -f "$log" "$log.time" "$log.alerts"
