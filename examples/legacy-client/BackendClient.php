<?php
// SPDX-License-Identifier: MIT
// The client side of the old PHP backend process server's TCP protocol, as
// web apps used it: one request per connection, a 4-byte little-endian
// length, then "COMMAND {json}"; the answer is framed the same way and is
// {"code": "OK"|"FAILED"|"DENIED"|"UNKNOWN", "data": ...}. jobd answers it
// unchanged (see shared/legacy-protocol.md in the jobd sources).

class BackendClient
{
    private string $host;
    private int $port;
    private ?array $auth;

    public function __construct(string $host = '127.0.0.1', int $port = 13123,
                                ?string $username = null, ?string $password = null)
    {
        $this->host = $host;
        $this->port = $port;
        $this->auth = $username === null ? null
            : ['username' => $username, 'password' => $password];
    }

    public function add(string $jobname, string $command, array $setting = []): array
    {
        return $this->call('ADD', ['jobname' => $jobname, 'command' => $command] + $setting);
    }

    public function start(string $jobname): array   { return $this->call('START', ['jobname' => $jobname]); }
    public function stop(string $jobname): array    { return $this->call('STOP', ['jobname' => $jobname]); }
    public function restart(string $jobname): array { return $this->call('RESTART', ['jobname' => $jobname]); }
    public function status(string $jobname): array  { return $this->call('STATUS', ['jobname' => $jobname]); }
    public function read(string $jobname): array    { return $this->call('READ', ['jobname' => $jobname]); }
    public function mem(string $jobname): array     { return $this->call('MEM', ['jobname' => $jobname]); }
    public function delete(string $jobname): array { return $this->call('DELETE', ['jobname' => $jobname]); }
    public function getAll(): array                 { return $this->call('GETALL'); }

    /** One request, one answer: ['code' => ..., 'data' => ...]. */
    public function call(string $command, ?array $params = null): array
    {
        if ($this->auth !== null) {
            $params = ($params ?? []) + ['auth' => $this->auth];
        }
        $payload = $params === null ? $command
            : $command . ' ' . json_encode($params, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE);
        $socket = @stream_socket_client("tcp://{$this->host}:{$this->port}", $errno, $errstr, 5);
        if ($socket === false) {
            throw new RuntimeException("cannot reach {$this->host}:{$this->port}: $errstr");
        }
        stream_set_timeout($socket, 10);
        fwrite($socket, pack('V', strlen($payload)) . $payload);
        $header = $this->readExactly($socket, 4);
        $length = unpack('V', $header)[1];
        $answer = json_decode($this->readExactly($socket, $length), true);
        fclose($socket);
        if (!is_array($answer) || !isset($answer['code'])) {
            throw new RuntimeException("$command: not an answer of the protocol");
        }
        return $answer;
    }

    private function readExactly($socket, int $length): string
    {
        $data = '';
        while (strlen($data) < $length) {
            $chunk = fread($socket, $length - strlen($data));
            if ($chunk === false || $chunk === '') {
                throw new RuntimeException('the server closed the connection');
            }
            $data .= $chunk;
        }
        return $data;
    }
}
