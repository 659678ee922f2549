#!/usr/bin/env bash
# Sets keytrail up on a fresh machine and runs its main job on a generated sample:
#   1. fetches the IP-to-AS data and builds keytrail (release),
#   2. compiles the data into keytrail's index (in keytrail's data folder),
#   3. writes a simulated CloudTrail estate and queries it.
set -euo pipefail
cd "$(dirname "$0")/.."
asn_csv=$(scripts/fetch-asn-data.sh)
cargo build --release --bin keytrail
keytrail=target/release/keytrail
"$keytrail" asn build "$asn_csv"
sample=.keytrail/sample
if [ ! -d "$sample/AWSLogs" ]; then
  "$keytrail" simulate "$sample" --days 1 --events-per-day 20000
fi
echo
echo "Who called what, from which networks, in the sample estate:"
"$keytrail" query --format table '
  select "aws.cloudtrail.user_identity.type" as identity, "source.as.organization.name" as network,
         count(*) as calls, count(distinct "aws.cloudtrail.user_identity.access_key_id") as keys,
         sum(case when "event.outcome" = '"'"'failure'"'"' then 1 else 0 end) as failures
  from cloudtrail group by 1, 2 order by calls desc limit 15' "$sample"
echo
echo "keytrail is at $keytrail; try: $keytrail query 'select count(*) from cloudtrail' $sample"
