# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Running the action plugins with real ansible-core objects (Task, PlayContext, the local connection, Templar),
and a module's main() the way ActionBase runs a module and reads its output, to compare the two."""

from __future__ import annotations

import contextlib
import importlib
import sys

import pytest

from ansible.parsing.dataloader import DataLoader
from ansible.playbook.play_context import PlayContext
from ansible.playbook.task import Task
from ansible.plugins.loader import connection_loader
from ansible.template import Templar

try:  # ansible-core 2.19+: warnings displayed while a task runs are returned with its result by the task executor
    from ansible._internal._display_utils import DeferredWarningContext
except ImportError:
    DeferredWarningContext = None

from ansible_collections.cloudflare.pcap.plugins.plugin_utils import _action
from ansible_collections.cloudflare.pcap.tests.unit import helpers

IMPLICIT_LOCALHOST = {'ansible_python_interpreter': sys.executable}


def real_action(module_name, args, check_mode=False, environment=None, async_val=0):
    """The action plugin of `module_name` as the task executor builds it for a localhost task."""
    plugin = importlib.import_module('ansible_collections.cloudflare.pcap.plugins.action.' + module_name)
    task = Task()
    task.action = 'cloudflare.pcap.%s' % module_name
    task.args = dict(args)
    task.check_mode = check_mode
    task.environment = environment
    task.async_val = async_val
    play_context = PlayContext()
    connection = connection_loader.get('local', play_context)
    loader = DataLoader()
    return plugin.ActionModule(task, connection, play_context, loader, Templar(loader=loader), None)


@contextlib.contextmanager
def executor_warnings():
    """Yields a function that makes a task result what the task executor of ansible-core 2.19+ returns: the
    warnings and deprecations of the result together with those displayed meanwhile, each once (the executor
    captures both into one DeferredWarningContext, which keeps the first of equal ones); an empty list is no list.
    From 2.21 a result read while the context is open already carries the displayed ones; before 2.19, AnsibleModule
    returns them in the result itself."""
    if DeferredWarningContext is None:
        yield lambda result: result
        return
    with DeferredWarningContext(variables={}) as context:
        def as_the_executor_returns_it(result):
            for key, displayed in (('warnings', context.get_warnings()),
                                   ('deprecations', context.get_deprecation_warnings())):
                merged = []
                for item in list(result.get(key) or []) + list(displayed):
                    if item not in merged:
                        merged.append(item)
                if merged:
                    result[key] = merged
                else:
                    result.pop(key, None)
            return result
        yield as_the_executor_returns_it


def in_process(module_name, args, check_mode=False, task_vars=None, environment=None):
    """The task result of PcapAction.run() for a localhost task, which runs the module in-process."""
    action = real_action(module_name, args, check_mode=check_mode, environment=environment)
    with executor_warnings() as as_the_executor_returns_it:
        return as_the_executor_returns_it(action.run(task_vars=dict(IMPLICIT_LOCALHOST, **(task_vars or {}))))


def as_module(module_name, args, capsys, check_mode=False, task_vars=None):
    """The result of a module run as ActionBase._execute_module makes it: the arguments it sends (with
    _update_module_args), the module's main() in a module's process (emulated), its output read with
    _parse_returned_data."""
    action = real_action(module_name, args, check_mode=check_mode)
    module_args = dict(args)
    action._update_module_args(action._task.action, module_args, dict(IMPLICIT_LOCALHOST, **(task_vars or {})))
    main = _action.module_code(module_name).main
    with helpers.module_args(module_args), helpers.as_module_process():
        with pytest.raises(SystemExit) as exited:
            main()
    with executor_warnings() as as_the_executor_returns_it:
        return as_the_executor_returns_it(action._read_module_output(exited.value.code, capsys.readouterr().out))
