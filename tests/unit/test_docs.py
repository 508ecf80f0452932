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


# What the documents say about running a capture task again. They must agree with the module (capture_request's
# notes): a capture in progress requested the same way is reused, judged on what Cloudflare echoes (never
# packet_limit), force=true requests a new one, and a task for several hosts runs once.
REUSE_DOCUMENTS = {
    'README.md': lambda: read('README.md'),
    'docs/docsite/rst/awx.rst': lambda: read('docs', 'docsite', 'rst', 'awx.rst'),
    'docs/docsite/rst/guide.rst': lambda: read('docs', 'docsite', 'rst', 'guide.rst'),
    'capture_request notes': lambda: '\n'.join(module_docs('capture_request')['DOCUMENTATION']['notes']),
}
USER_DOCUMENTS = ['README.md', os.path.join('roles', 'incident_capture', 'README.md'),
                  os.path.join('roles', 'incident_capture', 'meta', 'argument_specs.yml')] + [
    os.path.join('docs', 'docsite', 'rst', name) for name in sorted(os.listdir(os.path.join(ROOT, 'docs', 'docsite', 'rst')))]


def squeeze(text):
    return re.sub(r'\s+', ' ', text)


def test_no_document_says_that_a_rerun_requests_a_new_capture_regardless():
    contradictions = re.compile(r'not idempotent|re-?run(ning)? (always )?requests a new capture|a re-?run (always )?creates', re.IGNORECASE)
    for path in USER_DOCUMENTS:
        found = contradictions.search(squeeze(read(path)))
        assert not found, '%s says %r, but a capture in progress requested the same way is reused' % (path, found.group(0))
    for name in MODULE_NAMES:
        found = contradictions.search(squeeze(str(module_docs(name)['DOCUMENTATION'])))
        assert not found, '%s DOCUMENTATION says %r' % (name, found.group(0))


def test_every_document_on_reruns_says_the_same_about_reuse():
    for name, text in REUSE_DOCUMENTS.items():
        text = squeeze(text())
        assert re.search(r'reuse', text, re.IGNORECASE), '%s does not say that a capture in progress is reused' % name
        assert re.search(r'echo', text), '%s does not say that "the same way" is judged on what Cloudflare echoes' % name
        assert 'packet_limit' in text, '%s does not say that packet_limit is not compared' % name
        assert re.search(r'force[:=] ?true', text), '%s does not name force: true' % name
        assert 'run_once' in text, '%s does not say to run a capture task once (run_once)' % name


README_FRAGMENT_MARK = re.compile(r'^<!-- readme-plays: fragment \((tasks|play keywords)\) -->$')


def readme_yaml_blocks(text):
    """(line, marked fragment kind or None, parsed YAML) of each ```yaml block, as readme_plays.py reads them."""
    blocks = []
    lines = text.splitlines()
    inside = None
    for number, line in enumerate(lines):
        if inside is None and re.match(r'^```ya?ml\s*$', line):
            previous = next((earlier.strip() for earlier in reversed(lines[:number]) if earlier.strip()), '')
            mark = README_FRAGMENT_MARK.match(previous)
            inside = (number + 1, mark.group(1) if mark else None, [])
        elif inside is not None and line.strip() == '```':
            blocks.append((inside[0], inside[1], yaml.safe_load('\n'.join(inside[2]))))
            inside = None
        elif inside is not None:
            inside[2].append(line)
    return blocks


def test_readme_yaml_is_complete_plays_or_marked_fragments():
    # tests/integration/targets/readme_plays runs the plays against the simulator; this catches an unmarked
    # fragment (it would fail there) without the simulator.
    for document in ('README.md', os.path.join('roles', 'incident_capture', 'README.md')):
        blocks = readme_yaml_blocks(read(document))
        assert blocks, document
        for line, kind, parsed in blocks:
            where = '%s line %d' % (document, line)
            if kind is None:
                assert isinstance(parsed, list) and parsed and all(isinstance(play, dict) and 'hosts' in play for play in parsed), \
                    '%s: neither a complete play nor marked as a fragment' % where
                # The README tells users to export the CLOUDFLARE_* variables; a play must not need a variable instead.
                assert 'cloudflare_account_id' not in str(parsed) and 'cloudflare_api_token' not in str(parsed), where
            elif kind == 'tasks':
                assert isinstance(parsed, list) and all(isinstance(task, dict) and 'name' in task for task in parsed), where
            else:
                assert isinstance(parsed, dict) and not set(parsed) & {'hosts', 'tasks', 'roles'}, where


def test_readme_links_point_to_files_that_exist():
    for target in re.findall(r'\]\(([^)#]+)(?:#[^)]*)?\)', read('README.md')):
        if not re.match(r'^[a-z]+://', target):
            assert os.path.exists(os.path.join(ROOT, target)), 'README.md links to %s, which does not exist' % target


def test_readme_includes_exactly_the_modules_and_the_role():
    readme = read('README.md')
    table = readme.split('## Included content', 1)[1].split('\n## ', 1)[0]
    listed = re.findall(r'^\| \[cloudflare\.pcap\.(\w+)\]\(([^)]+)\) \| (module|role) \|', table, re.MULTILINE)
    assert sorted(name for name, _link, kind in listed if kind == 'module') == MODULE_NAMES
    assert [name for name, _link, kind in listed if kind == 'role'] == sorted(os.listdir(os.path.join(ROOT, 'roles')))
    for name, link, kind in listed:
        assert link == ('plugins/modules/%s.py' % name if kind == 'module' else 'roles/%s/meta/argument_specs.yml' % name)


def test_no_document_says_that_check_mode_sends_nothing():
    # capture_request reads the capture list in check mode, to verify the credentials and predict `changed`.
    wrong = re.compile(r'check mode[^.]*?(sends nothing|nothing (at all )?is sent|nothing was sent|sent nothing)|'
                       r'(sends nothing|nothing is sent|sent nothing)[^.]*?in check mode', re.IGNORECASE)
    for path in USER_DOCUMENTS:
        found = wrong.search(squeeze(read(path)))
        assert not found, '%s says %r, but check mode reads the capture list' % (path, found.group(0))
    for name in ('capture_request',):
        found = wrong.search(squeeze(str(module_docs(name))))
        assert not found, '%s docs say %r' % (name, found.group(0))


def test_awx_guide_shows_the_credential_type_that_the_collection_ships():
    """The two blocks of awx.rst's "Credential type" are the inputs and injectors of the shipped file, which the
    awx_runner target renders as AWX does."""
    section = read('docs', 'docsite', 'rst', 'awx.rst').split('\nCredential type\n')[1].split('\nJob template')[0]
    blocks = [block.split('\n\n', 1)[1].split('\n\n')[0] for block in section.split('.. code-block:: yaml')[1:]]
    shown_inputs, shown_injectors = (yaml.safe_load('\n'.join(line[4:] for line in block.splitlines())) for block in blocks)
    shipped = yaml.safe_load(read('extensions', 'awx', 'credential_types', 'cloudflare_pcap.yml'))
    assert (shown_inputs, shown_injectors) == (shipped['inputs'], shipped['injectors'])
    assert shipped['kind'] == 'cloud'
    secret_fields = [field['id'] for field in shipped['inputs']['fields'] if field.get('secret')]
    assert secret_fields == ['api_token']
