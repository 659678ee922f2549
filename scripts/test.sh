#!/usr/bin/env bash
# Runs every test. Installs what the tests need that a fresh machine lacks: moto (S3, IAM and
# STS on 127.0.0.1 for the s3:// and containment tests), DuckDB (reads back keytrail's Parquet),
# the IP-to-AS data (enrichment tests, the proof of the built-in rules, the incident path), a
# country database (--geo-db), and Chromium (the investigation report is rendered headless).
#
# Under CI (CI=true, or KEYTRAIL_REQUIRE_ALL set) nothing may be missing: a failed install or
# fetch stops here, and KEYTRAIL_REQUIRE_ALL=1 fails any test that lacks its input (the shared
# corpus too). Elsewhere a failed install is a warning, the tests that need it skip, and once
# cargo is done one line lists every skipped test and why (from the log in KEYTRAIL_SKIP_LOG).
set -euo pipefail
cd "$(dirname "$0")/.."

strict=
if [ "${CI:-}" = true ] || [ "${KEYTRAIL_REQUIRE_ALL:-0}" != 0 ]; then
  strict=1
  export KEYTRAIL_REQUIRE_ALL=1
fi

# What could not be had, and the tests that need it: fatal under CI, a warning elsewhere.
unavailable() {
  if [ -n "$strict" ]; then
    echo "error: $1, which $2 need; under CI (KEYTRAIL_REQUIRE_ALL=1) no test may skip" >&2
    exit 1
  fi
  echo "warning: $1; $2 will skip" >&2
}

# Installs a Python package with pip unless its module imports already.
python_package() {
  local module=$1 package=$2 tests=$3
  python3 -c "import $module" 2>/dev/null && return
  { python3 -m pip install --quiet --disable-pip-version-check "$package" && python3 -c "import $module"; } ||
    unavailable "could not install $package (python3 -m pip install '$package')" "$tests"
}

python_package moto.server 'moto[server]' "the s3:// and containment tests"
python_package duckdb duckdb "the Parquet read-back by DuckDB"
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } ||
    unavailable "could not install chromium (apt-get install chromium)" "the HTML report's browser check"
fi
if asn_csv=$(scripts/fetch-ip-data.sh); then
  export KEYTRAIL_ASN_CSV_DIR="$asn_csv"
else
  unavailable "could not fetch the ASN data (scripts/fetch-ip-data.sh: npm @ip-location-db/asn)" \
    "the enrichment tests on real data, the proof of the built-in rules and the incident path's network checks"
fi
if geo=$(scripts/fetch-ip-data.sh @ip-location-db/geo-whois-asn-country-mmdb); then
  export KEYTRAIL_TEST_GEO_DB="$geo/geo-whois-asn-country.mmdb"
else
  unavailable "could not fetch a country database (npm @ip-location-db/geo-whois-asn-country-mmdb)" "the --geo-db test"
fi

# Absolute, as each test runs in its own package's folder; its own file, as other runs may
# share the target folder.
target=${CARGO_TARGET_DIR:-target}
mkdir -p "$target"
KEYTRAIL_SKIP_LOG=$(mktemp "$(cd "$target" && pwd)/skipped-tests.XXXXXX")
export KEYTRAIL_SKIP_LOG
trap 'rm -f "$KEYTRAIL_SKIP_LOG"' EXIT

status=0
cargo test --workspace --all-targets "$@" || status=$?

# Each line of the log is `<test> — <why>`.
skipped=$(grep -c . "$KEYTRAIL_SKIP_LOG" || true)
if [ "$skipped" = 0 ]; then
  echo "skipped 0 tests" >&2
else
  [ "$skipped" = 1 ] && noun=test || noun=tests
  list=$(sort "$KEYTRAIL_SKIP_LOG" | awk -v sep=' — ' '{
    at = index($0, sep)
    printf "%s%s (%s)", (NR > 1 ? "; " : ""), substr($0, 1, at - 1), substr($0, at + length(sep))
  }')
  echo "skipped $skipped $noun: $list" >&2
fi
exit "$status"
