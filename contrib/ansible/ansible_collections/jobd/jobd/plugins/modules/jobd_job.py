#!/usr/bin/python
# SPDX-License-Identifier: MIT
from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: jobd_job
short_description: One jobd job's settings and state
description:
  - Makes one job of jobd on the managed host have the settings given and be in the state
    asked for, through C(jobctl --json) there.
  - The settings are written as the job's job file, C(DIR/NAME.job) (I(dir)), and applied with
    C(jobctl apply); only the settings that differ are sent, and a running job is restarted
    only when a setting that applies at its next start changed (I(command), I(environment),
    I(working_directory), I(user), ...). The task reports C(changed) only when something
    changed.
  - The file is the whole job, as any job file is; a setting left out is its default.
    Without I(command), a task for a job that exists changes only its state.
  - I(state=started), I(restarted) and I(reloaded) wait until the job is up; I(stopped) and
    I(absent) until it is down. A job that does not get there fails the task with the job's
    last error and its recent output.
version_added: "0.1.0"
author: jobd developers
extends_documentation_fragment: jobd.jobd.common
options:
  name:
    description:
      - The job's name (letters, digits, C(-_.:@)).
    type: str
    required: true
  state:
    description:
      - C(present) the job exists with these settings (it is not started or stopped, but
        a changed setting restarts a running job when it applies at the next start).
      - C(started) also up; C(stopped) also down; C(restarted) restarted (always changed);
        C(reloaded) sent its reload signal (started if it was not up; always changed);
        C(absent) stopped and removed, its job file too.
    type: str
    choices: [present, absent, started, stopped, restarted, reloaded]
    default: present
  dir:
    description:
      - The folder on the managed host where the job's file is kept.
    type: path
    default: /etc/jobd/ansible
  timeout:
    description:
      - How long a restart caused by changed settings may take (C(jobctl apply --timeout)).
    type: str
    default: 90s
  output_lines:
    description:
      - How many of the job's last output lines a failure shows.
    type: int
    default: 20
  command:
    description:
      - 'The whole command line (job file C(Command=)): a string as written in a job file (split as systemd splits C(ExecStart=), no shell), or a list of words (quoted for you). Required to add a job.'
    type: raw
  params:
    description:
      - The legacy argument string (C(Params=)), used when I(command) has no arguments.
    type: str
  working_directory:
    description:
      - 'Where the job runs (C(WorkingDirectory=)). Default: the command''s folder.'
    type: str
  environment:
    description:
      - Variables for the job (C(Environment=)), a dict of NAME to VALUE.
    type: dict
  environment_file:
    description:
      - Files of NAME=VALUE lines read when the job file is applied (C(EnvironmentFile=)); a leading C(-) ignores a missing file.
    type: list
    elements: str
  user:
    description:
      - Run as this user (C(User=); root callers only).
    type: str
  group:
    description:
      - Run as this group (C(Group=); root callers only).
    type: str
  interpreter:
    description:
      - Run the command through this program (C(Interpreter=)).
    type: str
  autostart:
    description:
      - Start the job when jobd starts, and when it is added (C(AutoStart=)).
    type: bool
  restart:
    description:
      - When jobd starts the job again after it exits by itself (C(Restart=)).
    type: str
    choices: [no, on-failure, always]
  restart_delay:
    description:
      - First restart delay, a duration such as C(2s) (C(RestartDelay=)).
    type: str
  restart_delay_max:
    description:
      - Cap of the restart backoff (C(RestartDelayMax=)).
    type: str
  restart_reset:
    description:
      - Uptime after which the backoff starts over (C(RestartReset=)).
    type: str
  start_limit_burst:
    description:
      - More automatic restarts than this within I(start_limit_interval) mark the job failed (C(StartLimitBurst=)).
    type: int
  start_limit_interval:
    description:
      - The start limit's interval, a duration (C(StartLimitInterval=)).
    type: str
  stop_signal:
    description:
      - The signal that stops the job (C(StopSignal=)).
    type: str
  stop_timeout:
    description:
      - How long to wait after the stop signal before SIGKILL (C(StopTimeout=)).
    type: str
  reload_signal:
    description:
      - The signal I(state=reloaded) sends (C(ReloadSignal=)).
    type: str
  memory_max:
    description:
      - Memory limit, a size such as C(256M) or C(infinity) (C(MemoryMax=)).
    type: str
  cpu_quota:
    description:
      - CPU limit, a percentage of one CPU such as C(150%) (C(CPUQuota=)).
    type: str
  tasks_max:
    description:
      - Limit of processes and threads (C(TasksMax=)).
    type: str
  write_log:
    description:
      - Also write the job's output to log files (C(WriteLog=)).
    type: bool
  buffer_size:
    description:
      - Output lines kept in memory (C(BufferSize=)).
    type: int
  runtime_max:
    description:
      - A run longer than this duration is stopped (C(RuntimeMax=)); C(0) no limit.
    type: str
  history_size:
    description:
      - Runs kept in the job's run history (C(HistorySize=)).
    type: int
  ready:
    description:
      - 'When a started job counts as up (C(Ready=)): C(exec), C(notify), C(log:REGEX), C(tcp:PORT), C(exec-probe:COMMAND).'
    type: str
  ready_timeout:
    description:
      - 'Not ready by then: the start failed (C(ReadyTimeout=)).'
    type: str
  watchdog:
    description:
      - 'With I(ready=notify): no C(WATCHDOG=1) within this restarts the job (C(Watchdog=)).'
    type: str
  schedule:
    description:
      - 'Schedules (C(Schedule=), one per item): calendar expressions, C(every DURATION), or C(legacy:JSON).'
    type: list
    elements: str
  overlap:
    description:
      - What a schedule's fire does while the job still runs (C(Overlap=)).
    type: str
    choices: [skip, restart, queue]
  persistent:
    description:
      - A fire missed while jobd was down runs once when it starts (C(Persistent=)).
    type: bool
  randomized_delay:
    description:
      - Delay each scheduled start by a random time up to this (C(RandomizedDelay=)).
    type: str
  health:
    description:
      - 'Liveness probe (C(Health=)): C(exec:CMD), C(tcp:PORT), C(http://127.0.0.1:PORT/PATH). Needs a jobd that knows it.'
    type: str
  health_interval:
    description:
      - Time between probes (C(HealthInterval=)).
    type: str
  health_timeout:
    description:
      - A probe's time limit (C(HealthTimeout=)).
    type: str
  health_failures:
    description:
      - Failed probes in a row that restart the job (C(HealthFailures=)).
    type: int
  requires:
    description:
      - Jobs this one requires, C(JOB) or C(JOB:CONDITION) (C(Requires=)).
    type: list
    elements: str
  after:
    description:
      - Jobs this one starts after (C(After=)).
    type: list
    elements: str
  instances:
    description:
      - How many instances of the job run (C(Instances=)).
    type: int
  watch:
    description:
      - Paths whose change restarts (or reloads) the job (C(Watch=)).
    type: list
    elements: str
  watch_glob:
    description:
      - Globs of watched files (C(WatchGlob=)).
    type: list
    elements: str
  watch_exclude:
    description:
      - Globs excluded from watching (C(WatchExclude=)).
    type: list
    elements: str
  watch_action:
    description:
      - C(restart) or C(reload) on a watched change (C(WatchAction=)).
    type: str
  watch_debounce:
    description:
      - Quiet time before a watched change acts (C(WatchDebounce=)).
    type: str
  memory_restart:
    description:
      - Memory above which the job is restarted gracefully (C(MemoryRestart=)).
    type: str
  extra:
    description:
      - Extra settings (C(X-NAME=) keys), a dict of NAME to VALUE; added and changed, never removed.
    type: dict
seealso:
  - module: jobd.jobd.jobd_apply
  - module: jobd.jobd.jobd_info
'''

EXAMPLES = r'''
- name: A queue worker, running
  jobd.jobd.jobd_job:
    name: mailer
    command: /usr/bin/php artisan queue:work --queue=mail
    working_directory: /srv/app
    environment:
      APP_ENV: production
    restart: always
    restart_delay: 2s
    memory_max: 256M
    state: started

- name: Restart it
  jobd.jobd.jobd_job:
    name: mailer
    state: restarted

- name: Gone
  jobd.jobd.jobd_job:
    name: mailer
    state: absent
'''

RETURN = r'''
job:
  description: The job as C(jobctl show --json NAME) prints it (runtime, settings, memory); absent when it was removed.
  returned: when the job exists at the end
  type: dict
state:
  description: The job's state at the end (up, down, failed, starting, stopping; absent).
  returned: always
  type: str
changed_settings:
  description: The job file keys that changed (or would in check mode).
  returned: always
  type: list
  elements: str
restarted:
  description: Whether the job was (or would be) restarted.
  returned: always
  type: bool
output:
  description: The job's recent output lines, when the job did not reach its state.
  returned: on failure to reach the state
  type: list
  elements: str
'''

import os
import shutil
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.jobd.jobd.plugins.module_utils.jobctl import (
    COMMON_ARGS, Jobctl, JobctlError, job_file_text, plan_diff, settings_argument_spec,
    source_only, SETTINGS)

ACTIVE = ('up', 'starting', 'stopping')


class JobTask:
    def __init__(self, module):
        self.module = module
        self.p = module.params
        self.name = self.p['name']
        self.jobctl = Jobctl(module)
        self.changed = False
        self.changed_settings = []
        self.restarted = False
        self.diff = dict(before='', after='')
        self.path = os.path.join(self.p['dir'], self.name + '.job')

    def state(self):
        row = self.jobctl.jobs().get(self.name)
        return row['state'] if row else 'absent'

    def fail_state(self, want, err):
        """The job did not get to `want`: its last error and recent output."""
        details = {}
        try:
            details = self.jobctl.show(self.name) or {}
        except JobctlError:
            pass
        runtime = details.get('runtime', {})
        output = self.jobctl.recent_output(self.name, self.p['output_lines'])
        msg = 'job %s did not reach %s: %s' % (self.name, want, err)
        if runtime.get('last-error'):
            msg += '; last error: %s' % runtime['last-error']
        if runtime.get('exit-code', -1) >= 0:
            msg += '; exit code %d' % runtime['exit-code']
        if runtime.get('exit-signal'):
            msg += '; signal %d' % runtime['exit-signal']
        if output:
            msg += '; recent output:\n' + '\n'.join(output)
        self.module.fail_json(msg=msg, state=runtime.get('state', 'absent'), output=output,
                              job=details, changed=self.changed)

    def act(self, want, *args):
        """A verb that changes the state; waits (--wait) and fails with the job's story."""
        self.changed = True
        if self.module.check_mode:
            return
        try:
            self.jobctl.run(*args)
        except JobctlError as e:
            self.fail_state(want, e.stderr.strip() or str(e))

    # -- settings --

    def apply_settings(self):
        try:
            text = job_file_text(self.name, self.p)
        except ValueError as e:
            self.module.fail_json(msg=str(e))
        old_text = None
        if os.path.exists(self.path):
            with open(self.path) as f:
                old_text = f.read()
        if self.module.check_mode:
            entries = self.dry_run(text)
        else:
            if old_text != text:
                self.write_file(text)
                self.changed = True
            try:
                entries = self.jobctl.json('apply', '--wait', '--timeout', self.p['timeout'],
                                           self.path)
            except JobctlError as e:
                if e.rc == 2:
                    self.module.fail_json(msg='jobd refused the settings of %s: %s'
                                              % (self.name, e.stderr.strip()))
                self.fail_state('up after its restart', e.stderr.strip() or str(e))
        for entry in entries or []:
            if entry['name'] != self.name:
                continue
            self.changed = True
            self.changed_settings = entry.get('changed', [])
            self.restarted = bool(entry.get('restart'))
            diff = plan_diff([entry], dest=self.p['dir'])[0]
            self.diff = diff

    def dry_run(self, text):
        scratch = tempfile.mkdtemp(prefix='jobd-ansible-')
        try:
            path = os.path.join(scratch, self.name + '.job')
            with open(path, 'w') as f:
                f.write(text)
            try:
                entries = self.jobctl.json('apply', '--dry-run', path)
            except JobctlError as e:
                self.module.fail_json(msg='jobd refused the settings of %s: %s'
                                          % (self.name, e.stderr.strip()))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return [e for e in entries or [] if not source_only(e, self.path)]

    def write_file(self, text):
        if not os.path.isdir(self.p['dir']):
            os.makedirs(self.p['dir'], 0o755)
        tmp = self.path + '.tmp'
        with open(tmp, 'w') as f:
            f.write(text)
        os.rename(tmp, self.path)

    # -- the whole task --

    def run(self):
        want = self.p['state']
        current = self.state()
        if want == 'absent':
            self.remove(current)
            return self.finish()
        if self.p['command'] is not None:
            self.apply_settings()
            if self.module.check_mode and current == 'absent':
                # Nothing more to ask about a job that would be added.
                self.changed = True
                return self.finish(would_add=True)
        elif current == 'absent':
            self.module.fail_json(msg='job %s does not exist: give its command to add it' % self.name)
        else:
            given = [p for p, _k, _t in SETTINGS if self.p[p] is not None]
            if given or self.p['extra'] is not None:
                self.module.fail_json(msg='settings (%s) need command too: the job file is the '
                                          'whole job' % ', '.join(given or ['extra']))
        current = 'absent' if self.module.check_mode and current == 'absent' else self.state()
        if want == 'started' and current != 'up':
            self.act('up', 'start', '--wait', self.name)
        elif want == 'stopped' and current in ACTIVE:
            self.act('down', 'stop', '--wait', self.name)
        elif want == 'restarted' and not self.restarted:
            self.act('up', 'restart', '--wait', self.name)
            self.restarted = True
        elif want == 'reloaded':
            if current != 'up':
                self.act('up', 'start', '--wait', self.name)
            else:
                self.act('up', 'reload', self.name)
        return self.finish()

    def remove(self, current):
        if current != 'absent':
            self.diff = dict(before='job %s (%s)\n' % (self.name, current), after='')
            if current in ACTIVE:
                self.act('down', 'stop', '--wait', self.name)
            self.act('absent', 'remove', self.name)
        if os.path.exists(self.path):
            self.changed = True
            if not self.module.check_mode:
                os.unlink(self.path)

    def finish(self, would_add=False):
        result = dict(changed=self.changed, changed_settings=self.changed_settings,
                      restarted=self.restarted, name=self.name)
        if self.module._diff:
            result['diff'] = self.diff
        if would_add:
            result['state'] = 'absent'
        else:
            job = None
            try:
                job = self.jobctl.show(self.name)
            except JobctlError:
                pass
            result['state'] = job['runtime']['state'] if job else 'absent'
            if job:
                result['job'] = job
        self.module.exit_json(**result)


def main():
    argument_spec = dict(
        name=dict(type='str', required=True),
        state=dict(type='str', default='present',
                   choices=['present', 'absent', 'started', 'stopped', 'restarted', 'reloaded']),
        dir=dict(type='path', default='/etc/jobd/ansible'),
        timeout=dict(type='str', default='90s'),
        output_lines=dict(type='int', default=20),
    )
    argument_spec.update(COMMON_ARGS)
    argument_spec.update(settings_argument_spec())
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    JobTask(module).run()


if __name__ == '__main__':
    main()
