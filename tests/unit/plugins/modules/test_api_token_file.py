# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The API token from a file (api_token_file, CLOUDFLARE_API_TOKEN_FILE), through capture_info against a real HTTP
server on loopback: the token is sent, never shown, and a file that cannot be trusted is refused before any request."""

from __future__ import annotations

import json
import re

import pytest
from ansible.module_utils import basic

from ansible_collections.cloudflare.pcap.plugins.module_utils._module import PcapModule
from ansible_collections.cloudflare.pcap.plugins.modules import capture_info
from ansible_collections.cloudflare.pcap.tests.unit.helpers import (
    ACCOUNT_ID, TOKEN, Reply, as_module_process, envelope, module_args, run_module,
)

FILE_TOKEN = 'file-token-0123456789abcdef0123456789abcdef'


def token_file(folder, content=FILE_TOKEN + '\n', mode=0o600):
    path = folder / 'api_token'
    path.write_text(content, encoding='utf-8')
    path.chmod(mode)
    return str(path)


@pytest.fixture
def file_args(stub_api):
    return {'account_id': ACCOUNT_ID, 'base_url': stub_api.base_url, 'retries': 0}


def test_the_token_of_the_file_is_sent_and_never_shown(stub_api, file_args, capsys, tmp_path):
    stub_api.add(Reply(200, envelope([])))
    path = token_file(tmp_path)
    args = dict(file_args, api_token_file=path)
    if 'inject_invocation' in basic.PASS_VARS:  # ansible-core 2.21+ adds the invocation only when the controller asks
        args['_ansible_inject_invocation'] = True
    failed, result = run_module(capture_info.main, args, capsys)
    assert not failed, result
    assert [request['headers'].get('Authorization') for request in stub_api.requests] == ['Bearer ' + FILE_TOKEN]
    assert result['invocation']['module_args']['api_token_file'] == path
    assert result['invocation']['module_args']['api_token'] is None
    assert FILE_TOKEN not in repr(result)


def test_the_environment_names_the_file(stub_api, file_args, capsys, tmp_path, monkeypatch):
    stub_api.add(Reply(200, envelope([])))
    monkeypatch.setenv('CLOUDFLARE_API_TOKEN_FILE', token_file(tmp_path, mode=0o400))
    failed, result = run_module(capture_info.main, file_args, capsys)
    assert not failed, result
    assert [request['headers'].get('Authorization') for request in stub_api.requests] == ['Bearer ' + FILE_TOKEN]


def test_a_failure_after_reading_the_file_censors_the_token(stub_api, file_args, capsys, tmp_path):
    stub_api.add(Reply(403, envelope(None, False, [{'code': 10000, 'message': 'bad token ' + FILE_TOKEN}])))
    failed, result = run_module(capture_info.main, dict(file_args, api_token_file=token_file(tmp_path)), capsys)
    assert failed and len(stub_api.requests) == 1
    assert FILE_TOKEN not in repr(result)


def test_the_token_of_the_file_is_censored_in_anything_the_module_returns(file_args, capsys, tmp_path):
    """As ansible-core censors an option declared no_log: the token never was an option's value."""
    with module_args(dict(file_args, api_token_file=token_file(tmp_path))), as_module_process():
        module = PcapModule(argument_spec={})
        with pytest.raises(SystemExit):
            module.exit_json(changed=False, msg='the token is %s' % FILE_TOKEN, echoed={'token': FILE_TOKEN})
    result = json.loads(capsys.readouterr().out)
    assert result['msg'] == 'the token is ********' and FILE_TOKEN not in repr(result)


@pytest.mark.parametrize('content, mode, message', [
    (FILE_TOKEN, 0o644, r'api_token_file: {path} can be read or written by other users \(mode 0644\); make it '
                        r'readable by its owner alone \(chmod 600\)'),
    (FILE_TOKEN, 0o602, r'api_token_file: {path} can be read or written by other users \(mode 0602\)'),
    ('', 0o600, r'api_token_file: {path} is empty; put the API token in it'),
    ('\n', 0o600, r'api_token_file: {path} is empty'),
    (FILE_TOKEN + ' extra\n', 0o600, r'api_token_file: the token in {path} contains whitespace or control characters'),
    ('t\u00f6ken\n', 0o600, r'api_token_file: {path} holds characters that no API token has \(not ASCII\)'),
], ids=['world-readable', 'world-writable', 'empty', 'only a newline', 'two words', 'not ASCII'])
def test_a_file_that_cannot_be_trusted_is_refused_before_any_request(stub_api, file_args, capsys, tmp_path, content,
                                                                     mode, message):
    path = token_file(tmp_path, content, mode)
    failed, result = run_module(capture_info.main, dict(file_args, api_token_file=path), capsys)
    assert failed
    assert re.match(message.format(path=path), result['msg']), result['msg']
    assert stub_api.requests == []
    assert FILE_TOKEN not in repr(result)


@pytest.mark.parametrize('name, message', [
    ('missing', 'api_token_file: cannot read {path}: No such file or directory'),
    ('', 'api_token_file: {path} is not a regular file'),
], ids=['missing file', 'a directory'])
def test_a_path_that_is_no_token_file_is_refused_before_any_request(stub_api, file_args, capsys, tmp_path, name,
                                                                    message):
    path = str(tmp_path / name) if name else str(tmp_path)
    failed, result = run_module(capture_info.main, dict(file_args, api_token_file=path), capsys)
    assert failed and result['msg'] == message.format(path=path)
    assert stub_api.requests == []


@pytest.mark.parametrize('given, environment, message', [
    (dict(api_token=TOKEN), {}, 'parameters are mutually exclusive: api_token|api_token_file'),
    ({}, {'CLOUDFLARE_API_TOKEN': TOKEN}, 'parameters are mutually exclusive: api_token|api_token_file'),
    (dict(api_email='soc@example.com', api_key='global-api-key-0123456789abcdef'), {},
     'parameters are mutually exclusive: api_token_file|api_email, api_token_file|api_key'),
], ids=['token and file', 'token from the environment and file', 'global key and file'])
def test_the_file_and_another_credential_are_refused_before_any_request(stub_api, file_args, capsys, tmp_path,
                                                                        monkeypatch, given, environment, message):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    args = dict(file_args, api_token_file=token_file(tmp_path), **given)
    failed, result = run_module(capture_info.main, args, capsys)
    assert failed and result['msg'] == message
    assert stub_api.requests == []
    assert FILE_TOKEN not in repr(result)


def test_no_credential_at_all_names_the_file_option(stub_api, file_args, capsys):
    failed, result = run_module(capture_info.main, file_args, capsys)
    assert failed and result['msg'] == 'one of the following is required: api_token, api_token_file, api_email, api_key'
    assert stub_api.requests == []


def test_an_empty_path_from_the_environment_is_refused_before_any_request(stub_api, file_args, capsys, monkeypatch):
    monkeypatch.setenv('CLOUDFLARE_API_TOKEN_FILE', '')  # exported but not set, as a script may leave it
    failed, result = run_module(capture_info.main, file_args, capsys)
    assert failed and result['msg'] == 'api_token_file: is empty; set it, or leave it out'
    assert stub_api.requests == []
