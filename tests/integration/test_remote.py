# SPDX-License-Identifier: MIT
"""jobctl -H: jobd on another host, over ssh and systemd-stdio-bridge.

The other host is made on this machine: a network namespace joined to ours
by a veth pair with private addresses (10.213.x.y/29), running an sshd of
its own that listens only on the namespace's address, with a throwaway
host key and a throwaway client key (root may log in with that key only).
The "remote" jobd runs with its own directories; the namespace shares the
filesystem (but for root's home: sshd has an empty one), so the bridge that sshd starts reaches it at its socket path,
given to jobctl with --address or $JOBD_REMOTE_ADDRESS. A local jobd (the
harness's) runs too, with other jobs, so a jobctl that ignored -H would be
seen listing the wrong ones. jobctl finds the test's ssh options through
$JOBD_SSH ("ssh -F CONFIG").

Everything started here (sshd, both jobds, the namespace, the veth pair)
is stopped or removed by PID or by its generated name in cleanup, also when
the run is interrupted (the harness's list of live objects).
"""
import ipaddress
import os
import shutil
import socket
import subprocess
import tempfile
import unittest

from gi.repository import GLib

import jobdharness
import jobdtest
from jobdtest import (DEADLINE, Jobd, JobdTestCase, children_of, kill_pids, main,
                      pid_alive, run_jobctl, stop_pid, wait_until)

SSHD = "/usr/sbin/sshd"
SSH_KEYGEN = "/usr/bin/ssh-keygen"
BRIDGE = "/usr/bin/systemd-stdio-bridge"
SSH_PORT = 22
# sshd's second port, where the remote shell finds no systemd-stdio-bridge.
NO_BRIDGE_PORT = 2222
# And a third, where the command reads and never answers (it notes its PID).
SILENT_PORT = 2223
PREFIX = ipaddress.ip_network("10.213.0.0/16")
TICKER = "while :; do echo tick; sleep 0.1; done"


def run(*argv, **kw):
    return subprocess.run(argv, check=True, capture_output=True, text=True,
                          timeout=DEADLINE, **kw)


def used_addresses():
    out = run("ip", "-o", "-4", "addr", "show").stdout
    return {ipaddress.ip_interface(word).network
            for line in out.splitlines() for word in line.split()
            if word.startswith("10.213.")}


def free_subnet():
    """A /29 of 10.213.0.0/16 that no interface here uses, picked from our
    PID so that parallel runs start at different places."""
    subnets = list(PREFIX.subnets(new_prefix=29))
    used = used_addresses()
    start = os.getpid() % len(subnets)
    for i in range(len(subnets)):
        net = subnets[(start + i) % len(subnets)]
        if not any(net.overlaps(u) for u in used):
            return net
    raise AssertionError("no free /29 in %s" % PREFIX)


class RemoteHost:
    """A network namespace with sshd: the host jobctl -H reaches."""

    def __init__(self, suffix=""):
        """suffix (a letter or two) tells several hosts of one test apart."""
        self.root = tempfile.mkdtemp(prefix="jobd-remote-", dir="/tmp")
        os.chmod(self.root, 0o755)
        tag = "%d%s" % (os.getpid(), suffix)
        self.netns = "jobd-rt-" + tag
        self.veth_here = "jrt%sh" % tag
        self.veth_there = "jrt%sn" % tag
        net = free_subnet()
        hosts = list(net.hosts())
        self.address_here = str(hosts[0])
        self.address = str(hosts[1])
        # In the subnet, on the link, answered by nobody.
        self.unreachable = str(hosts[2])
        self.prefixlen = net.prefixlen
        self.sshd = None
        self.bus = None
        self.made_netns = False
        self.made_veth = False
        jobdtest._live.add(self)

    def path(self, name):
        return os.path.join(self.root, name)

    # -- the network --

    def make_network(self):
        run("ip", "netns", "add", self.netns)
        self.made_netns = True
        run("ip", "link", "add", self.veth_here, "type", "veth", "peer", "name",
            self.veth_there, "netns", self.netns)
        self.made_veth = True
        run("ip", "addr", "add", "%s/%d" % (self.address_here, self.prefixlen),
            "dev", self.veth_here)
        run("ip", "link", "set", self.veth_here, "up")
        inside = ("ip", "netns", "exec", self.netns)
        run(*inside, "ip", "addr", "add", "%s/%d" % (self.address, self.prefixlen),
            "dev", self.veth_there)
        run(*inside, "ip", "link", "set", self.veth_there, "up")
        run(*inside, "ip", "link", "set", "lo", "up")

    # -- keys and configuration --

    def make_keys(self):
        for name in ("host_key", "client_key", "other_key"):
            run(SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", self.path(name))
        with open(self.path("client_key.pub")) as f:
            client = f.read()
        with open(self.path("authorized_keys"), "w") as f:
            f.write(client)
        with open(self.path("host_key.pub")) as f:
            kind, key = f.read().split()[:2]
        with open(self.path("known_hosts"), "w") as f:
            for port in (SSH_PORT, NO_BRIDGE_PORT, SILENT_PORT):
                name = self.address if port == SSH_PORT else "[%s]:%d" % (self.address, port)
                f.write("%s %s %s\n" % (name, kind, key))
        # A PATH where the remote shell finds env but no systemd-stdio-bridge.
        os.mkdir(self.path("nobridge"))
        os.symlink("/usr/bin/env", self.path("nobridge/env"))

    def write_sshd_config(self):
        with open(self.path("sshd_config"), "w") as f:
            f.write("\n".join([
                "ListenAddress %s:%d" % (self.address, SSH_PORT),
                "ListenAddress %s:%d" % (self.address, NO_BRIDGE_PORT),
                "ListenAddress %s:%d" % (self.address, SILENT_PORT),
                "HostKey " + self.path("host_key"),
                "AuthorizedKeysFile " + self.path("authorized_keys"),
                "PidFile none",
                "StrictModes no",
                "UsePAM no",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "PermitRootLogin prohibit-password",
                "AllowUsers root",
                "PrintMotd no",
                "Banner none",
                "LogLevel VERBOSE",
                "Match LocalPort %d" % NO_BRIDGE_PORT,
                '    ForceCommand /usr/bin/env PATH=%s /bin/sh -c "$SSH_ORIGINAL_COMMAND"'
                % self.path("nobridge"),
                "Match LocalPort %d" % SILENT_PORT,
                "    ForceCommand echo $$ >> %s; exec cat > /dev/null" % self.path("silent.pids"),
                ""]))

    def write_ssh_config(self, name, key):
        path = self.path(name)
        with open(path, "w") as f:
            f.write("\n".join([
                "Host *",
                "  User root",
                "  IdentityFile " + self.path(key),
                "  IdentitiesOnly yes",
                "  IdentityAgent none",
                "  UserKnownHostsFile " + self.path("known_hosts"),
                "  GlobalKnownHostsFile /dev/null",
                "  StrictHostKeyChecking yes",
                "  BatchMode yes",
                "  ConnectTimeout 5",
                "  ControlMaster no",
                # An ssh whose connection silently vanished ends in seconds.
                "  ServerAliveInterval 2",
                "  ServerAliveCountMax 3",
                "  LogLevel ERROR",
                ""]))
        return path

    # -- sshd --

    def start(self):
        if not os.path.exists(SSHD):
            raise AssertionError("%s is missing: .ci/deps installs openssh-server" % SSHD)
        if not os.path.exists(BRIDGE):
            raise AssertionError("%s is missing (Debian's systemd package)" % BRIDGE)
        # sshd's privilege separation directory (the package's tmpfiles.d
        # makes it at boot).
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        self.make_network()
        self.make_keys()
        self.write_sshd_config()
        self.ssh_config = self.write_ssh_config("ssh_config", "client_key")
        self.ssh_config_other = self.write_ssh_config("ssh_config_other", "other_key")
        self.sshd_log = open(self.path("sshd.log"), "w")
        # The other host's root has a home of its own (an empty one, not
        # this machine's, whose shell startup files may take seconds): a
        # mount namespace of sshd's, gone with it. Each exec keeps the PID.
        os.mkdir(self.path("home"), 0o700)
        self.sshd = subprocess.Popen(
            ["ip", "netns", "exec", self.netns,
             "unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
             'mount --bind "$1" /root && exec "$2" -D -e -f "$3"', "sh",
             self.path("home"), SSHD, self.path("sshd_config")],
            stdin=subprocess.DEVNULL, stdout=self.sshd_log, stderr=self.sshd_log)
        wait_until(self._listening, "sshd to listen on %s" % self.address)
        return self

    def _listening(self):
        if self.sshd.poll() is not None:
            raise AssertionError("sshd exited with %s:\n%s" % (self.sshd.returncode, self.log()))
        try:
            with socket.create_connection((self.address, SSH_PORT), timeout=1):
                return True
        except OSError:
            return False

    def log(self):
        try:
            with open(self.path("sshd.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def start_bus(self):
        """A message bus on the host (as its system bus would be): a
        dbus-daemon of the test's, stopped by PID in cleanup."""
        socket_path = self.path("system_bus_socket")
        with open(self.path("bus.conf"), "w") as f:
            f.write("""<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
""" % socket_path)
        self.bus_log = open(self.path("bus.log"), "w")
        self.bus = subprocess.Popen(["dbus-daemon", "--config-file", self.path("bus.conf"),
                                     "--nofork", "--nopidfile"],
                                    stdin=subprocess.DEVNULL, stdout=self.bus_log,
                                    stderr=self.bus_log)
        wait_until(lambda: os.path.exists(socket_path), "the bus to listen")
        return "unix:path=" + socket_path

    def sessions(self):
        """sshd's children: one per ssh connection still open."""
        return children_of(self.sshd.pid)

    def silent_pids(self):
        try:
            with open(self.path("silent.pids")) as f:
                return [int(line) for line in f if line.strip()]
        except OSError:
            return []

    def cleanup(self):
        try:
            # The silent commands, should one have outlived its connection.
            for pid in self.silent_pids():
                try:
                    with open("/proc/%d/cmdline" % pid) as f:
                        if f.read().startswith("cat\0"):
                            kill_pids([pid])
                except OSError:
                    pass
            if self.bus is not None:
                stop_pid(self.bus, DEADLINE)
                self.bus = None
                self.bus_log.close()
            if self.sshd is not None:
                # Its sessions first, while the link is there: their ssh
                # clients (under a jobctl cut short) see the connection end.
                kill_pids(self.sessions())
                stop_pid(self.sshd, DEADLINE)
                self.sshd = None
                self.sshd_log.close()
        finally:
            if self.made_veth:
                subprocess.run(["ip", "link", "del", self.veth_here], capture_output=True,
                               timeout=DEADLINE)
                self.made_veth = False
            if self.made_netns:
                subprocess.run(["ip", "netns", "del", self.netns], capture_output=True,
                               timeout=DEADLINE)
                self.made_netns = False
            jobdtest._live.discard(self)
            shutil.rmtree(self.root, ignore_errors=True)


class BusJobd(Jobd):
    """A jobd that also serves on a message bus (--system, on our bus)."""

    def __init__(self, bus_address):
        super().__init__()
        self.bus_address = bus_address

    def spawn(self, out, *extra):
        env = jobdharness.jobd_env()
        env["DBUS_SYSTEM_BUS_ADDRESS"] = self.bus_address
        self.proc = subprocess.Popen([self.exe] + self.options(*extra, "--system"),
                                     stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=env)
        return self.proc


class Remote(JobdTestCase):
    """A local jobd (self.jobd, self.bus) and a remote one behind ssh."""

    def setUp(self):
        super().setUp()
        self.host = RemoteHost()
        self.addCleanup(self.host.cleanup)
        self.host.start()
        self.remote = Jobd()
        self.addCleanup(self.remote.cleanup)
        self.remote.start()
        self.remote_bus = self.remote.connect()
        # One job on each side, so each list is recognisable.
        self.bus.add("local-only", "/bin/true")
        self.remote_bus.add("remote-only", "/bin/true")

    def tearDown(self):
        try:
            for row in self.remote_bus.list_rows():
                self.remote.note_pid(row[2])
        except GLib.Error:
            pass
        finally:
            self.remote.stop()
            super().tearDown()

    def jobctl(self, *args, host=None, env=None, ssh_config=None):
        """jobctl with the local jobd in $JOBD_ADDRESS and the test's ssh."""
        extra = {"JOBD_SSH": "ssh -F " + (ssh_config or self.host.ssh_config)}
        extra.update(env or {})
        argv = list(args)
        if host is not None:
            argv = ["-H", host, "--address", self.remote.address] + argv
        return run_jobctl(argv, address=self.jobd.address, env_extra=extra)

    def assertOk(self, proc):
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr + self.host.log())

    def assertFails(self, proc, text):
        self.assertNotEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        last = proc.stderr.strip().split("\n")[-1]
        self.assertTrue(last.startswith("jobctl: "), proc.stderr)
        self.assertIn(text, last)
        return proc.stderr

    def names(self, proc):
        return [line.split()[0] for line in proc.stdout.splitlines() if line.strip()]

    # -- the verbs, remotely --

    def test_list_shows_the_remote_jobs(self):
        proc = self.jobctl("list", "--no-legend", host="root@" + self.host.address)
        self.assertOk(proc)
        self.assertEqual(self.names(proc), ["remote-only"])
        # And without -H, the same jobctl sees the local jobd.
        local = self.jobctl("list", "--no-legend")
        self.assertOk(local)
        self.assertEqual(self.names(local), ["local-only"])
        # The ssh session ends with jobctl: nothing stays behind on the host.
        wait_until(lambda: not self.host.sessions(), "the ssh session to end")

    def test_add_start_status_stop_remotely(self):
        host = self.host.address
        self.assertOk(self.jobctl("add", "ticker", "--", "/bin/sh", "-c", TICKER, host=host))
        mark = self.remote_bus.mark()
        self.assertOk(self.jobctl("start", "ticker", host=host))
        details = self.remote_bus.wait_state("ticker", "up", since=mark)
        self.remote.note_pid(details["main-pid"])
        status = self.jobctl("status", "ticker", host=host)
        self.assertOk(status)
        self.assertIn("up", status.stdout)
        self.assertIn("tick", self.jobctl("read", "ticker", host=host).stdout)
        mark = self.remote_bus.mark()
        self.assertOk(self.jobctl("stop", "ticker", host=host))
        self.remote_bus.wait_state("ticker", "down", since=mark)
        self.assertEqual(self.jobctl("status", "ticker", host=host).returncode, 3)
        # It all happened there, not here.
        self.assertEqual([row[0] for row in self.bus.list_rows()], ["local-only"])
        # jobd's errors keep their exit codes across ssh.
        self.assertEqual(self.jobctl("status", "nope", host=host).returncode, 4)

    def test_jobd_host_and_remote_address_from_the_environment(self):
        env = {"JOBD_HOST": "root@%s:%d" % (self.host.address, SSH_PORT),
               "JOBD_REMOTE_ADDRESS": self.remote.address}
        proc = self.jobctl("list", "--no-legend", env=env)
        self.assertOk(proc)
        self.assertEqual(self.names(proc), ["remote-only"])
        self.assertOk(self.jobctl("add", "env-added", "--", "/bin/true", env=env))
        self.assertIn("env-added", [row[0] for row in self.remote_bus.list_rows()])
        # An empty -H means this host, whatever $JOBD_HOST says.
        proc = self.jobctl("-H", "", "list", "--no-legend", env=env)
        self.assertOk(proc)
        self.assertEqual(self.names(proc), ["local-only"])

    def test_host_option_after_the_verb(self):
        proc = run_jobctl(["list", "--no-legend", "--host=" + self.host.address,
                           "--address=" + self.remote.address],
                          address=self.jobd.address,
                          env_extra={"JOBD_SSH": "ssh -F " + self.host.ssh_config})
        self.assertOk(proc)
        self.assertEqual(self.names(proc), ["remote-only"])

    def test_bus_on_the_host(self):
        """--bus: the bridge connects to a message bus there and jobctl asks
        the bus for org.jobd1's owner."""
        bus_address = self.host.start_bus()
        argv = ["-H", self.host.address, "--bus", "--address", bus_address,
                "list", "--no-legend"]
        proc = self.jobctl(*argv)
        self.assertFails(proc, "jobd is not on the bus on " + self.host.address)
        on_bus = BusJobd(bus_address)
        self.addCleanup(on_bus.cleanup)
        on_bus.start()
        client = on_bus.connect()
        client.add("on-the-bus", "/bin/true")
        proc = self.jobctl(*argv)
        self.assertOk(proc)
        self.assertEqual(self.names(proc), ["on-the-bus"])
        on_bus.stop()

    def test_ssh_command_line(self):
        """What jobctl asks ssh to run, as systemctl -H does: -xT, the
        port, `--` before the destination, the bridge with the address
        quoted for the remote shell; $JOBD_SSH's own words first."""
        argv_file = self.host.path("argv")
        fake = self.host.path("fake-ssh")
        with open(fake, "w") as f:
            f.write('#!/bin/sh\nprintf "%%s\\n" "$@" > %s\nexit 255\n' % argv_file)
        os.chmod(fake, 0o755)

        def argv_for(*args):
            proc = run_jobctl(list(args) + ["list"], address=self.jobd.address,
                              env_extra={"JOBD_SSH": fake + " -o 'User=some one'"})
            self.assertFails(proc, "ssh could not connect or log in")
            with open(argv_file) as f:
                return f.read().split("\n")[:-1]

        bridge = ["env", "SYSTEMD_LOG_TARGET=console", "systemd-stdio-bridge"]
        self.assertEqual(argv_for("-H", "me@[fe80::1]:2200", "--address=unix:path=/tmp/a*b"),
                         ["-o", "User=some one", "-xT", "-o", "ConnectTimeout=15",
                          "-p", "2200", "--", "me@fe80::1"] + bridge
                         + ["'--bus-path=unix:path=/tmp/a*b'"])
        self.assertEqual(argv_for("-H", "::1"),
                         ["-o", "User=some one", "-xT", "-o", "ConnectTimeout=15",
                          "--", "::1"] + bridge + ["'--bus-path=unix:path=/run/jobd/bus'"])
        # --bus without an address: the bridge's default, the system bus.
        self.assertEqual(argv_for("-H", "host", "--bus")[-4:], ["host"] + bridge)

    def test_follow_says_it_needs_a_local_jobd(self):
        proc = self.jobctl("logs", "-f", "remote-only", host=self.host.address)
        self.assertFails(proc, "`jobctl logs -f` needs jobd on this host")
        self.assertEqual(proc.returncode, 1)

    # -- what fails, and how it says so --

    def test_unreachable_host(self):
        proc = self.jobctl("list", host=self.host.unreachable)
        self.assertFails(proc, "ssh could not connect or log in to " + self.host.unreachable)
        self.assertEqual(proc.returncode, 1)

    def test_authentication_refused(self):
        proc = self.jobctl("list", host=self.host.address,
                           ssh_config=self.host.ssh_config_other)
        stderr = self.assertFails(proc, "ssh could not connect or log in")
        self.assertIn("Permission denied", stderr)
        self.assertEqual(proc.returncode, 1)

    def test_bridge_missing_on_the_host(self):
        proc = self.jobctl("list", host="%s:%d" % (self.host.address, NO_BRIDGE_PORT))
        self.assertFails(proc, "systemd-stdio-bridge is missing on")
        self.assertEqual(proc.returncode, 1)

    def test_jobd_not_running_on_the_host(self):
        self.remote.stop()
        proc = self.jobctl("list", host=self.host.address)
        self.assertFails(proc, "jobd does not answer on %s at %s"
                         % (self.host.address, self.remote.address))
        self.assertEqual(proc.returncode, 1)
        self.remote.start()
        self.remote_bus = self.remote.connect()

    def test_host_that_never_answers(self):
        """ssh logs in but nothing speaks D-Bus: jobctl gives up at
        $JOBD_REMOTE_TIMEOUT, ends ssh, and the command there ends too."""
        proc = self.jobctl("list", host="%s:%d" % (self.host.address, SILENT_PORT),
                           env={"JOBD_REMOTE_TIMEOUT": "2"})
        self.assertFails(proc, "no answer from jobd on %s:%d within 2 s"
                         % (self.host.address, SILENT_PORT))
        self.assertEqual(proc.returncode, 1)
        pids = self.host.silent_pids()
        self.assertEqual(len(pids), 1)
        wait_until(lambda: not pid_alive(pids[0]), "the silent command to end")
        proc = self.jobctl("list", host=self.host.address, env={"JOBD_REMOTE_TIMEOUT": "0"})
        self.assertFails(proc, "invalid $JOBD_REMOTE_TIMEOUT")
        self.assertEqual(proc.returncode, 2)

    def test_text_before_the_bridge(self):
        """A greeting on ssh's output before the bridge's (a shell startup
        file that prints): jobctl says so instead of a SASL complaint."""
        wrapper = self.host.path("greeting-ssh")
        with open(wrapper, "w") as f:
            f.write('#!/bin/sh\necho "Welcome to the other host"\nexec ssh "$@"\n')
        os.chmod(wrapper, 0o755)
        proc = self.jobctl("list", host=self.host.address,
                           env={"JOBD_SSH": "%s -F %s" % (wrapper, self.host.ssh_config)})
        stderr = self.assertFails(proc, "%s did not speak D-Bus over ssh" % self.host.address)
        self.assertIn("Welcome to the other host", stderr)
        self.assertEqual(proc.returncode, 1)

    def test_invalid_host_is_a_usage_error(self):
        for host in ("-oProxyCommand=x", "a@b@c", "host:0", "host:99999", "[::1", "@host"):
            proc = self.jobctl("list", host=host)
            self.assertFails(proc, "invalid host")
            self.assertEqual(proc.returncode, 2, host)


class Help(unittest.TestCase):

    def test_help_documents_remote_control(self):
        out = subprocess.run([jobdtest.JOBCTL, "--help"], capture_output=True, text=True,
                             timeout=DEADLINE, env=dict(os.environ, LC_ALL="C")).stdout
        self.assertIn("-H, --host=[USER@]HOST[:PORT]", out)
        for word in ("Remote control", "systemd-stdio-bridge", "$JOBD_HOST",
                     "$JOBD_REMOTE_ADDRESS", "$JOBD_SSH", "$JOBD_REMOTE_TIMEOUT"):
            self.assertIn(word, out)


if __name__ == "__main__":
    main()
