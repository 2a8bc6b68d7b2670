# SPDX-License-Identifier: MIT
"""The Ansible collection (contrib/ansible, jobd.jobd) against real hosts.

Two managed hosts are made on this machine as test_remote makes one
(RemoteHost: a network namespace joined by a veth pair, private addresses,
an sshd of its own with a throwaway host key and client key, known_hosts
written by the test). Each host has its own jobd (own directories and
private socket; the namespace shares the filesystem, so the host's jobctl
reaches it through $JOBD_ADDRESS, which the play's environment sets).
ansible-playbook drives both over SSH (no connection sharing: no ssh
master outlives a run) with the example playbook
contrib/ansible/examples/fleet.yml, and what the modules say is checked
against jobd itself (jobctl on each host's socket: states, PIDs, history).

Everything started here (sshd, jobds and their jobs, namespaces, veth
pairs, ansible-playbook's process group) is stopped or removed by PID or by
its generated name whatever happens (addCleanup, the harness's live list).
"""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import unittest

import jobdtest
from jobdtest import Jobd, JobdTestCase, main, run_jobctl, wait_until
from test_remote import RemoteHost

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(os.path.dirname(HERE))
COLLECTIONS = os.path.join(SOURCE_ROOT, "contrib", "ansible")
COLLECTION = os.path.join(COLLECTIONS, "ansible_collections", "jobd", "jobd")
EXAMPLES = os.path.join(COLLECTIONS, "examples")
FLEET = os.path.join(EXAMPLES, "fleet.yml")
ANSIBLE_PLAYBOOK = "/usr/bin/ansible-playbook"
ANSIBLE_DOC = "/usr/bin/ansible-doc"
# One ansible-playbook run against both hosts; generous for a loaded machine.
PLAYBOOK_DEADLINE = 240
EXAMPLE_JOBS = sorted(n[:-len(".job")] for n in os.listdir(os.path.join(EXAMPLES, "jobs"))
                      if n.endswith(".job"))


def require_ansible():
    for exe in (ANSIBLE_PLAYBOOK, ANSIBLE_DOC):
        if not os.path.exists(exe):
            raise AssertionError("%s is missing: .ci/deps installs ansible-core" % exe)


def ansible_env(home, extra=None):
    env = dict(os.environ)
    env.pop("JOBD_ADDRESS", None)
    env.update({
        "HOME": home,
        "ANSIBLE_HOME": os.path.join(home, ".ansible"),
        "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS,
        "ANSIBLE_STDOUT_CALLBACK": "jobd_test_json",
        "ANSIBLE_CALLBACK_PLUGINS": os.path.join(HERE, "ansible_callback"),
        "ANSIBLE_PIPELINING": "1",
        # No ControlMaster/ControlPersist: no ssh outlives a run.
        "ANSIBLE_SSH_ARGS": "-o ControlMaster=no -o ControlPath=none",
        "ANSIBLE_HOST_KEY_CHECKING": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_LOCAL_TEMP": os.path.join(home, "tmp"),
        "LC_ALL": "C.UTF-8",
    })
    env.update(extra or {})
    return env


def run_group(argv, env, cwd, timeout):
    """Run argv in a process group of its own; on timeout, kill that group
    by its PGID (ansible-playbook's PID) and fail."""
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, err = proc.communicate()
        raise AssertionError("%s did not finish within %ss:\n%s\n%s"
                             % (argv[0], timeout, out[-4000:], err[-4000:]))
    return proc.returncode, out, err


class Run:
    """One ansible-playbook run, read from the json callback."""

    def __init__(self, rc, out, err):
        self.rc, self.out, self.err = rc, out, err
        start = out.find("{")
        try:
            self.data = json.loads(out[start:])
        except ValueError:
            raise AssertionError("ansible-playbook printed no JSON (rc %d):\n%s\n%s"
                                 % (rc, out[-4000:], err[-4000:]))
        self.stats = self.data["stats"]

    def task(self, name, host):
        for play in self.data["plays"]:
            for task in play["tasks"]:
                if task["task"]["name"] == name and host in task["hosts"]:
                    return task["hosts"][host]
        raise AssertionError("no result of task %r on %s:\n%s" % (name, host, self.describe()))

    def describe(self):
        return "rc %d, stats %s\nstderr:\n%s\nstdout:\n%s" % (
            self.rc, json.dumps(self.stats), self.err[-3000:], self.out[-6000:])


class Hosts(unittest.TestCase):
    """Two managed hosts (web1, web2), each a network namespace with sshd
    and its own jobd."""

    HOSTS = ("web1", "web2")

    def setUp(self):
        require_ansible()
        self.work = tempfile.mkdtemp(prefix="jobd-ansible-", dir="/tmp")
        self.addCleanup(shutil.rmtree, self.work, True)
        os.makedirs(os.path.join(self.work, "home", "tmp"))
        self.hosts = {}
        self.jobds = {}
        for i, name in enumerate(self.HOSTS):
            # One after the other: each picks a subnet the ones before left free.
            host = RemoteHost(suffix="abcdefgh"[i])
            self.addCleanup(host.cleanup)
            host.start()
            jobd = Jobd()
            self.addCleanup(jobd.cleanup)
            jobd.start()
            self.hosts[name] = host
            self.jobds[name] = jobd
        self.dest = {name: os.path.join(self.work, name, "jobs.d") for name in self.HOSTS}
        self.inventory = self.write_inventory()

    def tearDown(self):
        for jobd in self.jobds.values():
            if jobd.proc is not None:
                for row in self.list(jobd):
                    jobd.note_pid(row["pid"])
                jobd.stop()

    def write_inventory(self):
        path = os.path.join(self.work, "inventory.json")
        hostvars = {}
        for name in self.HOSTS:
            host = self.hosts[name]
            hostvars[name] = {
                "ansible_host": host.address,
                "ansible_user": "root",
                "ansible_python_interpreter": "/usr/bin/python3",
                "ansible_remote_tmp": os.path.join(self.work, name, "tmp"),
                "ansible_ssh_common_args": "-F " + host.ssh_config,
                "jobd_jobs_dest": self.dest[name],
                "jobd_environment": {
                    "JOBD_ADDRESS": self.jobds[name].address,
                    "PATH": os.path.dirname(jobdtest.JOBCTL) + ":/usr/sbin:/usr/bin:/sbin:/bin",
                },
            }
        with open(path, "w") as f:
            json.dump({"all": {"children": {"workers": {"hosts": hostvars}}}}, f)
        # A .yml would be read by the yaml plugin: JSON is YAML.
        os.rename(path, path[:-len(".json")] + ".yml")
        return path[:-len(".json")] + ".yml"

    def playbook(self, playbook, *args, expect_rc=0):
        rc, out, err = run_group(
            [ANSIBLE_PLAYBOOK, "-i", self.inventory, playbook] + list(args),
            ansible_env(os.path.join(self.work, "home")), self.work, PLAYBOOK_DEADLINE)
        run = Run(rc, out, err)
        if expect_rc is not None:
            self.assertEqual(rc, expect_rc, run.describe() + self.host_logs())
        return run

    def host_logs(self):
        return "".join("\n-- sshd of %s:\n%s" % (n, h.log()[-2000:]) for n, h in self.hosts.items())

    def fleet(self, *args, src=None, expect_rc=0):
        extra = ["-e", "jobd_jobs_src=" + src] if src else []
        return self.playbook(FLEET, *(extra + list(args)), expect_rc=expect_rc)

    # -- what jobd says, on each host, not through Ansible --

    def list(self, jobd):
        proc = run_jobctl(["--json", "list"], address=jobd.address)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        rows = json.loads(proc.stdout)
        for row in rows:
            jobd.note_pid(row["pid"])
        return rows

    def states(self, name):
        return {row["name"]: row["state"] for row in self.list(self.jobds[name])}

    def pids(self, name):
        return {row["name"]: row["pid"] for row in self.list(self.jobds[name])}

    def show(self, name, job):
        proc = run_jobctl(["--json", "show", job], address=self.jobds[name].address)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return json.loads(proc.stdout)

    def wait_all_up(self, name, jobs):
        wait_until(lambda: all(self.states(name).get(j) == "up" for j in jobs),
                   "the jobs on %s to be up: %s" % (name, self.states(name)))

    def changed_copy(self):
        """The example jobs with one setting changed: mailer's environment
        (a setting that restarts a running job)."""
        src = os.path.join(self.work, "src-changed")
        shutil.copytree(os.path.join(EXAMPLES, "jobs"), src)
        path = os.path.join(src, "mailer.job")
        with open(path) as f:
            text = f.read()
        self.assertIn("Environment=QUEUE=mail\n", text)
        with open(path, "w") as f:
            f.write(text.replace("Environment=QUEUE=mail\n", "Environment=QUEUE=post\n"))
        return src

    def deploy(self):
        run = self.fleet()
        for name in self.HOSTS:
            self.assertEqual(run.stats[name]["failures"], 0, run.describe())
            self.assertEqual(run.stats[name]["unreachable"], 0, run.describe())
            self.assertEqual(run.stats[name]["changed"], 1, run.describe())
            self.wait_all_up(name, EXAMPLE_JOBS)
        return run



class Fleet(Hosts):
    """The example playbook on both hosts."""

    def test_deploy_then_nothing_changes(self):
        run = self.deploy()
        for name in self.HOSTS:
            # Five jobs, all running, on each host; jobd_info says what jobctl list says.
            self.assertEqual(sorted(self.states(name)), EXAMPLE_JOBS)
            info = run.task("Read the jobs' states", name)["jobs"]
            listed = {row["name"]: row for row in self.list(self.jobds[name])}
            self.assertEqual({n: j["state"] for n, j in info.items()},
                             {n: r["state"] for n, r in listed.items()})
            self.assertEqual({n: j["pid"] for n, j in info.items()},
                             {n: r["pid"] for n, r in listed.items()})
            self.assertTrue(all(j["pid"] > 0 for j in info.values()), info)
            self.assertIsNotNone(info["cleanup"]["next_schedule"], info["cleanup"])
            self.assertEqual(sorted(os.listdir(self.dest[name])),
                             [j + ".job" for j in EXAMPLE_JOBS])
        before = {name: self.pids(name) for name in self.HOSTS}
        again = self.fleet()
        for name in self.HOSTS:
            self.assertEqual(again.stats[name]["changed"], 0, again.describe())
            self.assertEqual(again.stats[name]["failures"], 0, again.describe())
            self.assertEqual(again.task("Apply the job files", name)["jobs"], [])
            self.assertEqual(self.pids(name), before[name])

    def test_check_diff_then_one_setting_changes_one_job_per_host(self):
        self.deploy()
        before = {name: self.pids(name) for name in self.HOSTS}
        src = self.changed_copy()
        # --check --diff: the change is shown, nothing is made.
        check = self.fleet("--check", "--diff", src=src)
        for name in self.HOSTS:
            result = check.task("Apply the job files", name)
            self.assertTrue(result["changed"], check.describe())
            self.assertEqual([(j["name"], j["action"], j["changed"]) for j in result["jobs"]],
                             [("mailer", "update", ["Environment"])])
            diff = result["diff"]
            self.assertEqual(len(diff), 1, diff)
            self.assertIn("mailer", diff[0]["before_header"])
            self.assertIn('"QUEUE": "mail"', diff[0]["before"])
            self.assertIn('"QUEUE": "post"', diff[0]["after"])
            self.assertNotIn("source-file", diff[0]["before"] + diff[0]["after"])
            self.assertEqual(self.pids(name), before[name])
            self.assertEqual(self.show(name, "mailer")["settings"]["environment"],
                             {"QUEUE": "mail"})
            with open(os.path.join(self.dest[name], "mailer.job")) as f:
                self.assertIn("QUEUE=mail\n", f.read())
        # For real: exactly one job per host changes, and jobd restarted it.
        run = self.fleet(src=src)
        for name in self.HOSTS:
            self.assertEqual(run.stats[name]["changed"], 1, run.describe())
            result = run.task("Apply the job files", name)
            self.assertEqual([(j["name"], j["action"], j["restart"]) for j in result["jobs"]],
                             [("mailer", "update", True)])
            self.wait_all_up(name, EXAMPLE_JOBS)
            after = self.pids(name)
            moved = sorted(j for j in EXAMPLE_JOBS if after[j] != before[name][j])
            self.assertEqual(moved, ["mailer"], (before[name], after))
            self.assertEqual(self.show(name, "mailer")["settings"]["environment"],
                             {"QUEUE": "post"})
            history = run_jobctl(["--json", "history", "mailer"],
                                 address=self.jobds[name].address)
            self.assertEqual(history.returncode, 0, history.stderr)
            self.assertEqual(len(json.loads(history.stdout)), 2, history.stdout)
        # And again: nothing.
        again = self.fleet(src=src)
        for name in self.HOSTS:
            self.assertEqual(again.stats[name]["changed"], 0, again.describe())

    def test_remove_every_job(self):
        self.deploy()
        pids = {name: self.pids(name) for name in self.HOSTS}
        empty = os.path.join(self.work, "src-empty")
        os.mkdir(empty)
        check = self.fleet("--check", src=empty)
        for name in self.HOSTS:
            result = check.task("Apply the job files", name)
            self.assertEqual(sorted(j["name"] for j in result["jobs"] if j["action"] == "remove"),
                             EXAMPLE_JOBS, check.describe())
            self.assertEqual(self.pids(name), pids[name])
        run = self.fleet(src=empty)
        for name in self.HOSTS:
            self.assertEqual(run.stats[name]["changed"], 1, run.describe())
            self.assertEqual(self.list(self.jobds[name]), [])
            self.assertEqual(os.listdir(self.dest[name]), [])
            for pid in pids[name].values():
                wait_until(lambda: not os.path.exists("/proc/%d" % pid),
                           "job process %d to be gone" % pid)

    def test_a_host_without_jobd_fails_alone(self):
        self.jobds["web2"].stop()
        run = self.fleet(expect_rc=2)
        self.assertEqual(run.stats["web1"]["failures"], 0, run.describe())
        self.assertEqual(run.stats["web1"]["changed"], 1, run.describe())
        self.assertEqual(run.stats["web2"]["failures"], 1, run.describe())
        result = run.task("Apply the job files", "web2")
        self.assertTrue(result.get("failed"), result)
        self.assertIn("jobd is not running on this host", result["msg"])
        self.assertIn(self.jobds["web2"].address, result["msg"])
        self.assertFalse(result["jobd_running"])
        # web1 went on to the end of the play.
        self.assertEqual(sorted(run.task("Read the jobs' states", "web1")["jobs"]), EXAMPLE_JOBS)
        self.wait_all_up("web1", EXAMPLE_JOBS)


JOB_PLAYBOOK = """
- hosts: workers
  gather_facts: false
  environment: "{{ jobd_environment }}"
  vars:
    ticker: &ticker
      name: ticker
      dir: "{{ jobd_jobs_dest }}"
      command: ["/bin/sh", "-c", "trap 'echo reloaded' HUP; while :; do echo \\"tick $COLOUR\\"; sleep 1; done"]
      restart: always
      stop_timeout: 5s
      buffer_size: 1000
  tasks:
    - name: started
      jobd.jobd.jobd_job:
        <<: *ticker
        environment: {COLOUR: red}
        state: started
    - name: started again
      jobd.jobd.jobd_job:
        <<: *ticker
        environment: {COLOUR: red}
        state: started
    - name: would change
      jobd.jobd.jobd_job:
        <<: *ticker
        environment: {COLOUR: blue}
        state: started
      check_mode: true
      diff: true
    - name: changed
      jobd.jobd.jobd_job:
        <<: *ticker
        environment: {COLOUR: green}
        state: started
    - name: restarted
      jobd.jobd.jobd_job:
        name: ticker
        state: restarted
    - name: reloaded
      jobd.jobd.jobd_job:
        name: ticker
        state: reloaded
    - name: stopped
      jobd.jobd.jobd_job:
        name: ticker
        state: stopped
    - name: stopped again
      jobd.jobd.jobd_job:
        name: ticker
        state: stopped
    - name: broken
      jobd.jobd.jobd_job:
        name: broken
        dir: "{{ jobd_jobs_dest }}"
        command: /bin/sh -c "echo boom-output; exit 3"
        ready: tcp:1
        state: started
      ignore_errors: true
"""

GONE_PLAYBOOK = """
- hosts: workers
  gather_facts: false
  environment: "{{ jobd_environment }}"
  tasks:
    - name: absent
      jobd.jobd.jobd_job:
        name: ticker
        dir: "{{ jobd_jobs_dest }}"
        state: absent
    - name: absent again
      jobd.jobd.jobd_job:
        name: ticker
        dir: "{{ jobd_jobs_dest }}"
        state: absent
"""


class FleetJob(Hosts):
    """jobd_job on both hosts: states, idempotence, check and diff mode,
    a restart jobd made, a job that does not come up."""

    def write(self, name, text):
        path = os.path.join(self.work, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_job_states(self):
        run = self.playbook(self.write("job.yml", JOB_PLAYBOOK))
        for name in self.HOSTS:
            def result(task):
                return run.task(task, name)
            self.assertTrue(result("started")["changed"])
            self.assertEqual(result("started")["state"], "up")
            self.assertFalse(result("started again")["changed"], result("started again"))
            would = result("would change")
            self.assertTrue(would["changed"])
            self.assertEqual(would["changed_settings"], ["Environment"])
            self.assertIn("blue", would["diff"]["after"])
            self.assertIn("red", would["diff"]["before"])
            changed = result("changed")
            self.assertTrue(changed["changed"])
            self.assertTrue(changed["restarted"])
            self.assertEqual(changed["job"]["settings"]["environment"], {"COLOUR": "green"})
            restarted = result("restarted")
            self.assertTrue(restarted["changed"])
            self.assertEqual(restarted["state"], "up")
            self.assertNotEqual(restarted["job"]["runtime"]["main-pid"],
                                changed["job"]["runtime"]["main-pid"])
            self.assertTrue(result("reloaded")["changed"])
            self.assertTrue(result("stopped")["changed"])
            self.assertEqual(result("stopped")["state"], "down")
            self.assertFalse(result("stopped again")["changed"])
            broken = result("broken")
            self.assertTrue(broken["failed"], broken)
            self.assertIn("did not reach up", broken["msg"])
            self.assertIn("boom-output", broken["msg"])
            self.assertIn("boom-output", broken["output"])
            # From jobd: the ticker ran three times, started red, restarted
            # green (not for the check mode's blue), restarted; it got the
            # reload signal; and it is down now.
            self.assertEqual(self.states(name)["ticker"], "down")
            history = run_jobctl(["--json", "history", "ticker"],
                                 address=self.jobds[name].address)
            self.assertEqual(history.returncode, 0, history.stderr)
            self.assertEqual(len(json.loads(history.stdout)), 3, history.stdout)
            lines = run_jobctl(["read", "-n", "0", "ticker"], address=self.jobds[name].address)
            self.assertIn("reloaded", lines.stdout)
            seen = [w for w in ("red", "blue", "green") if "tick " + w in lines.stdout]
            self.assertEqual(seen, ["red", "green"], lines.stdout)
            self.assertEqual(run.stats[name]["failures"], 0, run.describe())
            self.assertEqual(run.stats[name]["ignored"], 1, run.describe())
        gone = self.playbook(self.write("gone.yml", GONE_PLAYBOOK))
        for name in self.HOSTS:
            self.assertTrue(gone.task("absent", name)["changed"])
            self.assertFalse(gone.task("absent again", name)["changed"])
            self.assertNotIn("ticker", self.states(name))
            self.assertFalse(os.path.exists(os.path.join(self.dest[name], "ticker.job")))


class Collection(JobdTestCase):
    """The collection without hosts: its documentation and its settings."""

    def test_ansible_doc_shows_every_module(self):
        require_ansible()
        home = tempfile.mkdtemp(prefix="jobd-ansible-doc-", dir="/tmp")
        self.addCleanup(shutil.rmtree, home, True)
        env = ansible_env(home, {"ANSIBLE_STDOUT_CALLBACK": "default"})
        for module in ("jobd_job", "jobd_apply", "jobd_info"):
            rc, out, err = run_group([ANSIBLE_DOC, "jobd.jobd." + module], env, home, 120)
            self.assertEqual(rc, 0, out + err)
            self.assertIn("JOBD.JOBD." + module.upper(), out)
            self.assertNotIn("WARNING", err, err)
        rc, out, err = run_group([ANSIBLE_DOC, "--json", "jobd.jobd.jobd_job"], env, home, 120)
        self.assertEqual(rc, 0, out + err)
        options = json.loads(out)["jobd.jobd.jobd_job"]["doc"]["options"]
        for param, _key, _kind in self.utils().SETTINGS:
            self.assertIn(param, options, "jobd_job does not document %s" % param)

    def job_file_keys(self):
        """Every key of jobd.job(5), from common/jobd-jobfile.c's table."""
        with open(os.path.join(SOURCE_ROOT, "common", "jobd-jobfile.c")) as f:
            text = f.read()
        table = text[text.index("job_file_keys[] = {"):]
        table = table[:table.index("};")]
        keys = re.findall(r'\{\s*"([A-Za-z]+)",', table)
        self.assertIn("Command", keys)
        self.assertIn("RandomizedDelay", keys)
        return keys

    @staticmethod
    def utils():
        import sys
        sys.path.insert(0, os.path.join(COLLECTION, "plugins", "module_utils"))
        try:
            import jobctl
        finally:
            sys.path.pop(0)
        return jobctl

    def test_jobd_job_has_a_parameter_for_every_job_file_key(self):
        utils = self.utils()
        params = {key: param for param, key, _kind in utils.SETTINGS}
        for key in self.job_file_keys():
            self.assertIn(key, params, "no jobd_job parameter for %s=" % key)
        # What the module writes, jobd reads back unchanged: a job file
        # of every kind of parameter, applied, then applied again.
        params = {"command": ["/bin/echo", "two words", 'a "quote"', "back\\slash"],
                  "environment": {"A": "x y", "B": "it's"}, "restart": "on-failure",
                  "restart_delay": "2s", "autostart": False, "buffer_size": 50,
                  "schedule": ["*:*:0/30", "every 5min"], "memory_max": "64M",
                  "extra": {"team": "mail"}}
        folder = tempfile.mkdtemp(prefix="jobd-ansible-file-", dir="/tmp")
        self.addCleanup(shutil.rmtree, folder, True)
        path = os.path.join(folder, "echo.job")
        with open(path, "w") as f:
            f.write(utils.job_file_text("echo", params))
        first = run_jobctl(["--json", "apply", path], address=self.jobd.address)
        self.assertEqual(first.returncode, 0, first.stderr)
        settings = self.bus.call("GetSettings", "echo")
        self.assertEqual(settings["command"], "/bin/echo")
        self.assertEqual(list(settings["args"]), ["two words", 'a "quote"', "back\\slash"])
        self.assertEqual(dict(settings["environment"]), {"A": "x y", "B": "it's"})
        self.assertEqual(settings["restart-delay-ms"], 2000)
        self.assertEqual(settings["memory-max"], 64 << 20)
        self.assertEqual(settings["buffer-size"], 50)
        self.assertEqual([s["spec"] for s in settings["schedules"]], ["*:*:0/30", "every 5min"])
        self.assertEqual(dict(settings["extra"]), {"team": "mail"})
        again = run_jobctl(["--json", "apply", path], address=self.jobd.address)
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertEqual(json.loads(again.stdout), [])

    def test_apply_json_carries_the_settings_and_their_previous_values(self):
        folder = tempfile.mkdtemp(prefix="jobd-ansible-file-", dir="/tmp")
        self.addCleanup(shutil.rmtree, folder, True)
        path = os.path.join(folder, "w.job")
        with open(path, "w") as f:
            f.write("[Job]\nCommand=/bin/true\nEnvironment=A=1\n")
        added = run_jobctl(["--json", "apply", path], address=self.jobd.address)
        self.assertEqual(added.returncode, 0, added.stderr)
        entry = json.loads(added.stdout)[0]
        self.assertEqual(entry["settings"]["environment"], {"A": "1"})
        self.assertNotIn("previous", entry)
        with open(path, "w") as f:
            f.write("[Job]\nCommand=/bin/true\nEnvironment=A=2\nStopTimeout=3s\n")
        dry = run_jobctl(["--json", "apply", "--dry-run", path], address=self.jobd.address)
        self.assertEqual(dry.returncode, 0, dry.stderr)
        entry = json.loads(dry.stdout)[0]
        self.assertEqual(entry["changed"], ["Environment", "StopTimeout"])
        self.assertEqual(entry["settings"], {"environment": {"A": "2"}, "stop-timeout-ms": 3000})
        self.assertEqual(entry["previous"], {"environment": {"A": "1"}, "stop-timeout-ms": 10000})


if __name__ == "__main__":
    main()
