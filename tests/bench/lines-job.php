<?php
// SPDX-License-Identifier: MIT
// lines-job.php SECONDS MAX_LINES REPORT_FILE — the flood as real jobs write
// it: one write() per line (PHP's CLI echo is unbuffered), the numbers
// 1, 2, … (what `flood --check` reads), for SECONDS or MAX_LINES lines;
// then "lines=K" into REPORT_FILE.
$seconds = (float) $argv[1];
$max = (int) $argv[2];
$end = hrtime(true) + (int) ($seconds * 1e9);
$i = 0;
while ($i < $max) {
    for ($k = 0; $k < 1000 && $i < $max; $k++) {
        $i++;
        echo "$i\n";
    }
    if (hrtime(true) >= $end) {
        break;
    }
}
file_put_contents($argv[3] . ".tmp", "lines=$i\n");
rename($argv[3] . ".tmp", $argv[3]);
