# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PcapAction.run() with real ansible-core objects (Task, PlayContext, the local connection, Templar): what the
task says (check mode, arguments, environment, async) reaches the module, in-process and as a module."""

from __future__ import annotations

import os
import sys

import pytest

from ansible.parsing.dataloader import DataLoader
from ansible.playbook.play_context import PlayContext
from ansible.playbook.task import Task
from ansible.plugins.loader import connection_loader
from ansible.template import Templar

try:
    from ansible.template import trust_as_template  # ansible-core 2.19+: only trusted strings are templated
except ImportError:
    def trust_as_template(value):
        return value

from ansible_collections.cloudflare.pcap.plugins.action import capture_info, capture_request
from ansible_collections.cloudflare.pcap.plugins.plugin_utils import _action
from ansible_collections.cloudflare.pcap.tests.unit.helpers import ACCOUNT_ID, CAPTURE_ID, TOKEN, Reply, envelope

CAPTURE = {'id': CAPTURE_ID, 'status': 'pending', 'type': 'simple', 'system': 'magic-transit', 'time_limit': 60,
           'packet_limit': 100}
IMPLICIT_LOCALHOST = {'ansible_python_interpreter': sys.executable}


def real_action(plugin, args, check_mode=False, environment=None, async_val=0):
    task = Task()
    task.action = 'cloudflare.pcap.%s' % plugin.ActionModule.MODULE
    task.args = args
    task.check_mode = check_mode
    task.environment = environment
    task.async_val = async_val
    play_context = PlayContext()
    connection = connection_loader.get('local', play_context)
    loader = DataLoader()
    return plugin.ActionModule(task, connection, play_context, loader, Templar(loader=loader), None)


def request_args(stub_api, **extra):
    return dict(dict(account_id=ACCOUNT_ID, base_url=stub_api.base_url, time_limit=60, packet_limit=100), **extra)


def test_check_mode_reaches_the_module_and_nothing_is_created(stub_api):
    stub_api.add(Reply(200, envelope([])))
    result = real_action(capture_request, request_args(stub_api, api_token=TOKEN), check_mode=True).run(
        task_vars=IMPLICIT_LOCALHOST)
    assert result['changed'] is True and 'id' not in result, result
    assert result['request'] == {'type': 'simple', 'system': 'magic-transit', 'time_limit': 60, 'packet_limit': 100}
    assert [request['method'] for request in stub_api.requests if request['method'] != 'GET'] == []


def test_without_check_mode_the_capture_is_requested(stub_api):
    stub_api.add(Reply(200, envelope([])), Reply(200, envelope(CAPTURE)))
    result = real_action(capture_request, request_args(stub_api, api_token=TOKEN)).run(task_vars=IMPLICIT_LOCALHOST)
    assert result['changed'] is True and result['id'] == CAPTURE_ID, result
    assert [request['method'] for request in stub_api.requests] == ['GET', 'POST']
    assert stub_api.requests[1]['body']['packet_limit'] == 100


def test_the_task_environment_supplies_the_credentials(stub_api, monkeypatch):
    monkeypatch.delenv('CLOUDFLARE_API_TOKEN', raising=False)
    stub_api.add(Reply(200, envelope(CAPTURE)))
    subject = real_action(capture_info, dict(account_id=ACCOUNT_ID, base_url=stub_api.base_url, id=CAPTURE_ID),
                          environment=[{'CLOUDFLARE_API_TOKEN': TOKEN}])
    result = subject.run(task_vars=IMPLICIT_LOCALHOST)
    assert not result.get('failed'), result
    assert stub_api.requests[0]['headers']['Authorization'] == 'Bearer %s' % TOKEN
    assert 'CLOUDFLARE_API_TOKEN' not in os.environ


def test_failures_come_back_as_the_task_result(stub_api):
    result = real_action(capture_request, request_args(stub_api, api_token=TOKEN, time_limit=301)).run(
        task_vars=IMPLICIT_LOCALHOST)
    assert result['failed'] is True and result['msg'].startswith('time_limit: must be between 1 and 300')
    assert not stub_api.requests


def test_inject_invocation_is_honoured_where_ansible_core_has_it(stub_api):
    stub_api.add(Reply(200, envelope(CAPTURE)))
    subject = real_action(capture_info, dict(account_id=ACCOUNT_ID, base_url=stub_api.base_url, id=CAPTURE_ID,
                                             api_token=TOKEN))
    result = subject.run(task_vars=dict(IMPLICIT_LOCALHOST, ansible_inject_invocation=True))
    # ansible-core 2.21+ adds the invocation when asked; earlier versions always add it.
    assert result['invocation']['module_args']['api_token'] == 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'


class ModuleRun:
    """Stands in for ActionBase._execute_module and _remove_tmp_path: records how the module would run."""

    def __init__(self, monkeypatch, subject):
        self.calls = []
        self.removed = []
        monkeypatch.setattr(subject, '_execute_module', self.execute)
        monkeypatch.setattr(subject, '_remove_tmp_path', self.removed.append)

    def execute(self, **kwargs):
        self.calls.append(kwargs)
        return {'changed': False, 'ran_as': 'module'}


def test_the_opt_out_runs_the_module(stub_api, monkeypatch):
    subject = real_action(capture_info, dict(account_id=ACCOUNT_ID, base_url=stub_api.base_url, id=CAPTURE_ID))
    module_run = ModuleRun(monkeypatch, subject)
    task_vars = dict(IMPLICIT_LOCALHOST, cloudflare_pcap_in_process=trust_as_template('{{ 1 > 2 }}'))
    result = subject.run(task_vars=task_vars)
    assert result['ran_as'] == 'module'
    assert module_run.calls == [{'task_vars': task_vars, 'wrap_async': False}]
    assert len(module_run.removed) == 1  # the module's temporary folder, as ansible-core's normal action removes it
    assert not stub_api.requests


def test_async_runs_the_module_wrapped_and_keeps_its_folder(stub_api, monkeypatch):
    subject = real_action(capture_info, dict(account_id=ACCOUNT_ID, base_url=stub_api.base_url, id=CAPTURE_ID),
                          async_val=60)
    module_run = ModuleRun(monkeypatch, subject)
    assert subject.run(task_vars=IMPLICIT_LOCALHOST)['ran_as'] == 'module'
    assert module_run.calls[0]['wrap_async'] is True  # the local connection has no native async
    assert module_run.removed == []  # the async wrapper removes it when the job ends


@pytest.mark.parametrize('interpreter', ['/opt/other/bin/python3', 'auto'])
def test_another_python_runs_the_module(stub_api, monkeypatch, interpreter):
    subject = real_action(capture_info, dict(account_id=ACCOUNT_ID, base_url=stub_api.base_url, id=CAPTURE_ID))
    module_run = ModuleRun(monkeypatch, subject)
    assert subject.run(task_vars={'ansible_python_interpreter': interpreter})['ran_as'] == 'module'
    assert len(module_run.calls) == 1


def test_the_in_process_decision_is_logged(stub_api, monkeypatch):
    messages = []
    monkeypatch.setattr(_action.display, 'vvv', lambda msg, host=None: messages.append(msg))
    stub_api.add(Reply(200, envelope(CAPTURE)))
    real_action(capture_info, dict(account_id=ACCOUNT_ID, base_url=stub_api.base_url, id=CAPTURE_ID,
                                   api_token=TOKEN)).run(task_vars=IMPLICIT_LOCALHOST)
    assert messages == ['cloudflare.pcap.capture_info runs in-process on the controller']
