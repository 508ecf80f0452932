# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A module run in-process by its action plugin gives exactly what it gives run as a module: these compare whole
task results both ways (the integration target where_modules_run compares real playbook runs through AnsiballZ),
and check what running in the worker process must not change: censored secrets, the process's own state."""

from __future__ import annotations

import json
import os
import sys

import pytest

from ansible.module_utils import basic
from ansible.module_utils.common import warnings as module_warnings
from ansible.module_utils.common.parameters import PASS_VARS

from ansible_collections.cloudflare.pcap.plugins.modules import capture_info
from ansible_collections.cloudflare.pcap.plugins.plugin_utils import _action
from ansible_collections.cloudflare.pcap.tests.unit.helpers import CAPTURE_ID, TOKEN, Reply, envelope, warning_texts
from ansible_collections.cloudflare.pcap.tests.unit.plugins.plugin_utils.action_helpers import as_module, in_process

CAPTURE = {'id': CAPTURE_ID, 'status': 'success', 'type': 'simple', 'system': 'magic-transit', 'time_limit': 60,
           'packet_limit': 2}
PCAP = bytes.fromhex('d4c3b2a1020004000000000000000000ffff000001000000')  # libpcap header, no packets

# ansible-core 2.21+ sends _ansible_inject_invocation (the variable ansible_inject_invocation); before, AnsibleModule
# always adds the invocation.
INVOCATION_ON_REQUEST = 'inject_invocation' in PASS_VARS


def both_ways(stub_api, capsys, module_name, args, replies, check_mode=False, task_vars=None):
    """The task result of the module run as a module, and run in-process by its action plugin."""
    results = []
    for run in ('as a module', 'in-process'):
        stub_api.add(*replies)
        if run == 'as a module':
            result = as_module(module_name, args, capsys, check_mode=check_mode, task_vars=task_vars)
        else:
            result = in_process(module_name, args, check_mode=check_mode, task_vars=task_vars)
        results.append(result)
    return results


@pytest.mark.parametrize('case', [
    'created', 'check mode', 'bad bound', 'unknown option', 'wrong type', 'api error', 'no credentials', 'warning',
    'no account', 'both credentials', 'cleartext refused', 'cleartext allowed', 'invocation requested',
    'invocation requested, failure',
])
def test_capture_request_results_are_identical(case, monkeypatch, stub_api, connection_args, capsys):
    args = dict(connection_args, time_limit=60, packet_limit=100)
    replies = [Reply(200, envelope([])), Reply(200, envelope(dict(CAPTURE, status='pending')))]
    check_mode = case == 'check mode'
    if check_mode:
        replies = replies[:1]  # check mode reads the capture list, and creates nothing
    task_vars = {}
    if case.startswith('invocation requested'):
        task_vars['ansible_inject_invocation'] = True
        if case.endswith('failure'):
            args['time_limit'] = 301
    elif case == 'no account':
        del args['account_id']
    elif case == 'both credentials':
        monkeypatch.setenv('CLOUDFLARE_EMAIL', 'soc@example.com')
    elif case.startswith('cleartext'):
        # Plain http:// to another host: through a proxy (the stub), so that an allowed request is really sent.
        monkeypatch.setenv('HTTP_PROXY', stub_api.base_url.rsplit('/client/v4', 1)[0])
        monkeypatch.delenv('NO_PROXY', raising=False)
        monkeypatch.delenv('no_proxy', raising=False)
        args['base_url'] = 'http://pcap-test.example/client/v4'
        args['allow_insecure_http'] = case == 'cleartext allowed'
    elif case == 'bad bound':
        args['time_limit'] = 301
    elif case == 'unknown option':
        args['bogus'] = 1
    elif case == 'wrong type':
        args['packet_limit'] = 'many'
    elif case == 'api error':
        replies = [Reply(403, envelope(None, False, [{'code': 10000, 'message': 'Authentication error'}]))]
    elif case == 'no credentials':
        del args['api_token']
    elif case == 'warning':
        args['validate_certs'] = False
    as_a_module, in_process_result = both_ways(stub_api, capsys, 'capture_request', args, replies,
                                               check_mode=check_mode, task_vars=task_vars)
    assert as_a_module == in_process_result
    assert TOKEN not in json.dumps(in_process_result, default=repr)
    if case.startswith('invocation requested') or not INVOCATION_ON_REQUEST:
        assert in_process_result['invocation']['module_args']['api_token'] == (
            None if case == 'no credentials' else 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER')
    else:
        assert 'invocation' not in in_process_result
    failed, msg = in_process_result.get('failed', False), in_process_result.get('msg', '')
    if case == 'no account':
        assert failed and msg == 'missing required arguments: account_id'
    elif case == 'both credentials':
        assert failed and msg == 'parameters are mutually exclusive: api_token|api_email'
    elif case == 'unknown option':
        assert failed and msg.startswith('Unsupported parameters for (cloudflare.pcap.capture_request) module: bogus')
    elif case == 'check mode':
        assert not failed and in_process_result['changed'] is True and 'id' not in in_process_result
    elif case == 'warning':
        assert warning_texts(in_process_result)[0].startswith('validate_certs=false')
    elif case == 'cleartext refused':
        assert failed and msg.startswith('base_url: plain http:// to pcap-test.example would send')
    elif case == 'cleartext allowed':
        assert not failed and warning_texts(in_process_result)[0].startswith('allow_insecure_http=true')
        paths = [request['path'] for request in stub_api.requests]
        assert len(paths) == 4 and all(path.startswith('http://pcap-test.example/client/v4/') for path in paths), paths
    if case in ('no account', 'both credentials', 'cleartext refused', 'check mode'):
        assert [request['method'] for request in stub_api.requests if request['method'] != 'GET'] == []
    if case in ('no account', 'both credentials', 'cleartext refused'):
        assert not stub_api.requests  # refused before anything is sent, both ways


def test_capture_download_results_are_identical_with_file_attributes(stub_api, connection_args, capsys, tmp_path):
    args = dict(connection_args, id=CAPTURE_ID, dest=str(tmp_path) + '/', force=True)
    first, second = both_ways(stub_api, capsys, 'capture_download', args, [
        Reply(200, envelope(CAPTURE)), Reply(200, PCAP, {'Content-Type': 'application/vnd.tcpdump.pcap'}, kind='raw'),
    ])
    assert first == second
    assert first['state'] == 'file' and first['mode'] == '0600' and first['size'] == len(PCAP)
    assert first['uid'] == os.getuid()


def test_check_mode_download_says_dest_is_absent(stub_api, connection_args, capsys, tmp_path):
    args = dict(connection_args, id=CAPTURE_ID, dest=str(tmp_path / 'new.pcap'))
    as_a_module, in_process_result = both_ways(stub_api, capsys, 'capture_download', args,
                                               [Reply(200, envelope(CAPTURE))], check_mode=True)
    assert as_a_module == in_process_result
    assert in_process_result['state'] == 'absent' and in_process_result['changed'] is True


def test_capture_summary_results_are_identical(stub_api, capsys, tmp_path):
    path = tmp_path / 'empty.pcap'
    path.write_bytes(PCAP)
    as_a_module, in_process_result = both_ways(stub_api, capsys, 'capture_summary_info', {'path': str(path)}, [])
    assert as_a_module == in_process_result
    assert in_process_result['packets'] == 0 and 'owner' not in in_process_result


def test_secrets_are_censored_wherever_they_appear(stub_api, connection_args):
    # Cloudflare echoing the token in an error message must not bring it into the result.
    stub_api.add(Reply(400, envelope(None, False, [{'code': 1, 'message': 'bad token %s' % TOKEN}])))
    result = in_process('capture_info', dict(connection_args, id=CAPTURE_ID), task_vars={'ansible_inject_invocation': True})
    assert result['failed'] is True
    assert TOKEN not in json.dumps(result, default=repr)
    assert result['invocation']['module_args']['api_token'] == 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'


def test_each_run_has_its_own_warnings(stub_api, connection_args):
    # A task with a loop runs the action plugin once per item in the same worker process; a module collects its
    # warnings for its whole process (before ansible-core 2.19), so each run starts without the earlier ones.
    for _item in range(2):
        stub_api.add(Reply(200, envelope(CAPTURE)))
        result = in_process('capture_info', dict(connection_args, id=CAPTURE_ID, validate_certs=False))
        assert len(warning_texts(result)) == 1 and warning_texts(result)[0].startswith('validate_certs=false')


def test_the_worker_process_is_left_as_it_was(stub_api, connection_args):
    saved = (basic._ANSIBLE_ARGS, getattr(basic, '_ANSIBLE_PROFILE', None), module_warnings._global_warnings,
             module_warnings._global_deprecations, sys.stdout)
    stub_api.add(Reply(200, envelope(CAPTURE)))
    assert in_process('capture_info', dict(connection_args, id=CAPTURE_ID))['found'] is True
    assert saved == (basic._ANSIBLE_ARGS, getattr(basic, '_ANSIBLE_PROFILE', None), module_warnings._global_warnings,
                     module_warnings._global_deprecations, sys.stdout)


def test_a_module_that_ends_without_a_result_fails_like_a_module(monkeypatch, connection_args):
    # A module's process that prints nothing: ActionBase reports that it could not read a result.
    monkeypatch.setattr(capture_info, 'main', lambda: None)
    result = in_process('capture_info', dict(connection_args, id=CAPTURE_ID))
    assert result['failed'] is True and result.get('_ansible_parsed', False) is False, result  # no key from 2.21.5
    assert 'Module result deserialization failed' in result['msg'] or 'MODULE FAILURE' in result['msg'], result


def test_an_exception_of_the_module_fails_the_task_with_it(monkeypatch, connection_args):
    def broken():
        raise ValueError('a bug of the module')

    monkeypatch.setattr(capture_info, 'main', broken)
    with pytest.raises(ValueError, match='a bug of the module'):
        in_process('capture_info', dict(connection_args, id=CAPTURE_ID))


def test_runs_the_modules_of_the_collection_only(monkeypatch):
    imported = []
    real_import = _action.importlib.import_module

    def recording_import(name, *args):
        imported.append(name)
        return real_import(name, *args)

    monkeypatch.setattr(_action.importlib, 'import_module', recording_import)
    assert _action.module_code('capture_info') is capture_info
    assert imported == ['ansible_collections.cloudflare.pcap.plugins.modules.capture_info']
    with pytest.raises(ImportError):
        _action.module_code('ping')
