<?php
// SPDX-License-Identifier: MIT
// One single-process queue consumer; jobd runs Instances= copies of it and
// tells each which one it is.
$instance = getenv('JOBD_INSTANCE') ?: '1';
pcntl_async_signals(true);
pcntl_signal(SIGTERM, function () use ($instance) {
    echo "worker $instance: bye\n";
    exit(0);
});
echo "worker $instance: ready (pid " . getmypid() . ")\n";
for (;;) {
    sleep(1);   // take a message from the queue, handle it
}
