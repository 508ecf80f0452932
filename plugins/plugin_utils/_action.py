# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The action plugin of every cloudflare.pcap module.

When the task would run the module on the controller itself (local connection, no become, no async, the
controller's Python or interpreter discovery), the module's code runs inside the worker process
(_in_process.py): no AnsiballZ payload, no second Python start-up. Otherwise, for example with delegate_to a
bastion host, an explicitly chosen interpreter or become, the module runs as usual.

Private to cloudflare.pcap; the interface may change in any release.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys

from ansible import constants as C
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible.utils.vars import merge_hash

from ansible_collections.cloudflare.pcap.plugins.module_utils._client import REQUESTS_IMPORT_ERROR
from ansible_collections.cloudflare.pcap.plugins.plugin_utils._in_process import run_in_process

display = Display()

DISCOVERY_MODES = ('', 'auto', 'auto_legacy', 'auto_silent', 'auto_legacy_silent')


class PcapAction(ActionBase):
    """Runs the module of the same name, in-process when that is the same as running it on the controller."""

    _supports_check_mode = True
    _supports_async = True
    MODULE = None  # the module's short name, set by each action plugin

    def run(self, tmp=None, task_vars=None):
        result = super(PcapAction, self).run(tmp, task_vars)
        del tmp  # tmp no longer has any effect
        reason = self._why_not_in_process(task_vars or {})
        if reason:
            display.vvv('cloudflare.pcap.%s runs as a module: %s' % (self.MODULE, reason), host=self._play_context.remote_addr)
            wrap_async = self._task.async_val and not self._connection.has_native_async
            result = merge_hash(result, self._execute_module(task_vars=task_vars, wrap_async=wrap_async))
            if not wrap_async:
                self._remove_tmp_path(self._connection._shell.tmpdir)
            return result
        display.vvv('cloudflare.pcap.%s runs in-process on the controller' % self.MODULE, host=self._play_context.remote_addr)
        with self._task_environment():
            return merge_hash(result, run_in_process(self.MODULE, self._task.args, check_mode=bool(self._task.check_mode),
                                                     task_name=self._task.action))

    def _why_not_in_process(self, task_vars):
        """None when running the module would mean running it with this Python on this machine, else why not."""
        if getattr(self._connection, 'transport', None) != 'local':
            return 'the connection is %s' % getattr(self._connection, 'transport', 'not local')
        if self._play_context.become:
            return 'become is set'
        if self._task.async_val:
            return 'async is set'
        host_vars = task_vars
        if self._task.delegate_to:
            host_vars = task_vars.get('ansible_delegated_vars', {}).get(self._task.delegate_to, task_vars)
        interpreter = self._templar.template(C.config.get_config_value('INTERPRETER_PYTHON', variables=host_vars))
        interpreter = (interpreter or '').strip()
        if interpreter not in DISCOVERY_MODES and interpreter != sys.executable:
            return 'ansible_python_interpreter is %s' % interpreter
        if REQUESTS_IMPORT_ERROR:
            return 'requests is not installed for the controller Python'
        if importlib.util.find_spec('jsonschema') is None:
            return 'jsonschema is not installed for the controller Python'
        return None

    @contextlib.contextmanager
    def _task_environment(self):
        """The task's `environment:` in os.environ while the module runs, as the module's process would see it
        (the CLOUDFLARE_* fallbacks read it). The worker process is forked for this task; restored all the same."""
        environment = {}
        self._compute_environment_string(environment)
        saved = dict(os.environ)
        os.environ.update((str(name), str(value)) for name, value in environment.items())
        try:
            yield
        finally:
            os.environ.clear()
            os.environ.update(saved)
