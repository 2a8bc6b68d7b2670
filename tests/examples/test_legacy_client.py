# SPDX-License-Identifier: MIT
"""examples/legacy-client: the old server's PHP client class, unchanged,
against jobd's legacy port; the job it adds is a jobd job."""
import json
import os
import pwd

from examplecase import ExampleCase
from jobdharness import free_port, tcp_accepts
from jobdtest import main, pid_alive, wait_until


def answers(output):
    """demo.php prints 'WORD    {json}' lines."""
    out = {}
    for line in output.splitlines():
        word, _, text = line.partition(" ")
        out[word] = json.loads(text.strip())
    return out


class LegacyClient(ExampleCase):
    example = "legacy-client"

    def setUp(self):
        self.port = free_port()
        super().setUp()
        # The harness turns the legacy port off; this example needs it.
        self.jobd.stop()
        self.jobd.write_config("[Daemon]\nBackend=direct\n\n[Legacy]\nEnable=true\n"
                               "Listen=127.0.0.1:%d\n" % self.port)
        self.jobd.start()
        self.bus = self.jobd.connect()
        wait_until(lambda: tcp_accepts(self.port, 1), "the legacy port %d" % self.port)
        # Legacy jobs run as an unprivileged user: it must reach the worker.
        self.copy_example()

    def demo(self, command):
        return answers(self.sh(command, env_extra={
            "JOBD_LEGACY_ADDRESS": "127.0.0.1:%d" % self.port}).stdout)

    def test_old_client_drives_a_jobd_job(self):
        first = self.demo("php demo.php --keep")
        self.assertEqual(first["ADD"], {"code": "OK"})
        self.assertEqual(first["START"]["code"], "OK")
        self.assertIn("handled message 1", first["READ"]["data"])
        self.assertEqual(first["STATUS"], {"code": "OK", "data": "UP"})
        self.assertTrue(first["MEM"]["data"].isdigit(), first["MEM"])

        listed = self.sh("jobctl list").stdout
        row = [line.split() for line in listed.splitlines() if line.startswith("mailer ")]
        self.assertEqual(row[0][1], "up", listed)
        pid = int(row[0][2])
        self.jobd.note_pid(pid)
        with open("/proc/%d/status" % pid) as f:
            uid = int([line for line in f if line.startswith("Uid:")][0].split()[1])
        self.assertIn(pwd.getpwuid(uid).pw_name, ("jobd-legacy", "nobody"))
        self.assertIn("consuming queue mail", self.sh("jobctl logs mailer").stdout)

        self.sh("jobctl stop mailer")
        wait_until(lambda: not pid_alive(pid), "the worker to be stopped")

        again = self.demo("php demo.php")
        self.assertEqual(again["ADD"]["code"], "FAILED")
        self.assertEqual(again["STATUS"]["data"], "UP")
        self.assertEqual(again["STOP"], {"code": "OK"})
        self.bus.pump(lambda: self.bus.call("Status", "mailer") == "down", "mailer down",
                      poll=0.05)


if __name__ == "__main__":
    main()
