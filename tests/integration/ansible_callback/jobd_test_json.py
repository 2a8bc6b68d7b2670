# SPDX-License-Identifier: MIT
"""The test's stdout callback (ansible-core has no json one): every task's
result per host, and the recap's stats, as one JSON document at the end,
in the shape of community.general's json callback ({"plays": [{"tasks":
[{"task": {"name"}, "hosts": {HOST: result}}]}], "stats": {HOST: {...}}})."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = '''
name: jobd_test_json
type: stdout
short_description: every task result and the stats as JSON (tests/integration/test_ansible.py)
description: Every task's result per host and the recap's stats, printed as JSON at the end.
'''


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'stdout'
    CALLBACK_NAME = 'jobd_test_json'

    def __init__(self):
        super(CallbackModule, self).__init__()
        self.plays = []

    def v2_playbook_on_play_start(self, play):
        self.plays.append({'play': {'name': play.get_name()}, 'tasks': []})

    def v2_playbook_on_task_start(self, task, is_conditional):
        self.plays[-1]['tasks'].append({'task': {'name': task.get_name()}, 'hosts': {}})

    def _record(self, result, **extra):
        item = dict(result._result)
        item.update(extra)
        self.plays[-1]['tasks'][-1]['hosts'][result._host.get_name()] = item

    def v2_runner_on_ok(self, result):
        self._record(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, failed=True, ignored=ignore_errors)

    def v2_runner_on_skipped(self, result):
        self._record(result, skipped=True)

    def v2_runner_on_unreachable(self, result):
        self._record(result, unreachable=True)

    def v2_playbook_on_stats(self, stats):
        summary = dict((host, stats.summarize(host)) for host in sorted(stats.processed))
        self._display.display(json.dumps({'plays': self.plays, 'stats': summary},
                                         sort_keys=True, default=str))
