<?php
// SPDX-License-Identifier: MIT
// A queue consumer as the old server ran them: `php worker.php <params>`.
$queue = $argv[1] ?? 'default';
echo "worker: consuming queue $queue\n";
for ($n = 1; ; $n++) {
    echo "worker: handled message $n\n";
    sleep(1);
}
