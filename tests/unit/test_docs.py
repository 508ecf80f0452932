# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Docs that restate what the code and tests do, checked against them."""

from __future__ import annotations

import os
import re

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))


def read(*parts):
    with open(os.path.join(ROOT, *parts), encoding='utf-8') as handle:
        return handle.read()


def test_fault_table_lists_exactly_the_tested_fault_cases():
    cases = yaml.safe_load(read('tests', 'integration', 'targets', 'fault_injection', 'vars', 'main.yml'))['fault_cases']
    table = read('docs', 'docsite', 'rst', 'reliability.rst').split('.. rubric:: Cases')[1]
    rows = [line for line in table.splitlines() if line and not line.startswith(('=', 'Fault ', '(', ' '))]
    documented = [re.split(r'\s{2,}', row)[0] for row in rows]
    assert documented == [case['name'] for case in cases]
    for row, case in zip(rows, cases):
        assert ('recovered' in row) == (case['outcome'] == 'recovered'), case['name']
        assert row.rstrip().endswith(str(case.get('captures', 'n/a'))), case['name']


def test_readme_names_every_module_and_the_role():
    readme = read('README.md')
    modules = [name[:-3] for name in os.listdir(os.path.join(ROOT, 'plugins', 'modules')) if name.endswith('.py')]
    for name in modules + ['incident_capture']:
        assert 'cloudflare.pcap.' + name in readme, name


def test_readme_test_command_is_what_ci_runs():
    assert '\nmake test' in read('README.md')
    assert re.search(r'^make test$', read('.ci', 'run'), re.MULTILINE)


def test_awx_guide_shows_the_playbook_that_the_awx_test_runs():
    guide = read('docs', 'docsite', 'rst', 'awx.rst')
    block = guide.split('Put a playbook like this one in the project')[1].split('.. code-block:: yaml')[1].split('\n2. ')[0]
    shown = yaml.safe_load('\n'.join(line[7:] for line in block.splitlines()))
    tested = yaml.safe_load(read('tests', 'integration', 'targets', 'awx_runner', 'files', 'incident.yml'))
    assert shown == tested


MODULE_NAMES = sorted(name[:-3] for name in os.listdir(os.path.join(ROOT, 'plugins', 'modules')) if name.endswith('.py')
                      and not name.startswith('_'))
# Codes that tests/simulator invents (its README's error table); Cloudflare documents no PCAP error codes.
SIMULATOR_CODES = set(range(1000, 1016)) | {10405, 10429}


def module_docs(name):
    import importlib
    module = importlib.import_module('ansible_collections.cloudflare.pcap.plugins.modules.' + name)
    return dict((part, yaml.safe_load(getattr(module, part))) for part in ('DOCUMENTATION', 'EXAMPLES', 'RETURN'))


def test_every_module_documentation_is_valid_yaml():
    for name in MODULE_NAMES:
        docs = module_docs(name)
        assert docs['DOCUMENTATION']['module'] == name
        assert isinstance(docs['EXAMPLES'], list) and isinstance(docs['RETURN'], dict)


def test_return_samples_present_no_simulator_code_as_cloudflares():
    for name in MODULE_NAMES:
        returned = module_docs(name)['RETURN']
        codes = set(returned.get('error_codes', {}).get('sample') or [])
        codes |= set(error.get('code') for error in returned.get('errors', {}).get('sample') or [])
        assert not codes & SIMULATOR_CODES, '%s: RETURN shows the simulator\'s codes %s' % (name, sorted(codes & SIMULATOR_CODES))


def test_cloudflare_docs_links_point_to_where_the_pcap_docs_live_now():
    moved = re.compile(r'developers\.cloudflare\.com/magic-(firewall|transit)/how-to/(collect-pcaps|pcaps-bucket-setup)')
    for directory in ('plugins', 'docs', 'roles'):
        for folder, _subfolders, files in os.walk(os.path.join(ROOT, directory)):
            for file_name in files:
                if file_name.endswith(('.py', '.rst', '.md', '.yml')):
                    text = read(os.path.relpath(os.path.join(folder, file_name), ROOT))
                    assert not moved.search(text), '%s links to the old PCAP docs location' % file_name
    assert not moved.search(read('README.md'))


def test_every_test_named_in_the_api_behaviour_register_exists():
    register = read('docs', 'openapi', 'SOURCE.md').split('## API behaviour we rely on', 1)[1]
    cited = re.findall(r'`(tests/[^`]+)`', register)
    assert len(cited) >= 20
    for reference in cited:
        path, _separator, test_name = reference.partition('::')
        path = path.split(' (')[0]
        assert os.path.exists(os.path.join(ROOT, path)), '%s does not exist' % path
        if test_name:
            assert re.search(r'^def %s\(' % re.escape(test_name), read(path), re.MULTILINE), '%s is not in %s' % (test_name, path)
