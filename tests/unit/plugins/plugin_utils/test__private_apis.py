# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One test per private ansible-core API that the in-process layer uses (listed in the docstrings of
plugins/plugin_utils/_action.py and _in_process.py). Each fails with a message that names the API, so that the
job on the newest ansible-core says what changed rather than failing somewhere in a module test."""

from __future__ import annotations

import inspect
import json
import sys
from types import SimpleNamespace

import pytest

from ansible import constants as C
from ansible.inventory.data import InventoryData
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.arg_spec import ModuleArgumentSpecValidator
from ansible.playbook.play_context import PlayContext
from ansible.playbook.task import Task
from ansible.plugins import action as action_package
from ansible.plugins.action import ActionBase
from ansible.plugins.loader import connection_loader
from ansible.vars import manager as variable_manager

from ansible_collections.cloudflare.pcap.plugins.plugin_utils import _action, _in_process
from ansible_collections.cloudflare.pcap.tests.unit import helpers

CHANGED = 'ansible-core changed %s, which plugins/plugin_utils/%s relies on: '


def parameters(function):
    return list(inspect.signature(function).parameters)


def test_validation_result_no_log_values():
    api = CHANGED % ('ValidationResult._no_log_values', '_in_process.py')
    result = ModuleArgumentSpecValidator({'secret': {'type': 'str', 'no_log': True}}).validate({'secret': 's3cr3t'})
    assert hasattr(result, '_no_log_values'), api + 'the attribute is gone'
    assert 's3cr3t' in result._no_log_values, api + 'it no longer holds the no_log values'


@pytest.mark.parametrize('requested', [False, True])
def test_pass_vars_inject_invocation(requested, capsys):
    api = CHANGED % ("'inject_invocation' in PASS_VARS (_ansible_inject_invocation)", '_in_process.py')
    args = {'_ansible_inject_invocation': True} if requested else {}
    if requested and not _in_process.INVOCATION_ON_REQUEST:
        args = {}  # before ansible-core 2.21 the controller never sends it, and AnsibleModule would refuse it
    with helpers.module_args(args), helpers.as_module_process():
        with pytest.raises(SystemExit):
            AnsibleModule(argument_spec={}).exit_json(changed=False)
    result = json.loads(capsys.readouterr().out)
    expected = requested or not _in_process.INVOCATION_ON_REQUEST
    assert ('invocation' in result) is expected, api + (
        'AnsibleModule %s invocation although INVOCATION_ON_REQUEST is %s and it was %srequested'
        % ('adds' if 'invocation' in result else 'does not add', _in_process.INVOCATION_ON_REQUEST,
           '' if requested else 'not '))


def test_inject_invocation_config():
    api = CHANGED % ('the config INJECT_INVOCATION (ansible_inject_invocation)', '_action.py')
    if not _in_process.INVOCATION_ON_REQUEST:
        return  # ansible-core < 2.21: no such config, _action.py does not read it
    assert C.config.get_config_value('INJECT_INVOCATION', variables={}) is False, api + 'its default is no longer false'
    assert C.config.get_config_value('INJECT_INVOCATION', variables={'ansible_inject_invocation': True}) is True, \
        api + 'the variable ansible_inject_invocation no longer sets it'


def test_interpreter_python_config():
    api = CHANGED % ('the config INTERPRETER_PYTHON (ansible_python_interpreter)', '_action.py')
    value = C.config.get_config_value('INTERPRETER_PYTHON', variables={'ansible_python_interpreter': '/x/python'})
    assert value == '/x/python', api + 'the variable no longer sets it'
    assert C.config.get_config_value('INTERPRETER_PYTHON', variables={}).startswith('auto'), \
        api + 'its default is no longer a discovery mode (auto...)'


def test_action_base_compute_environment_string():
    api = CHANGED % ('ActionBase._compute_environment_string(raw_environment_out)', '_action.py')
    assert parameters(ActionBase._compute_environment_string)[1:2] == ['raw_environment_out'], api + 'its signature'
    task = SimpleNamespace(environment=[{'CLOUDFLARE_API_TOKEN': 'from-the-task'}, {'OTHER': '1'}])
    connection = SimpleNamespace(_shell=SimpleNamespace(env_prefix=lambda **env: ''))
    subject = _action.PcapAction(task, connection, SimpleNamespace(), None,
                                 SimpleNamespace(template=lambda value, **kwargs: value), None)
    environment = {}
    subject._compute_environment_string(environment)
    assert environment == {'CLOUDFLARE_API_TOKEN': 'from-the-task', 'OTHER': '1'}, \
        api + 'it no longer fills raw_environment_out with the task environment'


def test_action_base_execute_module_and_remove_tmp_path():
    assert {'task_vars', 'wrap_async'} <= set(parameters(ActionBase._execute_module)), \
        CHANGED % ('ActionBase._execute_module(task_vars=, wrap_async=)', '_action.py') + 'its signature'
    assert parameters(ActionBase._remove_tmp_path)[1:2] == ['tmp_path'], \
        CHANGED % ('ActionBase._remove_tmp_path(tmp_path)', '_action.py') + 'its signature'


def test_local_connection_shell_tmpdir_transport_and_async():
    connection = connection_loader.get('local', PlayContext())
    api = CHANGED % ('the local connection (_shell.tmpdir, transport, has_native_async)', '_action.py')
    assert connection._shell.tmpdir is None, api + '_connection._shell.tmpdir is gone or not None before a module ran'
    assert connection.transport == 'local', api + 'transport is no longer "local"'
    assert connection.has_native_async is False, api + 'has_native_async'


def test_task_and_play_context_attributes():
    task = Task()
    api = CHANGED % ('Task and PlayContext attributes', '_action.py')
    for name in ('async_val', 'check_mode', 'delegate_to', 'environment', 'args', 'action'):
        assert hasattr(task, name), api + 'Task.%s is gone' % name
    assert hasattr(PlayContext(), 'become'), api + 'PlayContext.become is gone'


def test_discovered_interpreter_fact():
    api = CHANGED % ('the fact discovered_interpreter_python that ActionBase records after discovery', '_action.py')
    assert "'discovered_interpreter_%s'" in inspect.getsource(action_package), api + 'its name'
    assert _action.DISCOVERED_FACT == 'discovered_interpreter_python'


def test_ansible_delegated_vars():
    api = CHANGED % ('ansible_delegated_vars, the delegated host\'s variables in task_vars', '_action.py')
    assert "'ansible_delegated_vars'" in inspect.getsource(variable_manager), api + 'its name'


def test_implicit_localhost_runs_the_controller_python():
    api = CHANGED % ('the implicit localhost\'s ansible_python_interpreter (sys.executable)', '_action.py')
    host = InventoryData().get_host('localhost')
    assert host is not None and host.implicit, api + 'there is no implicit localhost'
    assert host.get_vars().get('ansible_python_interpreter') == sys.executable, \
        api + 'it is no longer sys.executable, so every localhost task would run as a module'
