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
