# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PcapAction.run() with real ansible-core objects (Task, PlayContext, the local connection, Templar): what the
task says (check mode, arguments, environment, async) reaches the module, in-process and as a module; and the same
tasks run both ways, the module way through AnsiballZ and a new Python as ansible-playbook runs it."""

from __future__ import annotations

import os

import pytest

from ansible.plugins import loader as plugin_loader
from ansible.utils.collection_loader import AnsibleCollectionConfig

try:
    from ansible.template import trust_as_template  # ansible-core 2.19+: only trusted strings are templated
except ImportError:
    def trust_as_template(value):
        return value

from ansible_collections.cloudflare.pcap.plugins.plugin_utils import _action
from ansible_collections.cloudflare.pcap.tests.unit.helpers import ACCOUNT_ID, CAPTURE_ID, TOKEN, Reply, envelope, warning_texts
from ansible_collections.cloudflare.pcap.tests.unit.plugins.plugin_utils.action_helpers import (
    IMPLICIT_LOCALHOST,
    executor_warnings,
    real_action,
)

CAPTURE = {'id': CAPTURE_ID, 'status': 'pending', 'type': 'simple', 'system': 'magic-transit', 'time_limit': 60,
           'packet_limit': 100}
PCAP = bytes.fromhex('d4c3b2a1020004000000000000000000ffff000001000000')  # libpcap header, no packets


def request_args(stub_api, **extra):
    return dict(dict(account_id=ACCOUNT_ID, base_url=stub_api.base_url, time_limit=60, packet_limit=100), **extra)


def test_check_mode_reaches_the_module_and_nothing_is_created(stub_api):
    stub_api.add(Reply(200, envelope([])))
    result = real_action('capture_request', request_args(stub_api, api_token=TOKEN), check_mode=True).run(
        task_vars=IMPLICIT_LOCALHOST)
    assert result['changed'] is True and 'id' not in result, result
    assert result['request'] == {'type': 'simple', 'system': 'magic-transit', 'time_limit': 60, 'packet_limit': 100}
    assert [request['method'] for request in stub_api.requests if request['method'] != 'GET'] == []


def test_without_check_mode_the_capture_is_requested(stub_api):
    stub_api.add(Reply(200, envelope([])), Reply(200, envelope(CAPTURE)))
    result = real_action('capture_request', request_args(stub_api, api_token=TOKEN)).run(task_vars=IMPLICIT_LOCALHOST)
    assert result['changed'] is True and result['id'] == CAPTURE_ID, result
    assert [request['method'] for request in stub_api.requests] == ['GET', 'POST']
    assert stub_api.requests[1]['body']['packet_limit'] == 100


def test_the_task_environment_supplies_the_credentials(stub_api, monkeypatch):
    monkeypatch.delenv('CLOUDFLARE_API_TOKEN', raising=False)
    stub_api.add(Reply(200, envelope(CAPTURE)))
    subject = real_action('capture_info', dict(account_id=ACCOUNT_ID, base_url=stub_api.base_url, id=CAPTURE_ID),
                          environment=[{'CLOUDFLARE_API_TOKEN': TOKEN}])
    result = subject.run(task_vars=IMPLICIT_LOCALHOST)
    assert not result.get('failed'), result
    assert stub_api.requests[0]['headers']['Authorization'] == 'Bearer %s' % TOKEN
    assert 'CLOUDFLARE_API_TOKEN' not in os.environ


def test_failures_come_back_as_the_task_result(stub_api):
    result = real_action('capture_request', request_args(stub_api, api_token=TOKEN, time_limit=301)).run(
        task_vars=IMPLICIT_LOCALHOST)
    assert result['failed'] is True and result['msg'].startswith('time_limit: must be between 1 and 300')
    assert not stub_api.requests


def test_inject_invocation_is_honoured_where_ansible_core_has_it(stub_api):
    stub_api.add(Reply(200, envelope(CAPTURE)))
    subject = real_action('capture_info', dict(account_id=ACCOUNT_ID, base_url=stub_api.base_url, id=CAPTURE_ID,
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
    subject = real_action('capture_info', dict(account_id=ACCOUNT_ID, base_url=stub_api.base_url, id=CAPTURE_ID))
    module_run = ModuleRun(monkeypatch, subject)
    task_vars = dict(IMPLICIT_LOCALHOST, cloudflare_pcap_in_process=trust_as_template('{{ 1 > 2 }}'))
    result = subject.run(task_vars=task_vars)
    assert result['ran_as'] == 'module'
    assert module_run.calls == [{'task_vars': task_vars, 'wrap_async': False}]
    assert len(module_run.removed) == 1  # the module's temporary folder, as ansible-core's normal action removes it
    assert not stub_api.requests


def test_async_runs_the_module_wrapped_and_keeps_its_folder(stub_api, monkeypatch):
    subject = real_action('capture_info', dict(account_id=ACCOUNT_ID, base_url=stub_api.base_url, id=CAPTURE_ID),
                          async_val=60)
    module_run = ModuleRun(monkeypatch, subject)
    assert subject.run(task_vars=IMPLICIT_LOCALHOST)['ran_as'] == 'module'
    assert module_run.calls[0]['wrap_async'] is True  # the local connection has no native async
    assert module_run.removed == []  # the async wrapper removes it when the job ends


@pytest.mark.parametrize('interpreter', ['/opt/other/bin/python3', 'auto'])
def test_another_python_runs_the_module(stub_api, monkeypatch, interpreter):
    subject = real_action('capture_info', dict(account_id=ACCOUNT_ID, base_url=stub_api.base_url, id=CAPTURE_ID))
    module_run = ModuleRun(monkeypatch, subject)
    assert subject.run(task_vars={'ansible_python_interpreter': interpreter})['ran_as'] == 'module'
    assert len(module_run.calls) == 1


def test_the_in_process_decision_is_logged(stub_api, monkeypatch):
    messages = []
    monkeypatch.setattr(_action.display, 'vvv', lambda msg, host=None: messages.append(msg))
    stub_api.add(Reply(200, envelope(CAPTURE)))
    real_action('capture_info', dict(account_id=ACCOUNT_ID, base_url=stub_api.base_url, id=CAPTURE_ID,
                                     api_token=TOKEN)).run(task_vars=IMPLICIT_LOCALHOST)
    assert messages == ['cloudflare.pcap.capture_info runs in-process on the controller']


@pytest.fixture
def module_loader():
    """ansible-core finds a module by its name with its collection loader, which ansible-test units installs before
    the collection is imported; a plain pytest run imports it without, and cannot run a module as a module."""
    if AnsibleCollectionConfig.collection_finder is None:
        pytest.skip('needs the collection loader of ansible-test units (nox -t units)')
    return plugin_loader


def both_ways_for_real(loader, module_name, args, check_mode=False):
    """The task result of PcapAction.run() for a localhost task: in-process, and with the opt-out as a module
    through AnsiballZ in a new Python."""
    results = []
    for in_process in (True, False):
        subject = real_action(module_name, args, check_mode=check_mode)
        subject._shared_loader_obj = loader
        with executor_warnings() as as_the_executor_returns_it:
            results.append(as_the_executor_returns_it(subject.run(task_vars=dict(IMPLICIT_LOCALHOST, cloudflare_pcap_in_process=in_process))))
    return results


def test_a_file_summary_is_the_same_both_ways(module_loader, tmp_path):
    path = tmp_path / 'empty.pcap'
    path.write_bytes(PCAP)
    in_process, as_module = both_ways_for_real(module_loader, 'capture_summary_info', {'path': str(path)}, check_mode=True)
    assert in_process == as_module
    assert in_process['packets'] == 0 and in_process['changed'] is False


def test_a_failure_with_a_warning_is_the_same_both_ways(module_loader, stub_api):
    args = dict(account_id=ACCOUNT_ID, base_url=stub_api.base_url, api_token=TOKEN, id=CAPTURE_ID, validate_certs=False)
    stub_api.add(Reply(403, envelope(None, False, [{'code': 10000, 'message': 'Authentication error'}])),
                 Reply(403, envelope(None, False, [{'code': 10000, 'message': 'Authentication error'}])))
    in_process, as_module = both_ways_for_real(module_loader, 'capture_info', args)
    assert in_process == as_module
    assert in_process['failed'] is True and in_process['status_code'] == 403
    assert warning_texts(in_process)[0].startswith('validate_certs=false')
    assert len(stub_api.requests) == 2
