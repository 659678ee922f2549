#!/usr/bin/env bash
# The hunt benchmark (issue 12): backfilling rules over an estate against reading it.
#   - count(*) of the estate's files: the read alone, the floor the hunt is measured against;
#   - hunt with the built-in rules (target: <= 1.5x count(*));
#   - hunt with every rule of Elastic's AWS set that keytrail runs, no built-ins (target: <= 2x).
# Each is one process, timed with its peak RSS (target for the hunts: <= 1 GB, and flat: the
# 10x estate's at most 1.3x the 1x estate's). count(*) is also run on the estate piped to stdin.
# The 1x estate is `keytrail simulate`'s default: 14 days, 30,000 events a day, 3 accounts;
# the 10x estate the same days with 300,000 events a day (~4.2 M events).
# Usage: scripts/bench-hunt.sh
#   KEYTRAIL_BENCH_DIR: where estates are kept (default .keytrail/bench)
#   KEYTRAIL_BENCH_SCALES: which estates, "1", "10" or "1 10" (default 1)
#   KEYTRAIL_BENCH_SKIP_BUILD=1 uses the build already there; KEYTRAIL_BENCH_PROFILE=profiling
#   measures that cargo profile instead of release;
#   KEYTRAIL_BENCH_BASELINE=/path/to/keytrail also runs both hunts with that binary, in the same
#   run, for a before/after comparison;
#   KEYTRAIL_BENCH_MEMORY_LIMIT=1GB also runs both hunts with that --memory-limit (the default
#   is half the machine's memory, which a hunt of these estates never fills: no spilling).
set -euo pipefail
cd "$(dirname "$0")/.."
work=${KEYTRAIL_BENCH_DIR:-.keytrail/bench}
profile=${KEYTRAIL_BENCH_PROFILE:-release}
rules=${KEYTRAIL_RULES_DIR:-../shared/corpus/rules/elastic-aws}
[ -n "${KEYTRAIL_BENCH_SKIP_BUILD:-}" ] || cargo build --profile "$profile" --workspace --bins
kt=${CARGO_TARGET_DIR:-target}/$profile/keytrail
[ -d "$rules" ] || { echo "no rules at $rules (set KEYTRAIL_RULES_DIR)" >&2; exit 2; }
# Without the IP-to-AS data the network rules cannot fire, and the hunt is not the one users run.
asn=${KEYTRAIL_ASN_DB:-${KEYTRAIL_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/keytrail}/asn.ktasn}
[ -f "$asn" ] || { echo "no ASN database at $asn (scripts/setup.sh builds it)" >&2; exit 2; }
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -m); $(date -u +%F); load $(cut -d' ' -f1 /proc/loadavg)"
echo "IP data: $asn ($(stat -c %s "$asn") bytes, $(date -u -r "$asn" +%F))"

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# run NAME BINARY ARGS...: one timed process; prints its line and leaves its wall time in $wall.
run() {
  local name=$1 bin=$2 status=0
  shift 2
  /usr/bin/time -f '%e %M' -o "$out/time" "$bin" "$@" > "$out/stdout" 2> "$out/stderr" || status=$?
  # A hunt whose rules partly failed (status 2, each failure named) still measured the others.
  local failed
  failed=$(grep -c '^keytrail: rule failed' "$out/stderr" || true)
  [ "$status" -le 1 ] || [ "$failed" -gt 0 ] || { cat "$out/stderr" >&2; exit 2; }
  read -r wall rss < <(grep -E '^[0-9.]+ [0-9]+$' "$out/time" | tail -1)
  printf '%-34s %7.2f s  %5d MB peak RSS  %s\n' "$name" "$wall" $((rss / 1024)) "$(wc -l < "$out/stdout") lines out"
  [ "$failed" -eq 0 ] || grep '^keytrail: rule failed' "$out/stderr" | cut -c1-220 | sed 's/^/    /'
}
# estate SCALE: the estate of that scale, simulated the first time.
estate() {
  local dir=$work/default
  [ "$1" = 1 ] || dir=$work/x$1
  [ -d "$dir/AWSLogs" ] || "$kt" -q simulate --events-per-day $((30000 * $1)) "$dir"
  echo "$dir"
}
declare -A peak
for scale in ${KEYTRAIL_BENCH_SCALES:-1}; do
  estate=$(estate "$scale")
  files=$(find "$estate/" -path '*/CloudTrail/*' -name '*.json.gz' | wc -l)
  find "$estate/" -type f -path '*/CloudTrail/*' -exec cat {} + >/dev/null # the page cache warm for all alike
  echo "estate ${scale}x: $files event files in $estate"
  run "count(*)" "$kt" -q query 'select count(*) from cloudtrail' "$estate" --format csv
  read_time=$wall
  # The same events through a pipe, as `zcat` writes them (delivery files one after another):
  # stdin is cut into pieces as it arrives, so its peak RSS should not grow with the estate.
  run "count(*), zcat | stdin" "$kt" -q query 'select count(*) from cloudtrail' - --format csv \
    < <(find "$estate/" -type f -path '*/CloudTrail/*' -name '*.json.gz' -exec zcat {} +)
  peak[$scale,count(*) from stdin]=$rss
  bins=("$kt")
  [ -z "${KEYTRAIL_BENCH_BASELINE:-}" ] || bins+=("$KEYTRAIL_BENCH_BASELINE")
  limits=("")
  [ -z "${KEYTRAIL_BENCH_MEMORY_LIMIT:-}" ] || limits+=("$KEYTRAIL_BENCH_MEMORY_LIMIT")
  for bin in "${bins[@]}"; do
    for limit in "${limits[@]}"; do
      label=$([ "$bin" = "$kt" ] && echo "" || echo " (baseline)")
      args=()
      [ -z "$limit" ] || { label+=" (--memory-limit $limit)"; args=(--memory-limit "$limit"); }
      run "hunt, built-in rules$label" "$bin" -q hunt "$estate" --format ndjson "${args[@]}"
      echo "    / count(*) = $(awk -v a="$wall" -v b="$read_time" 'BEGIN { printf "%.2f", a / b }') (target <= 1.5)"
      peak[$scale,the built-in hunt$label]=$rss
      run "hunt, Elastic's AWS rules$label" "$bin" -q hunt "$estate" --no-builtin --rules "$rules" --format ndjson "${args[@]}"
      echo "    / count(*) = $(awk -v a="$wall" -v b="$read_time" 'BEGIN { printf "%.2f", a / b }') (target <= 2)"
      peak[$scale,the Elastic hunt$label]=$rss
    done
  done
done
for key in "${!peak[@]}"; do
  [ "${key%%,*}" = 1 ] || continue
  hunt=${key#*,}
  if [ -n "${peak[10,$hunt]:-}" ]; then
    echo "peak RSS of $hunt, 10x / 1x = $(awk -v a="${peak[10,$hunt]}" -v b="${peak[1,$hunt]}" 'BEGIN { printf "%.2f", a / b }') (target <= 1.3)"
  fi
done
