#!/usr/bin/env bash
# Fuzzes keytrail's parsers and renderers: scripts/fuzz.sh MINUTES [TARGET...]
#
# Installs cargo-fuzz if it is missing, seeds fuzz/corpus/<target>/ from the project's test
# fixtures and, when it is there, ../shared/corpus (CloudTrail records, Elastic rule files),
# then runs each target (all of fuzz/fuzz_targets by default) for MINUTES, one after the
# other on one core, and prints per target the executions, the coverage libFuzzer reached
# (cov: edges, ft: features) and the crashes it wrote to fuzz/artifacts/<target>/.
# Exits 1 when any target crashed, panicked, timed out or ran out of memory.
#
# Needs the nightly toolchain (rustup toolchain install nightly). CARGO_TARGET_DIR defaults
# to target/fuzz; the logs go to target/fuzz-logs.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
minutes=${1:?usage: scripts/fuzz.sh MINUTES [TARGET...]}
shift
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target/fuzz}
logs=$root/target/fuzz-logs
mkdir -p "$logs"
cd "$root"

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz
fi

if (($# > 0)); then
    targets=("$@")
else
    mapfile -t targets < <(cargo +nightly fuzz list)
fi

# Seeds: one file per input, named by its hash, so reseeding adds nothing twice. The shared
# corpus is read, never copied into the repository: fuzz/corpus is ignored by git.
python3 - "$root" <<'PY'
import gzip, hashlib, json, pathlib, re, sys, tomllib

root = pathlib.Path(sys.argv[1])
shared = root.parent / "shared" / "corpus"
corpus = root / "fuzz" / "corpus"
counts = {}

def seed(target, text, limit=64 * 1024):
    data = text.encode() if isinstance(text, str) else text
    if not data or len(data) > limit:
        return
    folder = corpus / target
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / hashlib.sha1(data).hexdigest()
    if not path.exists():
        path.write_bytes(data)
        counts[target] = counts.get(target, 0) + 1

def files(folder, *patterns):
    if not folder.is_dir():
        return []
    return sorted(p for pattern in patterns for p in folder.rglob(pattern) if p.is_file())

def records(value):
    """The CloudTrail records or ECS documents in a parsed file."""
    if isinstance(value, list):
        for item in value:
            yield from records(item)
    elif isinstance(value, dict):
        for key in ("Records", "expected"):
            if isinstance(value.get(key), list):
                yield from records(value[key])
                return
        if isinstance(value.get("log"), dict):  # panther's tests: the event is under "log"
            yield value["log"]
        else:
            yield value

# Event data: whole files for decode (some gzipped, as CloudTrail delivers them), each record
# on its own for normalize.
cloudtrail = files(shared / "cloudtrail", "*.json", "*.jsonl", "*.log") + files(root / "crates", "*.jsonl")
for path in cloudtrail:
    raw = path.read_bytes()
    seed("decode", raw)
    if len(raw) < 16 * 1024:
        seed("decode", gzip.compress(raw, mtime=0))
    text = raw.decode("utf-8", "replace")
    try:
        values = [json.loads(text)]
    except ValueError:
        values = [json.loads(line) for line in text.splitlines() if line.strip().startswith(("{", "["))]
    for record in records(values):
        seed("normalize", json.dumps(record), 16 * 1024)

# The detection test cases: rules (TOML), and their events.
cases = files(root / "crates" / "keytrail-detect" / "tests" / "cases", "*.case")
for path in cases:
    for block in re.split(r"^--- ", path.read_text(), flags=re.M)[1:]:
        kind, _, body = block.partition("\n")
        if kind.strip() == "rule":
            seed("rules", body)
        elif kind.strip() == "events":
            seed("decode", body)
            for line in body.splitlines():
                if line.startswith("{"):
                    seed("normalize", line)

# Planted secrets, for normalize's redaction check: a CloudTrail record, an EventBridge
# envelope and an ECS document, each with a password in a free-form object.
planted = {
    "eventVersion": "1.08", "eventTime": "2024-05-01T10:00:00Z", "eventSource": "iam.amazonaws.com",
    "eventName": "CreateLoginProfile", "awsRegion": "us-east-1", "sourceIPAddress": "1.2.3.4",
    "userIdentity": {"type": "IAMUser", "accessKeyId": "AKIAEXAMPLE", "userName": "alice"},
    "requestParameters": {"userName": "bob", "password": "CANARY-1"},
    "additionalEventData": {"nested": [{"password": "CANARY-2"}]},
}
seed("normalize", json.dumps(planted, separators=(",", ":")))
seed("normalize", json.dumps({"detail-type": "AWS API Call via CloudTrail", "detail": planted}, separators=(",", ":")))
seed("normalize", json.dumps({
    "@timestamp": "2024-05-01T10:00:00Z", "event": {"action": "CreateLoginProfile"},
    "aws": {"cloudtrail": {"flattened": {"request_parameters": {"password": "CANARY-3"}}}},
}, separators=(",", ":")))

# Rule files and the queries in them.
rule_files = files(root / "crates" / "keytrail-rules" / "builtin", "*.toml")
rule_files += files(shared / "rules", "*.toml")
for path in rule_files:
    text = path.read_text()
    seed("rules", text, 16 * 1024)
    try:
        rule = tomllib.loads(text).get("rule", {})
    except tomllib.TOMLDecodeError:
        continue
    query = rule.get("query")
    if isinstance(query, str):
        seed("esql" if rule.get("type") == "esql" or rule.get("language") == "esql" else "kql", query)

# The parsers' own test cases.
for name in ("parse.txt", "eval.txt"):
    path = root / "crates" / "keytrail-kql" / "tests" / "cases" / name
    for block in re.split(r"^=== .*\n", path.read_text(), flags=re.M)[1:]:
        seed("kql", block.split("\n---", 1)[0])
for path in files(root / "crates" / "keytrail-esql" / "tests" / "cases", "*.txt"):
    for block in re.split(r"^== query.*\n", path.read_text(), flags=re.M)[1:]:
        seed("esql", re.split(r"^(?:--|==) ", block, flags=re.M)[0].strip())

# The report's free-text values: markup, quotes, entities, control characters, wide text.
# libFuzzer's inputs start no longer than its seeds: these are long enough for every field.
for text in ["<script>alert(1)</script>", "\" onmouseover=\"x", "' onload='x", "&lt;b&gt; &amp; &#60;",
             "]]><!--", "\x1b[31mred\x07\r\n\t", "名前 😀 ​\u202e", "aws-cli/2.15 Python/3.11 Linux/6.1"]:
    seed("html", (text * 400)[:4096])

for target, count in sorted(counts.items()):
    print(f"seeded {target}: {count} new inputs")
PY

status=0
summary=()
for target in "${targets[@]}"; do
    artifacts=$root/fuzz/artifacts/$target
    mkdir -p "$artifacts" "fuzz/corpus/$target"
    # Findings are crash-, timeout-, oom- and leak- files; slow-unit- files only say an input
    # took over 10 s, which a starved CPU alone can cause (each is rerun and timed below).
    findings() { find "$artifacts" -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) | wc -l; }
    before=$(findings)
    slow_before=$(find "$artifacts" -type f -name 'slow-unit-*' | wc -l)
    log=$logs/$target.log
    echo "fuzzing $target for $minutes minutes (log: $log)"
    # Planning an ES|QL rule runs DataFusion's optimizer, which under AddressSanitizer at
    # opt-level 1 takes seconds for Elastic's largest rules (0.1 s in a normal build): those
    # targets get a longer timeout, so that a timeout still means a hang.
    case $target in esql | rules) timeout=60 ;; *) timeout=10 ;; esac
    # A crash ends libFuzzer's run with an error; it is counted from the artifacts below.
    nice -n 19 cargo +nightly fuzz run "$target" -- \
        -max_total_time=$((minutes * 60)) -rss_limit_mb=4096 -timeout=$timeout -print_final_stats=1 >"$log" 2>&1 || true
    crashes=$(($(findings) - before))
    if (($(find "$artifacts" -type f -name 'slow-unit-*' | wc -l) > slow_before)); then
        for unit in "$artifacts"/slow-unit-*; do
            start=$(date +%s.%N)
            "$CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release/$target" "$unit" >/dev/null 2>&1 || true
            echo "$target: $(basename "$unit") reruns in $(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }') s"
        done
    fi
    # A run that crashed while loading its corpus has no coverage line yet.
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    coverage=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1 || true)
    summary+=("$(printf '%-10s %12s runs %8s exec/s  %-22s %s crashes' "$target" "${runs:-?}" "${speed:-?}" "${coverage:-cov: ? ft: ?}" "$crashes")")
    if ((crashes > 0)) || ! grep -q '^Done [0-9]* runs' "$log"; then
        status=1
        grep -h 'Test unit written to\|panicked at\|ERROR: libFuzzer' "$log" | head -5 || true
    fi
done

printf '%s\n' "${summary[@]}"
exit $status
