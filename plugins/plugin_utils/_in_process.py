# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Run a cloudflare.pcap module's code inside the Ansible worker process, without AnsiballZ.

A module run through AnsiballZ starts a new Python, imports ansible.module_utils.basic, requests and jsonschema,
and then sends one or two requests: most of its time is start-up. The modules' work is plain HTTP, so when the
task would run on the controller's own Python anyway, the action plugins (plugins/plugin_utils/_action.py) run
the same `run(module)` function here, with InProcessModule in place of AnsibleModule. InProcessModule validates the
arguments with the validator AnsibleModule uses, and its results are shaped and censored the way AnsibleModule
shapes and censors them, as the installed ansible-core's AnsibleModule does (see _formatted). The unit tests run
every module test both ways and compare, on every ansible-core of the test matrix.

Private APIs of ansible-core used here (each has a test in tests/unit/plugins/plugin_utils/test__private_apis.py
that names it when ansible-core changes it):

- ``ValidationResult._no_log_values`` (ansible.module_utils.common.arg_spec): the no_log values found while
  validating, including those of env fallbacks; AnsibleModule censors its results with the same set.
- ``'inject_invocation' in PASS_VARS`` (ansible.module_utils.common.parameters, public name, but which keys it holds
  is an implementation detail): ansible-core 2.21 added ``_ansible_inject_invocation``; from then on AnsibleModule
  adds ``invocation`` to a result only when the controller asks for it (INJECT_INVOCATION, default false), before
  it always did.

What AnsibleModule does and this runner deliberately does not: tracebacks of an error being handled (added at
-vvv before ansible-core 2.19, with ANSIBLE_DISPLAY_TRACEBACK after); syslog logging of the invocation.

Private to cloudflare.pcap; the interface may change in any release.
"""

from __future__ import annotations

import importlib
import json
import os

from ansible.module_utils.common.arg_spec import ModuleArgumentSpecValidator
from ansible.module_utils.common.parameters import PASS_VARS, remove_values
from ansible.module_utils.errors import UnsupportedError

from ansible_collections.cloudflare.pcap.plugins.module_utils._pcap.files import path_attributes
from ansible_collections.cloudflare.pcap.plugins.module_utils._module import PcapModuleBase, with_common_options

MODULES_PACKAGE = 'ansible_collections.cloudflare.pcap.plugins.modules.'

# ansible-core 2.21+: AnsibleModule adds `invocation` only when _ansible_inject_invocation is true; before, always.
INVOCATION_ON_REQUEST = 'inject_invocation' in PASS_VARS


class ModuleExit(BaseException):
    """Raised by exit_json and fail_json; like SystemExit for a module, no `except Exception` of the module's code
    may stop it."""

    def __init__(self, result):
        super(ModuleExit, self).__init__()
        self.result = result


class InProcessModule(PcapModuleBase):
    """The part of AnsibleModule that the collection's modules use: params, check_mode, warn, exit_json, fail_json."""

    def __init__(self, name, params, argument_spec, check_mode=False, requires_jsonschema=False,
                 supports_check_mode=False, inject_invocation=False, connection=True):
        self._name = name
        self._warnings = []
        self.check_mode = check_mode
        # What AnsibleModule does with _ansible_inject_invocation (False when the controller does not send it).
        self._inject_invocation = inject_invocation or not INVOCATION_ON_REQUEST
        # connection=False: a module that talks to nobody (capture_summary) takes none of the connection options.
        validation = ModuleArgumentSpecValidator(with_common_options(argument_spec) if connection else argument_spec).validate(params)
        self.params = validation.validated_parameters
        self.no_log_values = validation._no_log_values  # private API, see the module docstring
        if validation.error_messages:
            # The same message as AnsibleModule's, which fails on the first error, even in check mode.
            msg = validation.errors.msg
            if isinstance(validation.errors.errors[0], UnsupportedError):
                msg = 'Unsupported parameters for (%s) module: %s' % (name, msg)
            self.fail_json(msg=msg)
        if check_mode and not supports_check_mode:
            raise ModuleExit(dict(skipped=True, msg='remote module (%s) does not support check mode' % name))
        if connection:
            self._check_requirements_and_options(requires_jsonschema)

    def warn(self, warning):
        self._warnings.append(warning)

    def exit_json(self, **result):
        raise ModuleExit(self._formatted(result))

    def fail_json(self, msg, **result):
        result.update(failed=True, msg=msg)
        raise ModuleExit(self._formatted(result))

    def _formatted(self, result):
        """What AnsibleModule._return_formatted prints: the result with file attributes, the invocation when this
        ansible-core adds it, the warnings, no_log values censored except in top-level booleans and nulls, and as
        JSON types (a tuple becomes a list, like after AnsiballZ's round trip)."""
        path = result.get('path', result.get('dest'))
        if path is not None and os.path.exists(path):
            result.update(path_attributes(path))  # AnsibleModule.add_path_info
        if self._inject_invocation:
            result.setdefault('invocation', {'module_args': self.params})
        else:
            result.pop('invocation', None)
        if self._warnings:
            result['warnings'] = list(self._warnings)
        preserved = dict((key, value) for key, value in result.items() if value is None or isinstance(value, bool))
        result = remove_values(result, self.no_log_values)
        result.update(preserved)
        return json.loads(json.dumps(result))


def module_options(module_name):
    """The module's MODULE_OPTIONS: argument_spec, requires_jsonschema, supports_check_mode."""
    return importlib.import_module(MODULES_PACKAGE + module_name).MODULE_OPTIONS


def run_in_process(module_name, params, check_mode=False, task_name=None, inject_invocation=False):
    """Run the module `module_name` (its short name) with `params`; return its result as a dict.

    check_mode, task_name and inject_invocation are what the controller would send as _ansible_check_mode,
    _ansible_module_name and _ansible_inject_invocation."""
    module_code = importlib.import_module(MODULES_PACKAGE + module_name)
    try:
        module_code.run(InProcessModule(task_name or module_name, params, check_mode=check_mode,
                                        inject_invocation=inject_invocation, **module_code.MODULE_OPTIONS))
    except ModuleExit as exit_:
        return exit_.result
    # Every module ends in exit_json or fail_json; reaching this line is a bug of the module.
    raise RuntimeError('cloudflare.pcap.%s returned without a result' % module_name)
