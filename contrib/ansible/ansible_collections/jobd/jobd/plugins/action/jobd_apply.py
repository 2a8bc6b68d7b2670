# SPDX-License-Identifier: MIT
"""jobd_apply on the controller: reads the job files of src (a file or a
folder of *.job) here and hands their text to the module on the host."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(('src', 'files', 'dest', 'prune', 'wait', 'timeout', 'jobctl',
                             'address'))

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        src = args.pop('src', None)
        files = {}
        if src is not None:
            try:
                path = self._find_needle('files', src)
            except AnsibleError as e:
                raise AnsibleActionFail(to_text(e))
            if os.path.isdir(path):
                names = sorted(n for n in os.listdir(path) if n.endswith('.job'))
                paths = [os.path.join(path, n) for n in names]
            else:
                paths = [path]
            for p in paths:
                with open(p, 'rb') as f:
                    files[os.path.basename(p)] = to_text(f.read(), errors='surrogate_or_strict')
        files.update(args.get('files') or {})
        args['files'] = files
        result.update(self._execute_module(module_name='jobd.jobd.jobd_apply', module_args=args,
                                           task_vars=task_vars))
        return result
