<?php
// SPDX-License-Identifier: MIT
require __DIR__ . '/../src/greeting.php';

header('Content-Type: text/plain');
echo greeting() . "\n";
