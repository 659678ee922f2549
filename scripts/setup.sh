#!/usr/bin/env bash
# Sets keytrail up on a fresh machine and runs its main job on a generated sample:
#   1. fetches the IP-to-AS data and builds keytrail (release),
#   2. compiles the data into keytrail's index (in keytrail's data folder),
#   3. writes a simulated CloudTrail estate (12 days, with stolen-key attacks in the last three),
#      imports its Tor exit list as a known-bad list, and hunts it with the built-in rules, printing the alerts.
set -euo pipefail
cd "$(dirname "$0")/.."
asn_csv=$(scripts/fetch-ip-data.sh)
cargo build --release --workspace --bins
keytrail=${CARGO_TARGET_DIR:-target}/release/keytrail
"$keytrail" asn build "$asn_csv"
sample=.keytrail/sample
if [ ! -d "$sample/AWSLogs" ]; then
  "$keytrail" simulate "$sample" --days 12 --events-per-day 20000
fi
# The estate's Tor exit list, for the known-bad address rule (a sample from before it had none skips this).
if [ -f "$sample/intel/tor-exits.txt" ]; then
  "$keytrail" intel add "$sample/intel/tor-exits.txt" --name tor-exits
fi
echo
echo "Hunting the sample estate with the built-in rules (the attacks are listed in $sample/ground-truth.json):"
# Exit status 1 means "alerts found", which is what the sample is for.
"$keytrail" hunt "$sample/AWSLogs" --format table || [ $? -eq 1 ]
echo
echo "keytrail is at $keytrail; try: $keytrail query 'select count(*) from cloudtrail' $sample"
