#!/usr/bin/env bash
# Fetches the IP-to-AS data (npm package @ip-location-db/asn: RouteViews + DB-IP ASN Lite,
# CC BY 4.0) into .keytrail/asn/ unless it is already there. Prints the folder.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=.keytrail/asn
if [ ! -f "$dest/package/asn-ipv4.csv" ]; then
  mkdir -p "$dest"
  (cd "$dest" && npm pack --silent @ip-location-db/asn >/dev/null && tar xzf ip-location-db-asn-*.tgz && rm -f ip-location-db-asn-*.tgz)
fi
echo "$PWD/$dest/package"
