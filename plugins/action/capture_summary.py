# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Runs cloudflare.pcap.capture_summary in-process on the controller when that is where it would run (see _action.py)."""

from __future__ import annotations

import inspect

from ansible_collections.cloudflare.pcap.plugins.plugin_utils._action import PcapAction
from ansible_collections.cloudflare.pcap.plugins.plugin_utils._in_process import InProcessModule

# capture_summary takes none of the connection options (MODULE_OPTIONS connection=False). Until the in-process
# runner can build a module without them, the module runs as a module, which it can do anywhere.
RUNNER_TAKES_LOCAL_MODULES = 'connection' in inspect.signature(InProcessModule.__init__).parameters


class ActionModule(PcapAction):
    MODULE = 'capture_summary'

    def _why_not_in_process(self, task_vars):
        if not RUNNER_TAKES_LOCAL_MODULES:
            return 'the in-process runner does not take modules without connection options yet'
        return super(ActionModule, self)._why_not_in_process(task_vars)
