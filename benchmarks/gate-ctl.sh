#!/usr/bin/env bash
# The release gate of playbooks/schedule_and_gate.yml as a shell script with openqa-ctl, step for step:
# build new -> wait, restarting the failures once; the wait answers with the build as info shows it (the
# summary). The exit code is the wait's: 0 when every job is ok, 7 when one is not, 8 on timeout.
# Environment: BUILD GROUP DISTRI VERSION FLAVOR ARCH INTERVAL TIMEOUT, OPENQA_HOST and credentials as
# openqa-ctl reads them; OPENQA_CTL (default openqa-ctl).
set -uo pipefail
ctl=${OPENQA_CTL:-openqa-ctl}
build=(--id "$BUILD" --group "$GROUP" --distri "$DISTRI" --version "$VERSION" --arch "$ARCH"
       --filter "flavor=$FLAVOR")

"$ctl" build new --group "$GROUP" \
    --vars "DISTRI=$DISTRI" "VERSION=$VERSION" "FLAVOR=$FLAVOR" "ARCH=$ARCH" "BUILD=$BUILD" > /dev/null || exit
exec "$ctl" build wait "${build[@]}" --timeout "$TIMEOUT" --interval "$INTERVAL" --max-attempts 2 \
    --format table >&2
