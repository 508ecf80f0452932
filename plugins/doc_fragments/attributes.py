# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    # What every module supports; each module adds support levels for check_mode and diff_mode itself.
    DOCUMENTATION = r'''
options: {}
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying the Cloudflare account.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
    details:
      - The module talks to the Cloudflare API over HTTPS; it does not act on the managed host.
    platforms: all
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on
      the controller.
    support: full
    details:
      - "When the task would run the module on the controller itself (a C(local) connection such as C(localhost)
        or C(delegate_to: localhost), no C(become), no C(async), and the controller's Python or interpreter
        discovery), the action plugin runs the module's code inside Ansible's worker process instead of starting a
        new Python; the results are the same, the task is faster."
      - Otherwise (another host, an explicitly chosen C(ansible_python_interpreter), C(become), C(async)) the
        module runs as usual on the target host, which then needs the Python packages listed under requirements, if any.
  async:
    description: Supports being used with the C(async) keyword.
    support: full
'''

    # Every module that only reads (an _info module): what check mode, diff mode and a second run mean for it.
    # Used with DOCUMENTATION above, which describes check_mode and diff_mode.
    INFO_MODULE = r'''
options: {}
attributes:
  check_mode:
    support: full
    details:
      - This action does not modify state.
  diff_mode:
    support: N/A
    details:
      - This action does not modify state.
  idempotent:
    description:
      - When run twice in a row with the same arguments, the second run reports no change.
    support: full
    details:
      - This action does not modify state.
'''

    # Membership of the action group, so one module_defaults entry configures every module.
    ACTIONGROUP_ALL = r'''
options: {}
attributes:
  action_group:
    description: Use C(group/cloudflare.pcap.all) in C(module_defaults) to set the connection options once.
    support: full
    membership:
      - cloudflare.pcap.all
'''
