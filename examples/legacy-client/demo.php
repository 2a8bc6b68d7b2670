<?php
// SPDX-License-Identifier: MIT
// What a web app did with the old server, unchanged against jobd: add a job,
// start it, read its output, ask its status and memory, stop it.
require __DIR__ . '/BackendClient.php';

[$host, $port] = explode(':', getenv('JOBD_LEGACY_ADDRESS') ?: '127.0.0.1:13123');
$client = new BackendClient($host, (int) $port);

function show(string $what, array $answer): void
{
    echo str_pad($what, 8) . json_encode($answer, JSON_UNESCAPED_SLASHES) . "\n";
}

show('ADD', $client->add('mailer', __DIR__ . '/worker.php',
                         ['params' => 'mail', 'buffersize' => 10, 'guard' => true]));
show('START', $client->start('mailer'));
// Wait (bounded) for the first message to show in its output.
for ($i = 0; $i < 100; $i++) {
    $read = $client->read('mailer');
    if (str_contains($read['data'] ?? '', 'handled message 1')) {
        break;
    }
    usleep(100000);
}
show('READ', $read);
show('STATUS', $client->status('mailer'));
show('MEM', $client->mem('mailer'));
if (in_array('--keep', $argv, true)) {
    exit(0);
}
show('STOP', $client->stop('mailer'));
