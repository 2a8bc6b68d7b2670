#!/usr/bin/python
# SPDX-License-Identifier: MIT
from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: jobd_info
short_description: Facts about the jobs of jobd on a host
description:
  - Reads C(jobctl --json list) and C(jobctl --json timers) on the managed host and returns
    every job's state, main PID, memory, CPU time (when jobd reports it), restarts, start
    time and next scheduled start, for conditionals and reports.
version_added: "0.1.0"
author: jobd developers
extends_documentation_fragment: jobd.jobd.common
options:
  name:
    description:
      - Only these jobs (names or shell globs such as C(w-*)). Default, every job.
    type: list
    elements: str
seealso:
  - module: jobd.jobd.jobd_job
  - module: jobd.jobd.jobd_apply
'''

EXAMPLES = r'''
- name: What runs where
  jobd.jobd.jobd_info:
  register: jobd

- name: Every job is up
  ansible.builtin.assert:
    that: jobd.jobs | dict2items | rejectattr('value.state', 'equalto', 'up') | list | length == 0
'''

RETURN = r'''
jobs:
  description: Name to facts. state (up, down, failed, starting, stopping), pid (0 when not
    running), memory (bytes), cpu_usage_usec (when jobd reports it, else null), restarts,
    started_at (microseconds since the epoch, 0 when not running), next_schedule
    (microseconds since the epoch of its next scheduled start, null without a schedule).
  returned: always
  type: dict
states:
  description: State to the sorted names of the jobs in it.
  returned: always
  type: dict
jobd_running:
  description: Always true (a host where jobd is not running fails the task).
  returned: always
  type: bool
'''

import fnmatch

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.jobd.jobd.plugins.module_utils.jobctl import COMMON_ARGS, Jobctl


def main():
    argument_spec = dict(name=dict(type='list', elements='str'))
    argument_spec.update(COMMON_ARGS)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    jobctl = Jobctl(module)
    rows = jobctl.jobs()
    patterns = module.params['name']
    next_fire = {}
    for timer in jobctl.json('timers') or []:
        fire = timer.get('next-fire') or 0
        if timer.get('enabled', True) and fire > 0:
            job = timer['job']
            next_fire[job] = min(fire, next_fire.get(job, fire))
    jobs = {}
    states = {}
    for name in sorted(rows):
        if patterns and not any(fnmatch.fnmatchcase(name, p) for p in patterns):
            continue
        row = rows[name]
        jobs[name] = dict(state=row['state'], pid=row.get('pid', 0),
                          memory=row.get('memory', 0),
                          cpu_usage_usec=row.get('cpu-usage-usec'),
                          restarts=row.get('restarts', 0),
                          started_at=row.get('started-at', 0),
                          next_schedule=next_fire.get(name))
        states.setdefault(row['state'], []).append(name)
    module.exit_json(changed=False, jobs=jobs, states=states, jobd_running=True)


if __name__ == '__main__':
    main()
