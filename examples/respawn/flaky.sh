#!/bin/sh
# SPDX-License-Identifier: MIT
# A worker that dies soon after it starts: a lost database connection, a
# fatal error in a dependency, a bug that only shows under load.
echo "flaky: started (pid $$)"
sleep "${FLAKY_LIFETIME:-0.5}"
echo "flaky: lost the connection, giving up" >&2
exit 1
