<?php
// SPDX-License-Identifier: MIT
// A classic PHP master/worker pool: the master forks POOL_WORKERS workers
// with pcntl, replaces a worker that dies, reloads every worker on SIGHUP or
// SIGUSR1 (new code, same master) and stops them all on SIGTERM.

$size = max(1, (int) (getenv('POOL_WORKERS') ?: 3));
$workers = [];          // pid => slot
$stopping = false;
$reloading = false;

function say(string $line): void
{
    fwrite(STDOUT, $line . "\n");
}

function worker(int $slot): never
{
    pcntl_signal(SIGTERM, function () use ($slot) {
        say("worker $slot: bye");
        exit(0);
    });
    pcntl_signal(SIGHUP, SIG_DFL);
    pcntl_signal(SIGUSR1, SIG_DFL);
    say("worker $slot: ready (pid " . getmypid() . ")");
    for (;;) {
        // The real work: take a job from a queue, handle it.
        sleep(1);
    }
}

function spawn(int $slot): void
{
    global $workers;
    $pid = pcntl_fork();
    if ($pid < 0) {
        say("master: cannot fork worker $slot");
        return;
    }
    if ($pid === 0) {
        worker($slot);
    }
    $workers[$pid] = $slot;
    say("master: started worker $slot (pid $pid)");
}

function signal_workers(int $signo): void
{
    global $workers;
    foreach (array_keys($workers) as $pid) {
        posix_kill($pid, $signo);
    }
}

pcntl_async_signals(true);
pcntl_signal(SIGTERM, function () use (&$stopping) {
    $stopping = true;
});
$reload = function () use (&$reloading) {
    $reloading = true;
};
pcntl_signal(SIGHUP, $reload);
pcntl_signal(SIGUSR1, $reload);

say("master: pid " . getmypid() . ", $size workers");
for ($slot = 1; $slot <= $size; $slot++) {
    spawn($slot);
}

while (true) {
    if ($stopping) {
        say("master: stopping");
        signal_workers(SIGTERM);
        while (pcntl_wait($status) > 0) {
        }
        say("master: bye");
        exit(0);
    }
    if ($reloading) {
        $reloading = false;
        say("master: reloading workers");
        // Each worker ends its current work and is replaced by the loop below.
        signal_workers(SIGTERM);
    }
    $pid = pcntl_wait($status, WNOHANG);
    if ($pid > 0 && isset($workers[$pid])) {
        $slot = $workers[$pid];
        unset($workers[$pid]);
        if (!$stopping) {
            say("master: worker $slot (pid $pid) ended, replacing it");
            spawn($slot);
        }
        continue;
    }
    usleep(100000);
}
