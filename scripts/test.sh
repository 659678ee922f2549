#!/usr/bin/env bash
# Runs every test. Installs what the tests need that a fresh machine lacks: moto (S3, IAM and
# STS on 127.0.0.1 for the s3:// and containment tests), DuckDB (reads back keytrail's Parquet),
# the IP-to-AS data (enrichment tests, the proof of the built-in rules, the incident path), a
# country database (--geo-db), and Chromium (the investigation report is rendered headless).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! python3 -c 'import moto.server' 2>/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check 'moto[server]' || echo "warning: moto not installed; S3 tests will skip" >&2
fi
if python3 -c 'import moto.server' 2>/dev/null; then
  export KEYTRAIL_REQUIRE_MOTO=1 # from here on, a test that cannot start moto fails
fi
if ! python3 -c 'import duckdb' 2>/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check duckdb || echo "warning: duckdb not installed; the Parquet read-back by DuckDB will skip" >&2
fi
if ! command -v chromium >/dev/null 2>&1; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } ||
    echo "warning: chromium not installed; the HTML report test will only check the markup" >&2
fi
if asn_csv=$(scripts/fetch-ip-data.sh 2>/dev/null); then
  export KEYTRAIL_ASN_CSV_DIR="$asn_csv"
else
  echo "warning: could not fetch the ASN data; enrichment tests on real data will skip" >&2
fi
if geo=$(scripts/fetch-ip-data.sh @ip-location-db/geo-whois-asn-country-mmdb 2>/dev/null); then
  export KEYTRAIL_TEST_GEO_DB="$geo/geo-whois-asn-country.mmdb"
else
  echo "warning: could not fetch a country database; the --geo-db test will skip" >&2
fi
cargo test --workspace --all-targets "$@"
