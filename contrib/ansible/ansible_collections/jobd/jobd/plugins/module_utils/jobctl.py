# SPDX-License-Identifier: MIT
"""What the jobd modules share: running `jobctl --json` on the managed host,
telling "jobd is not running" apart from other failures, and the job
settings (module parameter -> job file key, jobd.job(5)).

Only the Python standard library and Ansible's own module_utils: the
managed host needs nothing beyond what Ansible needs, and jobctl.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import re

# The options every module takes (doc fragment jobd.jobd.common).
COMMON_ARGS = dict(
    jobctl=dict(type='str', default='jobctl'),
    address=dict(type='str'),
)

# Every job setting jobd knows, as (parameter, job file key, kind), in the
# order of common/jobd-jobfile.c's job_file_keys (tests/integration/
# test_ansible.py checks that each key there has its parameter here).
# kind: str (one line), bool, int, cmdline (a string as written, or a list
# of words), env (dict, one quoted NAME=VALUE per word), lines (a list, one
# line per item), words (a list, one line of space-separated words).
SETTINGS = [
    ('command', 'Command', 'cmdline'),
    ('params', 'Params', 'str'),
    ('working_directory', 'WorkingDirectory', 'str'),
    ('environment', 'Environment', 'env'),
    ('environment_file', 'EnvironmentFile', 'lines'),
    ('user', 'User', 'str'),
    ('group', 'Group', 'str'),
    ('interpreter', 'Interpreter', 'str'),
    ('autostart', 'AutoStart', 'bool'),
    ('restart', 'Restart', 'str'),
    ('restart_delay', 'RestartDelay', 'str'),
    ('restart_delay_max', 'RestartDelayMax', 'str'),
    ('restart_reset', 'RestartReset', 'str'),
    ('start_limit_burst', 'StartLimitBurst', 'int'),
    ('start_limit_interval', 'StartLimitInterval', 'str'),
    ('stop_signal', 'StopSignal', 'str'),
    ('stop_timeout', 'StopTimeout', 'str'),
    ('reload_signal', 'ReloadSignal', 'str'),
    ('memory_max', 'MemoryMax', 'str'),
    ('cpu_quota', 'CPUQuota', 'str'),
    ('tasks_max', 'TasksMax', 'str'),
    ('write_log', 'WriteLog', 'bool'),
    ('buffer_size', 'BufferSize', 'int'),
    ('runtime_max', 'RuntimeMax', 'str'),
    ('history_size', 'HistorySize', 'int'),
    ('ready', 'Ready', 'str'),
    ('ready_timeout', 'ReadyTimeout', 'str'),
    ('watchdog', 'Watchdog', 'str'),
    ('schedule', 'Schedule', 'lines'),
    ('overlap', 'Overlap', 'str'),
    ('persistent', 'Persistent', 'bool'),
    ('randomized_delay', 'RandomizedDelay', 'str'),
    # Health checks, dependencies, instances, watched files, memory restart
    # (issue 13): a jobd without them warns about the key and ignores it.
    ('health', 'Health', 'str'),
    ('health_interval', 'HealthInterval', 'str'),
    ('health_timeout', 'HealthTimeout', 'str'),
    ('health_failures', 'HealthFailures', 'int'),
    ('requires', 'Requires', 'words'),
    ('after', 'After', 'words'),
    ('instances', 'Instances', 'int'),
    ('watch', 'Watch', 'words'),
    ('watch_glob', 'WatchGlob', 'words'),
    ('watch_exclude', 'WatchExclude', 'words'),
    ('watch_action', 'WatchAction', 'str'),
    ('watch_debounce', 'WatchDebounce', 'str'),
    ('memory_restart', 'MemoryRestart', 'str'),
]

_ARG_TYPES = {'cmdline': 'raw', 'env': 'dict', 'lines': 'list', 'words': 'list',
              'bool': 'bool', 'int': 'int', 'str': 'str'}


def settings_argument_spec():
    spec = {}
    for param, _key, kind in SETTINGS:
        spec[param] = dict(type=_ARG_TYPES[kind])
        if kind in ('lines', 'words'):
            spec[param]['elements'] = 'str'
    spec['restart']['choices'] = ['no', 'on-failure', 'always']
    spec['overlap']['choices'] = ['skip', 'restart', 'queue']
    spec['extra'] = dict(type='dict')
    return spec


def quote_word(word):
    """One word of a job file's Command=/Environment= (split as systemd's
    ExecStart=): quoted when it holds blanks, quotes or backslashes."""
    word = str(word)
    if word and not re.search(r'[\s"\'\\]', word):
        return word
    escaped = word.replace('\\', '\\\\').replace('"', '\\"')
    escaped = escaped.replace('\n', '\\n').replace('\t', '\\t')
    return '"%s"' % escaped


def _one_line(value, what):
    if '\n' in value or '\r' in value:
        raise ValueError('%s: a value of one line, not %r' % (what, value))
    return value


def job_file_text(name, params):
    """The job file (jobd.job(5)) for the settings given in params (a key
    left out is the setting's default, as in any job file)."""
    lines = ['# Managed by Ansible (jobd.jobd): job %s' % name, '[Job]']
    for param, key, kind in SETTINGS:
        value = params.get(param)
        if value is None:
            continue
        if kind == 'cmdline':
            if isinstance(value, (list, tuple)):
                value = ' '.join(quote_word(w) for w in value)
            lines.append('%s=%s' % (key, _one_line(str(value), param)))
        elif kind == 'env':
            for var in sorted(value):
                lines.append('%s=%s' % (key, quote_word('%s=%s' % (var, value[var]))))
        elif kind == 'lines':
            for item in value:
                lines.append('%s=%s' % (key, _one_line(str(item), param)))
        elif kind == 'words':
            lines.append('%s=%s' % (key, ' '.join(quote_word(w) for w in value)))
        elif kind == 'bool':
            lines.append('%s=%s' % (key, 'yes' if value else 'no'))
        else:
            lines.append('%s=%s' % (key, _one_line(str(value), param)))
    for var in sorted(params.get('extra') or {}):
        if not re.match(r'^[A-Za-z0-9_-]+$', var):
            raise ValueError('extra: %r is not a valid X- key name' % var)
        lines.append('X-%s=%s' % (var, _one_line(str(params['extra'][var]), 'extra')))
    return '\n'.join(lines) + '\n'


class JobctlError(Exception):
    def __init__(self, msg, rc=None, stdout='', stderr=''):
        Exception.__init__(self, msg)
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr


# jobctl's message when nothing answers (cli/jobctl-connect.c), read in the
# C locale.
_NOT_RUNNING = ('cannot reach jobd', 'nothing answers')


class Jobctl:
    """jobctl on the managed host, in the C locale, with --json where the
    verb prints something to read."""

    def __init__(self, module):
        self.module = module
        jobctl = module.params['jobctl']
        if os.path.sep in jobctl:
            self.exe = jobctl
        else:
            self.exe = module.get_bin_path(jobctl, required=False)
        if not self.exe or not os.access(self.exe, os.X_OK):
            module.fail_json(msg='jobctl (%s) is not installed on this host (install jobd, or '
                                 'give its path in the jobctl option)' % jobctl)
        self.address = module.params.get('address')

    def run(self, *args, **kw):
        """(rc, stdout, stderr); fails the module when jobd is not running."""
        argv = [self.exe]
        if self.address:
            argv.append('--address=' + self.address)
        argv.extend(args)
        rc, out, err = self.module.run_command(
            argv, environ_update={'LC_ALL': 'C', 'LANG': 'C', 'LANGUAGE': ''})
        if rc != 0 and any(text in err for text in _NOT_RUNNING):
            self.module.fail_json(
                msg='jobd is not running on this host (or not at %s): %s'
                    % (self.address or os.environ.get('JOBD_ADDRESS') or "jobctl's default address",
                       err.strip()),
                jobd_running=False, rc=rc, stderr=err)
        if rc != 0 and not kw.get('check', True):
            return rc, out, err
        if rc != 0:
            raise JobctlError('%s failed: %s' % (' '.join(args), (err or out).strip()),
                              rc, out, err)
        return rc, out, err

    def json(self, *args):
        _rc, out, _err = self.run('--json', *args)
        try:
            return json.loads(out) if out.strip() else None
        except ValueError:
            raise JobctlError('jobctl %s printed no JSON: %r' % (' '.join(args), out[:200]))

    def jobs(self):
        """name -> jobctl list --json row."""
        return dict((row['name'], row) for row in self.json('list') or [])

    def show(self, name):
        return self.json('show', name)

    def recent_output(self, name, lines=20):
        rc, out, _err = self.run('read', '-n', str(lines), name, check=False)
        return out.splitlines() if rc == 0 else []


def value_text(value):
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def plan_diff(entries, dest=None):
    """Ansible's diff (a list, one item per job) from jobctl apply --json's
    entries: the changed settings with their values before and after."""
    diffs = []
    for entry in entries:
        name = entry['name']
        before = entry.get('previous') or {}
        after = dict(entry.get('settings') or {})
        if dest is not None and 'source-file' in after:
            after['source-file'] = os.path.join(dest, name + '.job')
        if entry['action'] == 'remove':
            text_before, text_after = 'job %s\n' % name, ''
        else:
            keys = sorted(set(before) | set(after))
            keys = [k for k in keys if before.get(k) != after.get(k)]
            text_before = ''.join('%s=%s\n' % (k, value_text(before[k])) for k in keys if k in before)
            text_after = ''.join('%s=%s\n' % (k, value_text(after[k])) for k in keys if k in after)
        suffix = ' (restarts)' if entry.get('restart') else ''
        diffs.append(dict(before_header='%s (%s)' % (name, 'absent' if entry['action'] == 'add' else 'jobd'),
                          after_header='%s (%s%s)' % (name, entry['action'], suffix),
                          before=text_before, after=text_after))
    return diffs


def source_only(entry, intended_path):
    """An update that only moves source-file to intended_path's twin in a
    scratch folder (check mode writes the files there): no change."""
    if entry['action'] != 'update' or entry.get('changed'):
        return False
    previous = entry.get('previous') or {}
    return previous.get('source-file') == intended_path
