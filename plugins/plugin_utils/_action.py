# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The action plugin of every cloudflare.pcap module.

When running the module would mean running it with the controller's own Python on the controller (see
_why_not_in_process), the module runs inside the worker process, the way ansible.netcommon runs network modules
(plugins/action/network.py): no AnsiballZ payload, no second Python start-up. The action plugin adds to the task's
arguments what ActionBase adds for a module run (_update_module_args: _ansible_check_mode, _ansible_no_log, ...),
hands them to AnsibleModule the way AnsiballZ does, calls the module's own main(), and reads the JSON it prints
the way ActionBase reads a module's output. The module is a real AnsibleModule (PcapModule): validation,
constraints, censoring, invocation and file attributes are ansible-core's own. Otherwise, for example with
delegate_to a bastion host, another interpreter, become, async, or the variable cloudflare_pcap_in_process set to
false, the module runs as usual.

The same Python means the same executable file in the same virtual environment: an ansible_python_interpreter
that is sys.executable spelled another way (DIR/./python, a symlink in the same bin folder) counts; a symlink to the
same binary outside the virtual environment, or a bare name looked up in PATH, does not. With interpreter discovery
(auto, auto_silent, auto_legacy...) the module would run under the discovered interpreter: until a module run on
that host has discovered it (the fact discovered_interpreter_python), the task runs as a module, which discovers it;
afterwards it runs in-process only if the discovered interpreter is the controller's Python. The implicit localhost
has ansible_python_interpreter set to sys.executable by ansible-core, so it always qualifies.

Private APIs of ansible-core used here (each has a test in tests/unit/plugins/plugin_utils/test__private_apis.py
that names it when ansible-core changes it):

- ``ActionBase._update_module_args(module_name, module_args, task_vars)``: the ``_ansible_*`` arguments of a module
  run, including ``_ansible_inject_invocation`` from ansible-core 2.21.
- ``ActionBase._parse_returned_data(res)`` (``res, profile`` from ansible-core 2.19; a UnifiedTaskResult from 2.21)
  and ``ansible.vars.clean.remove_internal_keys`` (``UnifiedTaskResult.remove_internal_keys()`` and
  ``as_result_dict(for_round_trip=True)`` from 2.21): reading the module's output as ``_execute_module`` does.
- ``ansible.module_utils.basic._ANSIBLE_ARGS`` and, from ansible-core 2.19, ``_ANSIBLE_PROFILE``: where AnsiballZ
  puts the module's arguments (JSON ``{"ANSIBLE_MODULE_ARGS": ...}``) and their serialization profile for
  AnsibleModule to read, as ansible-core's ``ansible.module_utils.testing.patch_module_args`` does. Overriding
  ``AnsibleModule._load_params`` instead, as netcommon does, would leave ``_PARSED_MODULE_ARGS`` unset, which
  AnsibleModule reads for ``_ansible_tracebacks_for`` (2.19) and ``_ansible_inject_invocation`` (2.21).
- The serialization profile ``legacy``, the one ansible-core gives a module without METADATA
  (``module_common._get_module_metadata``), with ``get_module_encoder``/``get_module_decoder`` of
  ``ansible.module_utils.common.json`` (2.19+).
- ``ansible.module_utils.common.warnings._global_warnings`` and ``_global_deprecations``: AnsibleModule collects
  warnings there for the whole process (before 2.19; from 2.19 the controller displays them at once, and the task
  executor returns them with the result); each run starts empty, as a module process does, also in a loop.
- ``ActionBase._compute_environment_string(raw_environment_out)``: the task's templated ``environment:``.
- ``ActionBase._execute_module(task_vars=, wrap_async=)``, ``ActionBase._remove_tmp_path(path)`` and
  ``self._connection._shell.tmpdir``: running the module the usual way and removing its temporary folder, as
  ansible-core's own ``normal`` action plugin does.
- ``self._connection.transport``, ``self._connection.has_native_async``, ``self._play_context.become``,
  ``self._task.async_val`` / ``check_mode`` / ``delegate_to`` / ``environment`` / ``args`` / ``action``: the task as
  ActionBase holds it.
- The config ``INTERPRETER_PYTHON`` (``ansible_python_interpreter``), read with
  ``C.config.get_config_value(variables=)``.
- The fact ``discovered_interpreter_python``, which ActionBase._execute_module records after interpreter discovery,
  and ``ansible_delegated_vars``, the delegated host's variables in task_vars.
- The implicit localhost's ``ansible_python_interpreter`` being ``sys.executable`` (InventoryData).

Private to cloudflare.pcap; the interface may change in any release.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import json
import os
import sys

from ansible import constants as C
from ansible.errors import AnsibleActionFail
from ansible.module_utils import basic
from ansible.module_utils.common import warnings as module_warnings
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible.utils.vars import merge_hash

try:  # before ansible-core 2.21; from 2.21, _parse_returned_data returns a UnifiedTaskResult that does it
    from ansible.vars.clean import remove_internal_keys
except ImportError:
    remove_internal_keys = None

from ansible.module_utils.common.json import AnsibleJSONEncoder

try:  # ansible-core 2.19+: module arguments and results travel in a serialization profile
    from ansible.module_utils.common.json import Direction, get_module_encoder
    PROFILE = 'legacy'
except ImportError:
    PROFILE = None

from ansible_collections.cloudflare.pcap.plugins.module_utils._api.client import REQUESTS_IMPORT_ERROR

display = Display()

IN_PROCESS_VAR = 'cloudflare_pcap_in_process'
DISCOVERED_FACT = 'discovered_interpreter_python'
MODULES_PACKAGE = 'ansible_collections.cloudflare.pcap.plugins.modules.'


def module_code(module_name):
    """The Python module of the collection's module `module_name` (its short name)."""
    return importlib.import_module(MODULES_PACKAGE + module_name)


def module_input(module_args):
    """What AnsiballZ hands AnsibleModule: the arguments as JSON, encoded the way the controller encodes them for
    a module run (AnsibleModule decodes them itself)."""
    wrapped = {'ANSIBLE_MODULE_ARGS': module_args}
    if PROFILE:
        return json.dumps(wrapped, cls=get_module_encoder(PROFILE, Direction.CONTROLLER_TO_MODULE)).encode()
    return json.dumps(wrapped, cls=AnsibleJSONEncoder, vault_to_text=True).encode()


@contextlib.contextmanager
def as_module_process(module_args):
    """While a module runs here: its arguments where AnsibleModule reads them, no warnings of an earlier run,
    and what it prints kept apart (yields the buffer)."""
    saved_input = basic._ANSIBLE_ARGS, getattr(basic, '_ANSIBLE_PROFILE', None)
    saved_warnings = module_warnings._global_warnings, module_warnings._global_deprecations
    basic._ANSIBLE_ARGS = module_input(module_args)
    if PROFILE:
        basic._ANSIBLE_PROFILE = PROFILE
    module_warnings._global_warnings = type(saved_warnings[0])()
    module_warnings._global_deprecations = type(saved_warnings[1])()
    output = io.StringIO()
    try:
        with contextlib.redirect_stdout(output):
            yield output
    finally:
        basic._ANSIBLE_ARGS = saved_input[0]
        if PROFILE:
            basic._ANSIBLE_PROFILE = saved_input[1]
        module_warnings._global_warnings, module_warnings._global_deprecations = saved_warnings


def python_identity(path):
    """What decides which Python a path starts: the executable file it resolves to, and the virtual environment
    (pyvenv.cfg) that Python finds next to the path as given or one folder up."""
    path = os.path.abspath(path)
    environment = None
    for folder in (os.path.dirname(path), os.path.dirname(os.path.dirname(path))):
        candidate = os.path.join(folder, 'pyvenv.cfg')
        if os.path.isfile(candidate):
            environment = os.path.realpath(candidate)
            break
    return os.path.realpath(path), environment


def is_controller_python(interpreter):
    """Whether `interpreter` (a path) starts the Python running this process: same executable, same environment."""
    if not interpreter or not os.path.isabs(interpreter) or not os.path.exists(interpreter):
        return False
    return python_identity(interpreter) == python_identity(sys.executable)


class PcapAction(ActionBase):
    """Runs the module of the same name, in-process when that is the same as running it on the controller."""

    _supports_check_mode = True
    _supports_async = True
    MODULE = None  # the module's short name, set by each action plugin

    def run(self, tmp=None, task_vars=None):
        result = super(PcapAction, self).run(tmp, task_vars)
        del tmp  # tmp no longer has any effect
        task_vars = task_vars or {}
        reason = self._why_not_in_process(task_vars)
        if reason:
            display.vvv('cloudflare.pcap.%s runs as a module: %s' % (self.MODULE, reason), host=self._play_context.remote_addr)
            wrap_async = self._task.async_val and not self._connection.has_native_async
            result = merge_hash(result, self._execute_module(task_vars=task_vars, wrap_async=wrap_async))
            if not wrap_async:
                self._remove_tmp_path(self._connection._shell.tmpdir)
            return result
        display.vvv('cloudflare.pcap.%s runs in-process on the controller' % self.MODULE, host=self._play_context.remote_addr)
        return merge_hash(result, self._run_in_process(task_vars))

    def _run_in_process(self, task_vars):
        """The module's main() in this process, with the arguments and the result of a module run."""
        module_args = dict(self._task.args)
        self._update_module_args(self._task.action, module_args, task_vars)
        main = module_code(self.MODULE).main
        exit_code = 0
        with self._task_environment(), as_module_process(module_args) as output:
            try:
                main()
            except SystemExit as exited:  # exit_json and fail_json end the module, as they end a module's process
                exit_code = exited.code
        # Any other exception is not caught: the task fails with it, as ansible-core reports an action's error.
        return self._read_module_output(exit_code, output.getvalue())

    def _read_module_output(self, exit_code, stdout):
        """What ActionBase._execute_module makes of a module's output."""
        raw = dict(rc=exit_code, stdout=stdout, stdout_lines=stdout.splitlines(), stderr='', stderr_lines=[])
        parsed = self._parse_returned_data(raw, PROFILE) if PROFILE else self._parse_returned_data(raw)
        if hasattr(parsed, 'as_result_dict'):  # ansible-core 2.21+: a UnifiedTaskResult
            parsed.remove_internal_keys()
            return parsed.as_result_dict(for_round_trip=True)
        remove_internal_keys(parsed)
        return parsed

    def _why_not_in_process(self, task_vars):
        """None when running the module would mean running it with this Python on this machine, else why not."""
        if not self._in_process_allowed(task_vars):
            return '%s is false' % IN_PROCESS_VAR
        if getattr(self._connection, 'transport', None) != 'local':
            return 'the connection is %s' % getattr(self._connection, 'transport', 'not local')
        if self._play_context.become:
            return 'become is set'
        if self._task.async_val:
            return 'async is set'
        reason = self._why_not_this_python(task_vars)
        if reason:
            return reason
        # The libraries this module needs, for this Python; the module would fail without them, and says so.
        options = module_code(self.MODULE).MODULE_OPTIONS
        if REQUESTS_IMPORT_ERROR and options.get('connection', True):
            return 'requests is not installed for the controller Python'
        if options.get('requires_jsonschema') and importlib.util.find_spec('jsonschema') is None:
            return 'jsonschema is not installed for the controller Python'
        return None

    def _in_process_allowed(self, task_vars):
        """The opt-out: cloudflare_pcap_in_process (a host, group, play or extra var), true unless set false."""
        value = self._templar.template(task_vars.get(IN_PROCESS_VAR, True))
        try:
            return boolean(value, strict=True)
        except TypeError:
            raise AnsibleActionFail('%s: must be true or false, got %r' % (IN_PROCESS_VAR, value)) from None

    def _why_not_this_python(self, task_vars):
        """None when the module would run under this very Python, else why not."""
        host_vars = task_vars
        if self._task.delegate_to:
            host_vars = task_vars.get('ansible_delegated_vars', {}).get(self._task.delegate_to, task_vars)
        interpreter = self._templar.template(C.config.get_config_value('INTERPRETER_PYTHON', variables=host_vars))
        interpreter = (interpreter or '').strip()
        if interpreter.startswith('auto'):
            discovered = (host_vars.get('ansible_facts') or {}).get(DISCOVERED_FACT) or host_vars.get(DISCOVERED_FACT)
            if not discovered:
                return 'ansible_python_interpreter is %s and no module has discovered it on this host yet' % interpreter
            if not is_controller_python(discovered):
                return 'the discovered interpreter %s is not the Python running Ansible (%s)' % (discovered, sys.executable)
            return None
        if not is_controller_python(interpreter):
            return 'ansible_python_interpreter is %s, not the Python running Ansible (%s)' % (interpreter, sys.executable)
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
