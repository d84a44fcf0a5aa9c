#!/usr/bin/env bash
# The same release gate as people script it with openqa-cli (Debian's openqa-client 4.6, which has no
# `schedule --monitor` and no `monitor`): POST isos, a polling loop over the build's job listing,
# one bulk `POST jobs/restart jobs=A jobs=B ...` for the failed jobs (4.6 has it: the fewest requests
# openqa-cli can do), the polling loop again; the last listing is the summary.
# Environment: BUILD GROUP GROUPID DISTRI VERSION FLAVOR ARCH INTERVAL TIMEOUT OPENQA_HOST
# OPENQA_API_KEY OPENQA_API_SECRET.
set -uo pipefail
cli() { openqa-cli api --host "$OPENQA_HOST" --apikey "$OPENQA_API_KEY" --apisecret "$OPENQA_API_SECRET" "$@"; }
listing=$(mktemp)
trap 'rm -f "$listing"' EXIT

wait_build() {   # poll the build's latest jobs until none is scheduled or running
    local give_up=$((SECONDS + ${TIMEOUT%s}))
    while :; do
        cli jobs "build=$BUILD" "groupid=$GROUPID" "distri=$DISTRI" "version=$VERSION" "flavor=$FLAVOR" \
            "arch=$ARCH" latest=1 > "$listing" || exit 6
        [ "$(jq '[.jobs[] | select(.state != "done" and .state != "cancelled")] | length' "$listing")" = 0 ] \
            && return 0
        [ "$SECONDS" -lt "$give_up" ] || return 8
        sleep "$INTERVAL"
    done
}

cli -X POST isos "DISTRI=$DISTRI" "VERSION=$VERSION" "FLAVOR=$FLAVOR" "ARCH=$ARCH" "BUILD=$BUILD" \
    "_GROUP=$GROUP" > /dev/null || exit 6
wait_build
failed=$(jq -r '.jobs[] | select(.result == "failed" or .result == "incomplete") | .id' "$listing")
if [ -n "$failed" ]; then
    # shellcheck disable=SC2046  # one jobs=ID argument per failed job
    cli -X POST jobs/restart $(printf 'jobs=%s ' $failed) > /dev/null || exit 6
    wait_build
fi
jq -r '.jobs[] | "\(.test) \(.id) \(.result)"' "$listing" | sort >&2
[ -z "$(jq -r '.jobs[] | select(.result != "passed" and .result != "softfailed") | .id' "$listing")" ]
