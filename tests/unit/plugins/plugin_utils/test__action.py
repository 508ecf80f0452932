# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""When the action plugins run a module in-process, and when as a module. The integration target
where_modules_run runs real playbooks both ways; these cover the cases a loopback test machine cannot set up
(another connection, become, another Python). test__action_run.py calls run() itself with real tasks."""

from __future__ import annotations

import os
import sys
from types import SimpleNamespace

import pytest

from ansible.errors import AnsibleActionFail

from ansible_collections.cloudflare.pcap.plugins.action.capture_info import ActionModule as CaptureInfoAction
from ansible_collections.cloudflare.pcap.plugins.action.capture_request import ActionModule
from ansible_collections.cloudflare.pcap.plugins.plugin_utils import _action


class IdentityTemplar:
    def template(self, value):
        return value


def action(transport='local', become=False, async_val=0, delegate_to=None, environment=None, plugin=ActionModule):
    task = SimpleNamespace(async_val=async_val, delegate_to=delegate_to, environment=environment, check_mode=False,
                           args={}, action='cloudflare.pcap.capture_request')
    connection = SimpleNamespace(transport=transport, _shell=SimpleNamespace(env_prefix=lambda **env: ''))
    return plugin(task, connection, SimpleNamespace(become=become, remote_addr='localhost'), None,
                  IdentityTemplar(), None)


def discovered(interpreter, discovered_python):
    return {'ansible_python_interpreter': interpreter, 'ansible_facts': {'discovered_interpreter_python': discovered_python}}


def test_a_localhost_task_runs_in_process():
    # The implicit localhost: ansible-core sets its ansible_python_interpreter to sys.executable.
    assert action()._why_not_in_process({'ansible_python_interpreter': sys.executable}) is None


@pytest.mark.parametrize('task_vars', [
    {'ansible_python_interpreter': sys.executable},
    {'ansible_python_interpreter': os.path.join(os.path.dirname(sys.executable), '.', os.path.basename(sys.executable))},
    discovered('auto', sys.executable),
    discovered('auto_silent', sys.executable),
    discovered('auto_legacy_silent', sys.executable),
    {'ansible_python_interpreter': 'auto', 'discovered_interpreter_python': sys.executable},  # facts injected as vars
], ids=['sys.executable', 'spelled differently', 'auto', 'auto_silent', 'auto_legacy_silent', 'fact as a var'])
def test_the_controller_python_runs_in_process(task_vars):
    assert action()._why_not_in_process(task_vars) is None


@pytest.mark.parametrize('subject, task_vars, reason', [
    (dict(transport='ssh'), {}, 'the connection is ssh'),
    (dict(become=True), {}, 'become is set'),
    (dict(async_val=60), {}, 'async is set'),
    (dict(), {'ansible_python_interpreter': '/opt/other/bin/python3'},
     'ansible_python_interpreter is /opt/other/bin/python3, not the Python running Ansible'),
    (dict(), {'ansible_python_interpreter': 'python3'}, 'ansible_python_interpreter is python3, not the Python'),
    (dict(delegate_to='bastion'), {'ansible_python_interpreter': sys.executable, 'ansible_delegated_vars': {
        'bastion': {'ansible_python_interpreter': '/usr/bin/python3.9'}}},
     'ansible_python_interpreter is /usr/bin/python3.9, not the Python'),
    (dict(), {'ansible_python_interpreter': 'auto'}, 'ansible_python_interpreter is auto and no module has discovered'),
    (dict(), {'ansible_python_interpreter': 'auto_legacy', 'ansible_facts': {}},
     'ansible_python_interpreter is auto_legacy and no module has discovered it on this host yet'),
    (dict(), discovered('auto', '/opt/elsewhere/python3'), 'the discovered interpreter /opt/elsewhere/python3 is not'),
], ids=['ssh', 'become', 'async', 'another interpreter', 'a bare name', 'delegated', 'undiscovered',
        'undiscovered, no fact', 'discovered another'])
def test_anything_else_runs_as_a_module(subject, task_vars, reason):
    assert action(**subject)._why_not_in_process(task_vars).startswith(reason)


def fake_python(root, with_venv):
    """root/bin/python3 as a link to this Python's binary; a virtual environment if with_venv."""
    (root / 'bin').mkdir(parents=True)
    python = root / 'bin' / 'python3'
    python.symlink_to(os.path.realpath(sys.executable))
    if with_venv:
        (root / 'pyvenv.cfg').write_text('home = %s\n' % os.path.dirname(os.path.realpath(sys.executable)))
    return str(python)


def test_the_same_binary_in_another_environment_is_another_python(tmp_path, monkeypatch):
    # A virtual environment's python is a link to the base binary; the base binary, or a link to it outside the
    # virtual environment, starts the same file but without the environment's packages.
    controller = fake_python(tmp_path / 'venv', with_venv=True)
    monkeypatch.setattr(_action.sys, 'executable', controller)
    outside = fake_python(tmp_path / 'outside', with_venv=False)
    other_venv = fake_python(tmp_path / 'other-venv', with_venv=True)
    (tmp_path / 'venv' / 'bin' / 'python').symlink_to('python3')
    assert _action.is_controller_python(controller)
    assert _action.is_controller_python(str(tmp_path / 'venv' / 'bin' / 'python'))  # a link inside the venv
    assert not _action.is_controller_python(outside)
    assert not _action.is_controller_python(other_venv)
    assert not _action.is_controller_python(os.path.realpath(sys.executable))
    assert not _action.is_controller_python(str(tmp_path / 'venv' / 'bin' / 'missing'))
    reason = action()._why_not_in_process(discovered('auto', outside))
    assert reason == 'the discovered interpreter %s is not the Python running Ansible (%s)' % (outside, controller)
    assert action()._why_not_in_process({'ansible_python_interpreter': controller}) is None


@pytest.mark.parametrize('value', [False, 'false', 'no', 'False', 0, 'off'])
def test_the_opt_out_runs_every_module_as_a_module(value):
    task_vars = {'ansible_python_interpreter': sys.executable, 'cloudflare_pcap_in_process': value}
    assert action()._why_not_in_process(task_vars) == 'cloudflare_pcap_in_process is false'
    assert action(plugin=CaptureInfoAction)._why_not_in_process(task_vars) == 'cloudflare_pcap_in_process is false'


@pytest.mark.parametrize('value', [True, 'true', 'yes', 1])
def test_the_opt_out_set_true_changes_nothing(value):
    task_vars = {'ansible_python_interpreter': sys.executable, 'cloudflare_pcap_in_process': value}
    assert action()._why_not_in_process(task_vars) is None


def test_the_opt_out_must_be_a_boolean():
    with pytest.raises(AnsibleActionFail, match="cloudflare_pcap_in_process: must be true or false, got 'sometimes'"):
        action()._why_not_in_process({'cloudflare_pcap_in_process': 'sometimes'})


def test_the_opt_out_wins_over_everything_else():
    assert action(transport='ssh')._why_not_in_process({'cloudflare_pcap_in_process': False}) == \
        'cloudflare_pcap_in_process is false'


def test_missing_requests_on_the_controller_leaves_it_to_the_module(monkeypatch):
    monkeypatch.setattr(_action, 'REQUESTS_IMPORT_ERROR', 'No module named requests')
    task_vars = {'ansible_python_interpreter': sys.executable}
    assert action()._why_not_in_process(task_vars) == 'requests is not installed for the controller Python'
    assert action(plugin=CaptureInfoAction)._why_not_in_process(task_vars) == \
        'requests is not installed for the controller Python'


def test_jsonschema_is_needed_only_by_the_modules_that_use_it(monkeypatch):
    real_find_spec = _action.importlib.util.find_spec
    monkeypatch.setattr(_action.importlib.util, 'find_spec',
                        lambda name: None if name == 'jsonschema' else real_find_spec(name))
    task_vars = {'ansible_python_interpreter': sys.executable}
    # capture_request validates its body with jsonschema; capture_info does not use it.
    assert action()._why_not_in_process(task_vars) == 'jsonschema is not installed for the controller Python'
    assert action(plugin=CaptureInfoAction)._why_not_in_process(task_vars) is None


def test_the_task_environment_is_seen_while_the_module_runs_and_gone_afterwards(monkeypatch):
    monkeypatch.delenv('CLOUDFLARE_API_TOKEN', raising=False)
    monkeypatch.setenv('CLOUDFLARE_ACCOUNT_ID', 'from-the-shell')
    subject = action(environment=[{'CLOUDFLARE_API_TOKEN': 'from-the-task', 'CLOUDFLARE_ACCOUNT_ID': 'overridden'}])
    with subject._task_environment():
        assert os.environ['CLOUDFLARE_API_TOKEN'] == 'from-the-task'
        assert os.environ['CLOUDFLARE_ACCOUNT_ID'] == 'overridden'
    assert 'CLOUDFLARE_API_TOKEN' not in os.environ
    assert os.environ['CLOUDFLARE_ACCOUNT_ID'] == 'from-the-shell'
