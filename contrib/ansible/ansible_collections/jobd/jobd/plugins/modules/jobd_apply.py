#!/usr/bin/python
# SPDX-License-Identifier: MIT
from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: jobd_apply
short_description: Push job files to a host and apply them with jobctl apply
description:
  - Copies job files (jobd.job(5)) from the controller (I(src), a file or a folder of
    C(*.job) files) or given inline (I(files)) into I(dest) on the managed host, then runs
    C(jobctl --json apply DEST) there. jobd adds the jobs it does not have (starting those
    with C(AutoStart=yes)), updates the ones that differ, sending only what changed, and
    restarts a running job only when a setting that applies at its next start changed.
  - The task is C(changed) when a file or a job changed. Check mode runs
    C(jobctl apply --dry-run) on the new files (in a scratch folder) and changes nothing.
    Diff mode shows, per job, the settings that change with their values before and after.
  - A folder on the controller is mirrored only with I(prune); without it, files already in
    I(dest) stay and are applied too.
version_added: "0.1.0"
author: jobd developers
extends_documentation_fragment: jobd.jobd.common
options:
  src:
    description:
      - A job file, or a folder of C(*.job) files, on the controller (relative paths are
        looked up as the copy module does, in the role's or playbook's C(files/)).
    type: path
  files:
    description:
      - Job files given inline, a dict of file name (C(NAME.job)) to its text. Merged with
        I(src); I(files) wins.
    type: dict
  dest:
    description:
      - The folder on the managed host that holds the job files (made when missing).
      - Pointing it at jobd's C(JobsDirectory=) is fine; jobd reads the same files.
    type: path
    default: /etc/jobd/jobs.d
  prune:
    description:
      - Remove the C(*.job) files in I(dest) that are not given, and (C(jobctl apply --prune))
        stop and remove the jobs made from a file of I(dest) that no file names any more.
        Jobs added otherwise are never removed.
    type: bool
    default: false
  wait:
    description:
      - Return once every job apply started or restarted is up (C(jobctl apply --wait));
        the task fails when one is not, with its last error and recent output.
    type: bool
    default: true
  timeout:
    description:
      - How long I(wait) and stopping pruned jobs may take (C(jobctl apply --timeout)).
    type: str
    default: 90s
seealso:
  - module: jobd.jobd.jobd_job
  - module: jobd.jobd.jobd_info
'''

EXAMPLES = r'''
- name: The workers of this repository, on every host
  jobd.jobd.jobd_apply:
    src: jobs/
    dest: /etc/jobd/jobs.d
    prune: true

- name: One job inline
  jobd.jobd.jobd_apply:
    files:
      tick.job: |
        [Job]
        Command=/bin/sh -c "while :; do date; sleep 5; done"
        Restart=always
        AutoStart=yes
'''

RETURN = r'''
jobs:
  description: What changed (or would), one item per job, as C(jobctl apply --json) prints it
    (name, action add/update/remove, changed keys, restart, start, settings, previous).
  returned: always
  type: list
  elements: dict
files_changed:
  description: The file names in I(dest) written or removed (or that would be).
  returned: always
  type: list
  elements: str
'''

import os
import shutil
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.jobd.jobd.plugins.module_utils.jobctl import (
    COMMON_ARGS, Jobctl, JobctlError, plan_diff, source_only)


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except (IOError, OSError):
        return None


def existing_files(dest):
    if not os.path.isdir(dest):
        return []
    return sorted(n for n in os.listdir(dest) if n.endswith('.job'))


def failed_jobs_message(jobctl, entries, err, lines=20):
    """apply --wait failed: which job, its last error and its recent output."""
    parts = [err.strip()]
    for entry in entries or []:
        if not (entry.get('start') or entry.get('restart')):
            continue
        try:
            runtime = (jobctl.show(entry['name']) or {}).get('runtime', {})
        except JobctlError:
            continue
        if runtime.get('state') == 'up':
            continue
        parts.append('job %s is %s; last error: %s; recent output:\n%s' % (
            entry['name'], runtime.get('state'), runtime.get('last-error') or 'none',
            '\n'.join(jobctl.recent_output(entry['name'], lines))))
    return '\n'.join(p for p in parts if p)


def main():
    argument_spec = dict(
        files=dict(type='dict', default={}),
        dest=dict(type='path', default='/etc/jobd/jobs.d'),
        prune=dict(type='bool', default=False),
        wait=dict(type='bool', default=True),
        timeout=dict(type='str', default='90s'),
    )
    argument_spec.update(COMMON_ARGS)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    dest = p['dest']
    files = p['files'] or {}
    for name in files:
        if os.path.basename(name) != name or not name.endswith('.job'):
            module.fail_json(msg='%r: job files are NAME.job, without a folder' % name)
    jobctl = Jobctl(module)
    jobctl.jobs()  # fails clearly when jobd is not running

    files_changed = sorted(n for n in files if read(os.path.join(dest, n)) != files[n])
    stale = [n for n in existing_files(dest) if n not in files] if p['prune'] else []
    files_changed += stale

    if module.check_mode:
        entries = dry_run(module, jobctl, files, dest, stale)
    else:
        entries = apply(module, jobctl, files, dest, stale)
    result = dict(changed=bool(entries or files_changed), jobs=entries,
                  files_changed=files_changed)
    if module._diff:
        result['diff'] = plan_diff(entries, dest=dest)
    module.exit_json(**result)


def apply(module, jobctl, files, dest, stale):
    p = module.params
    if not os.path.isdir(dest):
        os.makedirs(dest, 0o755)
    for name, text in sorted(files.items()):
        path = os.path.join(dest, name)
        if read(path) != text:
            with open(path + '.tmp', 'w') as f:
                f.write(text)
            os.rename(path + '.tmp', path)
    for name in stale:
        os.unlink(os.path.join(dest, name))
    args = ['apply', '--timeout', p['timeout']]
    if p['prune']:
        args.append('--prune')
    if p['wait']:
        args.append('--wait')
    if not existing_files(dest):
        # Nothing to apply; with prune, a folder without files removes its jobs.
        return prune_all(module, jobctl, dest) if p['prune'] else []
    rc, out, err = jobctl.run('--json', *(args + [dest]), check=False)
    entries = parse(module, out)
    if rc == 2:
        module.fail_json(msg='jobctl apply refused the files: %s' % err.strip(), jobs=entries)
    if rc != 0:
        module.fail_json(msg=failed_jobs_message(jobctl, entries, err), jobs=entries,
                         changed=True)
    return entries


def parse(module, out):
    import json
    try:
        return json.loads(out) if out.strip() else []
    except ValueError:
        module.fail_json(msg='jobctl apply printed no JSON: %r' % out[:200])


def sources(jobctl, dest):
    """name -> source-file of every job jobd has."""
    found = {}
    for name in jobctl.jobs():
        try:
            found[name] = ((jobctl.show(name) or {}).get('settings') or {}).get('source-file')
        except JobctlError:
            pass
    return found


def prune_all(module, jobctl, dest):
    """--prune with no file left in dest: stop and remove every job made from one of its files."""
    entries = []
    for name, source in sorted(sources(jobctl, dest).items()):
        if source is None or os.path.dirname(source) != dest.rstrip('/'):
            continue
        entries.append(dict(name=name, action='remove', changed=[], restart=False, start=False,
                            **{'dry-run': module.check_mode}))
        if not module.check_mode:
            jobctl.run('stop', '--wait', name)
            jobctl.run('remove', name)
    return entries


def dry_run(module, jobctl, files, dest, stale):
    """The new files in a scratch folder, apply --dry-run on them; what only
    moves source-file there is no change; pruning is worked out here."""
    entries = []
    if files:
        scratch = tempfile.mkdtemp(prefix='jobd-ansible-')
        try:
            for name, text in files.items():
                with open(os.path.join(scratch, name), 'w') as f:
                    f.write(text)
            rc, out, err = jobctl.run('--json', 'apply', '--dry-run', scratch, check=False)
            if rc != 0:
                module.fail_json(msg='jobctl apply refused the files: %s' % err.strip())
            entries = [e for e in parse(module, out)
                       if not source_only(e, os.path.join(dest, e['name'] + '.job'))]
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    if module.params['prune']:
        named = set(n[:-len('.job')] for n in files)
        for name, source in sorted(sources(jobctl, dest).items()):
            if name in named or source is None or os.path.dirname(source) != dest.rstrip('/'):
                continue
            entries.append(dict(name=name, action='remove', changed=[], restart=False,
                                start=False, **{'dry-run': True}))
    return entries


if __name__ == '__main__':
    main()
