#!/usr/bin/env bash
# Fetches an ip-location-db package from npm into .keytrail/<name>/ unless it is already there,
# and prints the folder holding its files. Default: @ip-location-db/asn, the IP-to-AS data
# keytrail compiles into its index (RouteViews + DB-IP ASN Lite, CC BY 4.0). The tests also use
# @ip-location-db/geo-whois-asn-country-mmdb, a country database for --geo-db.
set -euo pipefail
cd "$(dirname "$0")/.."
package=${1:-@ip-location-db/asn}
dest=.keytrail/${package##*/}
if [ ! -f "$dest/package/package.json" ]; then
  rm -rf "$dest"
  mkdir -p "$dest"
  (cd "$dest" && npm pack --silent "$package" >/dev/null && tar xzf ./*.tgz && rm -f ./*.tgz)
fi
echo "$PWD/$dest/package"
