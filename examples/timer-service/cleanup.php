<?php
// SPDX-License-Identifier: MIT
// A housekeeping task run every few seconds. CLEANUP_FAIL=N makes it fail
// with exit code N; CLEANUP_SECONDS makes it take that long (to meet its
// run-time limit).
$seconds = (int) (getenv('CLEANUP_SECONDS') ?: 0);
$fail = (int) (getenv('CLEANUP_FAIL') ?: 0);

echo "cleanup: started\n";
sleep($seconds);
if ($fail !== 0) {
    fwrite(STDERR, "cleanup: the cache folder is not writable\n");
    exit($fail);
}
echo "cleanup: removed 3 stale files\n";
exit(0);
