#!/usr/bin/env bash
# The distributed benchmark (issue 12, part 4): the same commands in one process and through
# two `keytrail worker` processes on this machine, same run. On one machine the workers share
# the coordinator's cores, so this measures what the distributed path costs, not a speed-up.
#   - count(*) of the estate's files: the read alone;
#   - a grouped query (actions by account, distinct addresses): partial aggregates on the
#     workers, shuffled, final on the coordinator;
#   - hunt with the built-in rules: the workers read, the coordinator runs the rules.
# Peak RSS is the coordinator's; each worker's own peak (VmHWM) is printed after the runs.
# Usage: scripts/bench-distributed.sh
#   KEYTRAIL_BENCH_DIR, KEYTRAIL_BENCH_SKIP_BUILD, KEYTRAIL_BENCH_PROFILE: as in bench-hunt.sh
set -euo pipefail
cd "$(dirname "$0")/.."
work=${KEYTRAIL_BENCH_DIR:-.keytrail/bench}
profile=${KEYTRAIL_BENCH_PROFILE:-release}
[ -n "${KEYTRAIL_BENCH_SKIP_BUILD:-}" ] || cargo build --profile "$profile" --workspace --bins
kt=$(realpath "${CARGO_TARGET_DIR:-target}/$profile/keytrail")
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -m); $(date -u +%F); load $(cut -d' ' -f1 /proc/loadavg)"

out=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; rm -rf "$out"' EXIT
run() {
  local name=$1 status=0
  shift
  /usr/bin/time -f '%e %M' -o "$out/time" "$kt" "$@" > "$out/stdout" 2> "$out/stderr" || status=$?
  [ "$status" -le 1 ] || { cat "$out/stderr" >&2; exit 2; }
  read -r wall rss < <(tail -1 "$out/time")
  printf '%-44s %7.2f s  %5d MB peak RSS  %s\n' "$name" "$wall" $((rss / 1024)) "$(md5sum < "$out/stdout" | cut -c1-8)"
}
workers=""
for n in 1 2; do
  "$kt" worker --listen 127.0.0.1:0 > "$out/worker$n" 2>/dev/null &
  pids+=($!)
  until grep -q listening "$out/worker$n" 2>/dev/null; do sleep 0.1; done
  workers+="${workers:+,}$(awk '{print $NF}' "$out/worker$n")"
done

estate=$work/default
[ -d "$estate/AWSLogs" ] || "$kt" -q simulate --events-per-day 30000 "$estate"
find "$estate/" -type f -path '*/CloudTrail/*' -exec cat {} + >/dev/null # the page cache warm for all alike
echo "estate: $(find "$estate/" -path '*/CloudTrail/*' -name '*.json.gz' | wc -l) event files in $estate; workers $workers"
grouped='select "cloud.account.id", "event.action", count(*) n, count(distinct "source.ip") ips from cloudtrail group by 1, 2 order by 3 desc, 1, 2'
for round in 1 2; do
  echo "round $round (the last column: a digest of the output, the same alone and on workers)"
  run "count(*), one process" -q query 'select count(*) from cloudtrail' "$estate" --format csv
  run "count(*), 2 workers" -q query 'select count(*) from cloudtrail' "$estate" --format csv --workers "$workers"
  run "grouped query, one process" -q query "$grouped" "$estate" --format csv
  run "grouped query, 2 workers" -q query "$grouped" "$estate" --format csv --workers "$workers"
  run "hunt, built-in rules, one process" -q hunt "$estate" --format ndjson
  run "hunt, built-in rules, 2 workers" -q hunt "$estate" --format ndjson --workers "$workers"
done
for pid in "${pids[@]}"; do
  echo "worker $pid peak RSS: $(awk '/VmHWM/{print int($2 / 1024)}' "/proc/$pid/status") MB"
done
