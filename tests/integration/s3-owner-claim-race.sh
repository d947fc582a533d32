#!/usr/bin/env bash
# owner-claim-race on Ceph RGW: two daemons racing to claim a released volume in one bucket and
# prefix; the record is replaced with If-Match, so exactly one serves in every round.
export BP_TEST_BACKEND=s3
export BP_RACE_ROUNDS=${BP_RACE_ROUNDS:-4}
source "$(dirname "$0")/owner-claim-race.sh"
