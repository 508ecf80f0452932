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
shapes and censors them. The unit tests run every module test both ways and compare.

Private to cloudflare.pcap; the interface may change in any release.
"""

from __future__ import annotations

import importlib
import json
import os

from ansible.module_utils.common.arg_spec import ModuleArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.errors import UnsupportedError

from ansible_collections.cloudflare.pcap.plugins.module_utils._download import path_attributes
from ansible_collections.cloudflare.pcap.plugins.module_utils._module import PcapModuleBase, with_common_options

MODULES_PACKAGE = 'ansible_collections.cloudflare.pcap.plugins.modules.'


class ModuleExit(BaseException):
    """Raised by exit_json and fail_json; like SystemExit for a module, no `except Exception` of the module's code
    may stop it."""

    def __init__(self, result):
        super(ModuleExit, self).__init__()
        self.result = result


class InProcessModule(PcapModuleBase):
    """The part of AnsibleModule that the collection's modules use: params, check_mode, warn, exit_json, fail_json."""

    def __init__(self, name, params, argument_spec, check_mode=False, requires_jsonschema=False,
                 supports_check_mode=False):
        self._name = name
        self._warnings = []
        self.check_mode = check_mode
        validation = ModuleArgumentSpecValidator(with_common_options(argument_spec)).validate(params)
        self.params = validation.validated_parameters
        self.no_log_values = validation._no_log_values
        if validation.error_messages:
            # The same message as AnsibleModule's, which fails on the first error, even in check mode.
            msg = validation.errors.msg
            if isinstance(validation.errors.errors[0], UnsupportedError):
                msg = 'Unsupported parameters for (%s) module: %s' % (name, msg)
            self.fail_json(msg=msg)
        if check_mode and not supports_check_mode:
            raise ModuleExit(dict(skipped=True, msg='remote module (%s) does not support check mode' % name))
        self._check_requirements_and_options(requires_jsonschema)

    def warn(self, warning):
        self._warnings.append(warning)

    def exit_json(self, **result):
        raise ModuleExit(self._formatted(result))

    def fail_json(self, msg, **result):
        result.update(failed=True, msg=msg)
        raise ModuleExit(self._formatted(result))

    def _formatted(self, result):
        """What AnsibleModule prints: the result with the invocation and warnings, no_log values censored, and
        as JSON types (a tuple becomes a list, like after AnsiballZ's round trip)."""
        path = result.get('path', result.get('dest'))
        if path is not None and os.path.exists(path):
            result.update(path_attributes(path))  # AnsibleModule.add_path_info
        result.setdefault('invocation', {'module_args': self.params})
        if self._warnings:
            result['warnings'] = list(self._warnings)
        return json.loads(json.dumps(remove_values(result, self.no_log_values)))


def run_in_process(module_name, params, check_mode=False, task_name=None):
    """Run the module `module_name` (its short name) with `params`; return its result as a dict."""
    module_code = importlib.import_module(MODULES_PACKAGE + module_name)
    try:
        module_code.run(InProcessModule(task_name or module_name, params, check_mode=check_mode,
                                        **module_code.MODULE_OPTIONS))
    except ModuleExit as exit_:
        return exit_.result
    # Every module ends in exit_json or fail_json; reaching this line is a bug of the module.
    raise RuntimeError('cloudflare.pcap.%s returned without a result' % module_name)
