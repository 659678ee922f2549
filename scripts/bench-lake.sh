#!/usr/bin/env bash
# The lake benchmark (issue 12, part 3): the same work over the raw .json.gz logs and over the
# lake `keytrail ingest` made of them (target: hunt and a typical investigation >= 5x faster
# from the lake), and a typical query from the lake by keytrail and by DuckDB over the same
# Parquet files (target: keytrail faster). Also times the ingest itself and an ingest with
# nothing new (the cron case).
# Each timing is the median of $KEYTRAIL_BENCH_REPEAT runs (default 3), one process each, with
# its peak RSS. DuckDB runs in Python (PyPI duckdb): its line includes the interpreter's start,
# measured apart and printed.
# Usage: scripts/bench-lake.sh
#   KEYTRAIL_BENCH_DIR: where the estate and its lake are kept (default .keytrail/bench; the
#   estate is bench-hunt.sh's 1x estate, simulated the first time)
#   KEYTRAIL_BENCH_SKIP_BUILD=1, KEYTRAIL_BENCH_PROFILE: as in bench-hunt.sh
set -euo pipefail
cd "$(dirname "$0")/.."
work=${KEYTRAIL_BENCH_DIR:-.keytrail/bench}
profile=${KEYTRAIL_BENCH_PROFILE:-release}
repeat=${KEYTRAIL_BENCH_REPEAT:-3}
[ -n "${KEYTRAIL_BENCH_SKIP_BUILD:-}" ] || cargo build --profile "$profile" --workspace --bins
kt=$(realpath "${CARGO_TARGET_DIR:-target}/$profile/keytrail")
python3 -c 'import duckdb' 2>/dev/null || { echo "needs PyPI duckdb (pip install duckdb)" >&2; exit 2; }
# Without the IP-to-AS data the network rules cannot fire, and the hunt is not the one users run.
asn=${KEYTRAIL_ASN_DB:-${KEYTRAIL_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/keytrail}/asn.ktasn}
[ -f "$asn" ] || { echo "no ASN database at $asn (scripts/setup.sh builds it)" >&2; exit 2; }
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -m); $(date -u +%F); load $(cut -d' ' -f1 /proc/loadavg); duckdb $(python3 -c 'import duckdb; print(duckdb.__version__)')"
echo "IP data: $asn ($(stat -c %s "$asn") bytes, $(date -u -r "$asn" +%F))"

estate=$work/default
[ -d "$estate/AWSLogs" ] || "$kt" -q simulate "$estate"
estate=$(realpath "$estate")
lake=$work/default-lake
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
find "$estate/" -type f -path '*/CloudTrail/*' -exec cat {} + >/dev/null # the page cache warm for all alike

# median NAME COMMAND...: runs it $repeat times; prints the median wall time and its peak RSS,
# and leaves the median in $wall.
median() {
  local name=$1 status
  shift
  : > "$out/runs"
  for _ in $(seq "$repeat"); do
    status=0
    /usr/bin/time -f '%e %M' -o "$out/time" "$@" > "$out/stdout" 2> "$out/stderr" || status=$?
    [ "$status" -le 1 ] || { cat "$out/stderr" >&2; exit 2; }
    tail -1 "$out/time" >> "$out/runs"
  done
  read -r wall rss < <(sort -n "$out/runs" | sed -n "$(((repeat + 1) / 2))p")
  printf '%-44s %7.2f s  %5d MB peak RSS  %s\n' "$name" "$wall" $((rss / 1024)) "$(wc -l < "$out/stdout") lines out"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }

rm -rf "$lake"
/usr/bin/time -f '%e %M' -o "$out/time" "$kt" -q ingest "$estate" --lake "$lake" > "$out/stdout"
read -r wall rss < <(tail -1 "$out/time")
printf '%-44s %7.2f s  %5d MB peak RSS  %s\n' "ingest (a new lake)" "$wall" $((rss / 1024)) "$(cat "$out/stdout")"
echo "    lake: $(du -sh "$lake/events" | cut -f1) in $(find "$lake/events" -name '*.parquet' | wc -l) files; logs: $(du -sh "$estate/AWSLogs" | cut -f1)"
median "ingest (nothing new)" "$kt" -q ingest "$estate" --lake "$lake"

key=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["attacks"][0]["access_key_ids"][0])' "$estate/ground-truth.json")
typical='select "aws.cloudtrail.user_identity.access_key_id" as key, "source.ip", "source.as.organization.name", count(*) as calls, min("@timestamp") as first_seen from cloudtrail where "event.outcome" = '"'"'success'"'"' group by 1, 2, 3 order by first_seen, 1, 2'
selective="select * from cloudtrail where \"aws.cloudtrail.user_identity.access_key_id\" = '$key' order by \"@timestamp\""
declare -A took
for work_item in "count(*)|query|select count(*) from cloudtrail" "typical query|query|$typical" "one key's events|query|$selective" "hunt, built-in rules|hunt|" "investigate $key|investigate|"; do
  IFS='|' read -r name command sql <<< "$work_item"
  for input in logs lake; do
    path=$([ "$input" = logs ] && echo "$estate" || echo "$lake")
    case $command in
      query) median "$name, $input" "$kt" -q query "$sql" "$path" --format csv ;;
      hunt) median "$name, $input" "$kt" -q hunt "$path" --format ndjson ;;
      investigate) median "$name, $input" "$kt" -q investigate "$path" --access-key-id "$key" --format json ;;
    esac
    took[$name,$input]=$wall
  done
  echo "    logs / lake = $(ratio "${took[$name,logs]}" "${took[$name,lake]}")x"
done

cat > "$out/duck.py" <<'EOF'
import sys, duckdb
con = duckdb.connect()
con.execute(f"create view cloudtrail as select * from read_parquet('{sys.argv[1]}/events/**/*.parquet', hive_partitioning=true)")
for row in con.execute(sys.argv[2]).fetchall():
    print(row)
EOF
median "python + duckdb start alone" python3 -c 'import duckdb; duckdb.connect()'
start=$wall
for name in "typical query" "one key's events"; do
  sql=$([ "$name" = "typical query" ] && echo "$typical" || echo "$selective")
  median "$name, lake, DuckDB" python3 "$out/duck.py" "$lake" "$sql"
  echo "    DuckDB / keytrail = $(ratio "$wall" "${took[$name,lake]}")x; without Python's start $(ratio "$(awk -v a="$wall" -v b="$start" 'BEGIN { print a - b }')" "${took[$name,lake]}")x"
done
