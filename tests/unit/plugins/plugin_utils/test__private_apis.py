# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One test per private ansible-core API that the action plugins use (listed in the docstring of
plugins/plugin_utils/_action.py). Each fails with a message that names the API, so that the job on the newest
ansible-core says what changed rather than failing somewhere in a module test."""

from __future__ import annotations

import ast
import glob
import inspect
import json
import os
import sys
from types import SimpleNamespace

import pytest

from ansible import constants as C
from ansible.inventory.data import InventoryData
from ansible.module_utils import basic
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common import warnings as module_warnings
from ansible.playbook.play_context import PlayContext
from ansible.playbook.task import Task
from ansible.plugins import action as action_package
from ansible.plugins.action import ActionBase
from ansible.plugins.loader import connection_loader
from ansible.vars import manager as variable_manager

from ansible_collections.cloudflare.pcap.plugins.plugin_utils import _action
from ansible_collections.cloudflare.pcap.tests.unit import helpers
from ansible_collections.cloudflare.pcap.tests.unit.plugins.plugin_utils.action_helpers import real_action

CHANGED = 'ansible-core changed %s, which plugins/plugin_utils/_action.py relies on: '


def parameters(function):
    return list(inspect.signature(function).parameters)


def test_action_base_update_module_args():
    api = CHANGED % 'ActionBase._update_module_args(module_name, module_args, task_vars)'
    assert parameters(ActionBase._update_module_args)[1:4] == ['module_name', 'module_args', 'task_vars'], \
        api + 'its signature'
    module_args = {'id': 'x'}
    subject = real_action('capture_info', {}, check_mode=True)
    subject._update_module_args('cloudflare.pcap.capture_info', module_args, {'ansible_inject_invocation': True})
    assert module_args['_ansible_check_mode'] is True and module_args['_ansible_module_name'] == \
        'cloudflare.pcap.capture_info', api + 'it no longer adds _ansible_check_mode and _ansible_module_name'
    if 'inject_invocation' in basic.PASS_VARS:  # ansible-core 2.21+
        assert module_args['_ansible_inject_invocation'] is True, \
            api + 'it no longer adds _ansible_inject_invocation from the variable ansible_inject_invocation'


def test_action_base_parse_returned_data_and_remove_internal_keys():
    api = CHANGED % 'ActionBase._parse_returned_data(res[, profile]) and remove_internal_keys'
    expected = ['res', 'profile'] if _action.PROFILE else ['res']
    assert parameters(ActionBase._parse_returned_data)[1:] == expected, api + 'its signature'
    stdout = 'noise before the result\n{"changed": false, "msg": "done", "_ansible_no_log": false}\n'
    result = real_action('capture_info', {})._read_module_output(0, stdout)
    # 2.21.5 returns failed=false and no longer _ansible_parsed; earlier releases the reverse.
    read = dict(result)
    assert read.pop('_ansible_parsed', True) is True and read.pop('failed', False) is False, \
        api + 'a module\'s output no longer reads as %r' % (result,)
    assert read == {'changed': False, 'msg': 'done'}, api + 'a module\'s output no longer reads as %r' % (result,)


def test_module_args_where_ansiballz_puts_them(capsys):
    api = CHANGED % 'ansible.module_utils.basic._ANSIBLE_ARGS / _ANSIBLE_PROFILE'
    assert hasattr(basic, '_ANSIBLE_ARGS'), api + '_ANSIBLE_ARGS is gone'
    if _action.PROFILE:
        assert hasattr(basic, '_ANSIBLE_PROFILE'), api + '_ANSIBLE_PROFILE is gone'
    with _action.as_module_process({'name': 'x', '_ansible_module_name': 'probe'}) as output:
        with pytest.raises(SystemExit), helpers.as_module_process():
            probe = AnsibleModule(argument_spec={'name': {'type': 'str'}})
            probe.exit_json(changed=False, name=probe.params['name'], module_name=probe._name)
    result = json.loads(output.getvalue())
    assert (result['name'], result['module_name']) == ('x', 'probe'), \
        api + 'AnsibleModule no longer reads its arguments from there: %r' % (result,)


@pytest.mark.parametrize('path', sorted(glob.glob(os.path.join(os.path.dirname(_action.__file__), '..', 'modules', '*.py'))),
                         ids=os.path.basename)
def test_modules_have_the_legacy_serialization_profile(path):
    from ansible.executor import module_common
    api = CHANGED % 'the serialization profile of a module without METADATA (module_common._get_module_metadata)'
    if not _action.PROFILE:  # before ansible-core 2.19: no profiles, arguments and results are plain JSON
        assert not hasattr(module_common, '_get_module_metadata'), api + 'it has serialization profiles now'
        return
    with open(path) as source:
        metadata = module_common._get_module_metadata(ast.parse(source.read()))
    assert metadata.serialization_profile == _action.PROFILE, api + 'it is %s' % metadata.serialization_profile


def test_module_warnings_globals():
    api = CHANGED % 'ansible.module_utils.common.warnings._global_warnings / _global_deprecations'
    for name in ('_global_warnings', '_global_deprecations'):
        assert isinstance(getattr(module_warnings, name, None), (list, dict)), api + '%s is gone' % name
    with _action.as_module_process({}), helpers.as_module_process():
        module_warnings.warn('probe')
        assert len(module_warnings._global_warnings) == 1, api + 'warnings are no longer collected there'


def test_interpreter_python_config():
    api = CHANGED % 'the config INTERPRETER_PYTHON (ansible_python_interpreter)'
    value = C.config.get_config_value('INTERPRETER_PYTHON', variables={'ansible_python_interpreter': '/x/python'})
    assert value == '/x/python', api + 'the variable no longer sets it'
    assert C.config.get_config_value('INTERPRETER_PYTHON', variables={}).startswith('auto'), \
        api + 'its default is no longer a discovery mode (auto...)'


def test_action_base_compute_environment_string():
    api = CHANGED % 'ActionBase._compute_environment_string(raw_environment_out)'
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
        CHANGED % 'ActionBase._execute_module(task_vars=, wrap_async=)' + 'its signature'
    assert parameters(ActionBase._remove_tmp_path)[1:2] == ['tmp_path'], \
        CHANGED % 'ActionBase._remove_tmp_path(tmp_path)' + 'its signature'


def test_local_connection_shell_tmpdir_transport_and_async():
    connection = connection_loader.get('local', PlayContext())
    api = CHANGED % 'the local connection (_shell.tmpdir, transport, has_native_async)'
    assert connection._shell.tmpdir is None, api + '_connection._shell.tmpdir is gone or not None before a module ran'
    assert connection.transport == 'local', api + 'transport is no longer "local"'
    assert connection.has_native_async is False, api + 'has_native_async'


def test_task_and_play_context_attributes():
    task = Task()
    api = CHANGED % 'Task and PlayContext attributes'
    for name in ('async_val', 'check_mode', 'delegate_to', 'environment', 'args', 'action'):
        assert hasattr(task, name), api + 'Task.%s is gone' % name
    assert hasattr(PlayContext(), 'become'), api + 'PlayContext.become is gone'


def test_discovered_interpreter_fact():
    api = CHANGED % 'the fact discovered_interpreter_python that ActionBase records after discovery'
    assert "'discovered_interpreter_%s'" in inspect.getsource(action_package), api + 'its name'
    assert _action.DISCOVERED_FACT == 'discovered_interpreter_python'


def test_ansible_delegated_vars():
    api = CHANGED % 'ansible_delegated_vars, the delegated host\'s variables in task_vars'
    assert "'ansible_delegated_vars'" in inspect.getsource(variable_manager), api + 'its name'


def test_implicit_localhost_runs_the_controller_python():
    api = CHANGED % 'the implicit localhost\'s ansible_python_interpreter (sys.executable)'
    host = InventoryData().get_host('localhost')
    assert host is not None and host.implicit, api + 'there is no implicit localhost'
    assert host.get_vars().get('ansible_python_interpreter') == sys.executable, \
        api + 'it is no longer sys.executable, so every localhost task would run as a module'
