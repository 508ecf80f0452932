# Copyright: cloudflare.pcap maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What `make test` checks before it starts (tests/tools/preflight.py): each lack named once, with its install
command and the sessions it blocks, and only those."""

from __future__ import annotations

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pipeline  # noqa: E402  pylint: disable=wrong-import-position
import preflight  # noqa: E402  pylint: disable=wrong-import-position

SANITY = {'name': 'ansible-test-sanity-2.19-py3.11', 'python': '3.11', 'tags': ['sanity']}
UNITS = {'name': 'ansible-test-units-2.19-py3.11', 'python': '3.11', 'tags': ['units']}
UNITS_313 = {'name': 'ansible-test-units-2.21-py3.13', 'python': '3.13', 'tags': ['units']}
CONTRACT = {'name': 'contract', 'python': '3.11', 'tags': ['contract']}
EDA = {'name': 'eda', 'python': '3.11', 'tags': ['eda']}
LINT = {'name': 'docs-check', 'python': None, 'tags': []}


def machine(monkeypatch, pythons=None, node=(20, 1), java=True, wireshark_missing=()):
    """A machine with these Pythons (None: every one), Node.js, Java and Wireshark tools."""
    def find_python(version):
        if pythons is not None and version not in pythons:
            raise pipeline.PipelineError('no Python %s' % version)
        return sys.executable

    monkeypatch.setattr(pipeline, 'find_python', find_python)
    monkeypatch.setattr(preflight, 'node_version', lambda: node)
    monkeypatch.setattr(preflight, 'java_found', lambda: java)
    monkeypatch.setattr(preflight, 'missing_wireshark_tools', lambda: list(wireshark_missing))


def test_a_machine_with_everything_lacks_nothing(monkeypatch):
    machine(monkeypatch)
    assert preflight.preflight([SANITY, UNITS, CONTRACT, EDA, LINT]) == []


def test_missing_pythons_are_named_once_with_their_install_command_and_the_sessions_they_block(monkeypatch):
    machine(monkeypatch, pythons={'3.11', '3.12', '3.13'})
    missing = preflight.preflight([SANITY, UNITS, LINT])
    assert [item.what for item in missing] == ['Python 3.9, 3.10']
    assert re.search(r'install 3\.9 3\.10$', missing[0].install)
    assert missing[0].sessions == [SANITY['name']]


def test_a_session_whose_own_python_is_missing_is_blocked(monkeypatch):
    machine(monkeypatch, pythons={'3.9', '3.10', '3.11', '3.12'})
    missing = preflight.preflight([UNITS, UNITS_313])
    assert [(item.what, item.sessions) for item in missing] == [('Python 3.13', [UNITS_313['name']])]


def test_missing_node_blocks_the_contract_session_only(monkeypatch):
    machine(monkeypatch, node=None)
    missing = preflight.preflight([UNITS, CONTRACT, EDA])
    assert len(missing) == 1 and 'Node.js' in missing[0].what and missing[0].install == 'apt-get install -y nodejs npm'
    assert missing[0].sessions == ['contract']


def test_an_old_node_is_missing_too(monkeypatch):
    machine(monkeypatch, node=(16, 20))
    assert [item.sessions for item in preflight.preflight([CONTRACT])] == [['contract']]


def test_missing_java_blocks_the_eda_session_only(monkeypatch):
    machine(monkeypatch, java=False)
    missing = preflight.preflight([UNITS, CONTRACT, EDA])
    assert len(missing) == 1 and 'Java' in missing[0].what and 'openjdk' in missing[0].install
    assert missing[0].sessions == ['eda']


def test_missing_wireshark_tools_block_the_units_sessions_only(monkeypatch):
    machine(monkeypatch, wireshark_missing=('mergecap', 'capinfos'))
    missing = preflight.preflight([SANITY, UNITS, UNITS_313, CONTRACT])
    assert [item.what for item in missing] == ["Wireshark's mergecap, capinfos (the pcap merge and Community ID tests' witnesses)"]
    assert missing[0].install == 'apt-get install -y --no-install-recommends wireshark-common tshark'
    assert missing[0].sessions == [UNITS['name'], UNITS_313['name']]


def test_the_wireshark_tools_checked_are_the_ones_the_unit_tests_run():
    run = set()
    for name, pattern in (('test_merge.py', r"wireshark\('(\w+)'"), ('test_community_id.py', r"shutil\.which\('(\w+)'\)")):
        with open(os.path.join(pipeline.REPO_ROOT, 'tests', 'unit', 'plugins', 'module_utils', '_pcap', name), encoding='utf-8') as tests:
            run |= set(re.findall(pattern, tests.read()))
    assert run == set(preflight.WIRESHARK_TOOLS)
