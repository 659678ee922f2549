#!/usr/bin/env bash
# Runs every test. Installs what the tests need that a fresh machine lacks: moto (an S3
# server on 127.0.0.1 for the s3:// tests) and the IP-to-AS data for the enrichment tests.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! python3 -c 'import moto.server' 2>/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check 'moto[server]' || echo "warning: moto not installed; S3 tests will skip" >&2
fi
if asn_csv=$(scripts/fetch-asn-data.sh 2>/dev/null); then
  export KEYTRAIL_ASN_CSV_DIR="$asn_csv"
else
  echo "warning: could not fetch the ASN data; enrichment tests on real data will skip" >&2
fi
cargo test --workspace --all-targets "$@"
