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
