# SPDX-License-Identifier: MIT
from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    # The options every jobd.jobd module takes.
    DOCUMENTATION = r'''
options:
  jobctl:
    description:
      - The jobctl program on the managed host (a name looked up in C(PATH), or a path).
      - The modules run C(jobctl --json) there and need nothing else on the host.
    type: str
    default: jobctl
  address:
    description:
      - jobd's D-Bus address on the managed host (jobctl's C(--address)), e.g.
        C(unix:path=/run/user/1000/jobd/bus) for a per-user jobd.
      - Default, as jobctl has it, C($JOBD_ADDRESS) (the play's C(environment) may set it),
        else the system bus, the session bus, then C(/run/jobd/bus).
    type: str
notes:
  - When jobd is not running on a host (nothing answers at its address), the task fails on
    that host with a message that says so, and C(jobd_running=false); the other hosts go on.
requirements:
  - jobd and jobctl on the managed host.
'''
