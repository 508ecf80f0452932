# Copyright: cloudflare.pcap maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The runner itself (tests/tools/run_tests.py), fed with fake tool outputs and exit codes: it never reports green
on a partial run, always ends with its totals line, and its matrix is the README's."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from xml.etree.ElementTree import ParseError

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import matrix  # noqa: E402  pylint: disable=wrong-import-position
import pipeline  # noqa: E402  pylint: disable=wrong-import-position
import run_tests  # noqa: E402  pylint: disable=wrong-import-position
from run_tests import MATRIX, Skip, StageResult  # noqa: E402  pylint: disable=wrong-import-position

PASSED_CASE = '<testcase classname="tests.unit.test_docs" name="test_ok"/>'
FAILED_CASE = '<testcase classname="tests.unit.test_docs" name="test_bad"><failure message="no">no</failure></testcase>'


def skipped_case(classname, name, message='because'):
    return '<testcase classname="%s" name="%s"><skipped message="%s"/></testcase>' % (classname, name, message)


def junit(tmp_path, name, *cases):
    path = tmp_path / name
    path.write_text('<?xml version="1.0" ?><testsuites><testsuite name="pytest">%s</testsuite></testsuites>' % ''.join(cases))
    return str(path)


def last_line(text):
    return text.rstrip('\n').splitlines()[-1]


# --- exit codes -----------------------------------------------------------------------------------------------------

def test_a_unit_group_killed_by_a_signal_fails_the_stage(tmp_path):
    # Two groups passed, one was killed (SIGKILL: -9) before it wrote a JUnit file; max() of the codes would be 0.
    paths = [junit(tmp_path, 'python3.11-modules-units.xml', PASSED_CASE), junit(tmp_path, 'python3.11-controller-units.xml', PASSED_CASE)]
    passed, failed, note = run_tests.units_counts([0, -9, 0], paths)
    assert (passed, failed) == (2, 1)
    assert 'signal 9' in note and 'exited with -9' in note


@pytest.mark.parametrize('codes, expected', [([0, 0, 0], 0), ([0, -9, 0], -9), ([-15, 0], -15), ([0, 2, 1], 2)])
def test_any_non_zero_code_is_a_failure(codes, expected):
    assert run_tests.first_failure(codes) == expected


@pytest.mark.parametrize('code', [1, -6, 255])
def test_a_tool_that_failed_without_reporting_a_failure_counts_one(code):
    assert run_tests.checked_counts(code, 12, 0, 'pytest', '')[:2] == (12, 1)


def test_a_tool_that_ran_no_test_counts_one():
    assert run_tests.checked_counts(0, 0, 0, 'pytest', '')[:2] == (0, 1)


def unit_collection(tmp_path):
    collection = tmp_path / 'pcap'
    for directory in ('plugins/modules', 'plugins/module_utils'):
        (collection / 'tests' / 'unit' / directory).mkdir(parents=True)
    (collection / 'tests' / 'unit' / 'test_docs.py').write_text('')
    return collection


def fake_units(monkeypatch, collection, outcomes):
    """ansible-test units that, at each call, reports the next outcome: (exit code, contexts it wrote JUnit for)."""
    junit_dir = collection / 'tests' / 'output' / 'junit'
    outcomes = iter(outcomes)
    calls = []

    def fake_ansible_test(self, command, *options, log_name=''):
        calls.append(options)
        junit_dir.mkdir(parents=True, exist_ok=True)
        code, contexts = next(outcomes)
        for context in contexts:
            junit(junit_dir, 'python3.11-%s-units.xml' % context, PASSED_CASE, PASSED_CASE)
        return code, ''

    monkeypatch.setattr(run_tests.StageRunner, 'ansible_test', fake_ansible_test)
    return calls


def test_the_units_stage_runs_once_when_all_is_well(tmp_path, monkeypatch):
    collection = unit_collection(tmp_path)
    calls = fake_units(monkeypatch, collection, [(0, ['modules', 'module_utils', 'controller'])])
    assert run_tests.StageRunner(MATRIX[0], str(collection)).units() == (6, 0, '')
    assert len(calls) == 1 and 'tests/unit/plugins/modules/' in calls[0] and 'tests/unit/test_docs.py' in calls[0]


def test_the_groups_a_failed_run_did_not_reach_run_on_their_own_and_a_killed_one_counts(tmp_path, monkeypatch):
    collection = unit_collection(tmp_path)
    # The first run is killed (SIGSEGV: -11) in module_utils; modules had passed; the rerun of module_utils is
    # killed again, controller passes.
    calls = fake_units(monkeypatch, collection, [(-11, ['modules']), (-11, []), (0, ['controller'])])
    passed, failed, note = run_tests.StageRunner(MATRIX[0], str(collection)).units()
    assert len(calls) == 3 and calls[1][-1] == 'tests/unit/plugins/module_utils/' and calls[2][-1] == 'tests/unit/test_docs.py'
    assert (passed, failed) == (4, 1) and 'signal 11' in note


# --- integration targets --------------------------------------------------------------------------------------------

def make_targets(tmp_path, aliases):
    targets_dir = tmp_path / 'targets'
    for name, text in aliases.items():
        (targets_dir / name).mkdir(parents=True)
        if text is not None:
            (targets_dir / name / 'aliases').write_text(text)
    return str(targets_dir)


def ansible_test_output(ran, failed=()):
    lines = ['Running %s integration test role' % name for name in ran]
    if failed:
        lines.append('FATAL: The %d integration test(s) listed below (out of %d) failed. See error output above for details:'
                     % (len(failed), len(ran)))
        lines.extend(failed)
    return '\n'.join(lines) + '\n'


@pytest.mark.parametrize('alias', ['disabled', 'unsupported', 'unstable', 'skip/python3', 'hidden'])
def test_a_target_that_ansible_test_leaves_out_counts_as_failed(tmp_path, alias):
    targets_dir = make_targets(tmp_path, {'one': 'context/controller\n', 'two': 'context/controller\n%s\n' % alias,
                                          'setup_simulator': 'hidden\n', 'three': None})
    expected = run_tests.expected_targets(targets_dir)
    assert expected == ['one', 'three', 'two']
    # ansible-test exits 0 and says nothing about the target it excluded.
    output = ansible_test_output(['setup_simulator', 'one', 'three'])
    passed, failed, note = run_tests.integration_counts(0, output, expected, run_tests.hidden_targets(targets_dir))
    assert (passed, failed) == (2, 1) and note == 'not run: two'


def test_failed_targets_and_targets_never_reached_are_counted(tmp_path):
    targets_dir = make_targets(tmp_path, {name: 'context/controller\n' for name in ('a', 'b', 'c', 'd')})
    output = ansible_test_output(['a', 'b'], failed=['b'])
    passed, failed, _note = run_tests.integration_counts(1, output, run_tests.expected_targets(targets_dir), set())
    assert (passed, failed) == (1, 3)


def test_a_selected_target_that_does_not_exist_counts_as_failed(tmp_path):
    targets_dir = make_targets(tmp_path, {'a': ''})
    expected = run_tests.expected_targets(targets_dir, ('a', 'typo'))
    passed, failed, note = run_tests.integration_counts(0, ansible_test_output(['a']), expected, set())
    assert (passed, failed, note) == (1, 1, 'not run: typo')


def test_every_target_of_the_collection_is_expected_but_the_hidden_setup_ones():
    targets_dir = os.path.join(pipeline.REPO_ROOT, 'tests', 'integration', 'targets')
    present = sorted(name for name in os.listdir(targets_dir) if os.path.isdir(os.path.join(targets_dir, name)))
    hidden_setup = sorted(name for name in run_tests.hidden_targets(targets_dir) if name.startswith('setup_'))
    assert run_tests.expected_targets(targets_dir) == sorted(set(present) - set(hidden_setup))
    assert 'fault_injection' in run_tests.expected_targets(targets_dir)


# --- skips ----------------------------------------------------------------------------------------------------------

def test_an_unexpected_pytest_skip_fails_the_stage(tmp_path):
    path = junit(tmp_path, 'pytest-simulator.xml', PASSED_CASE, skipped_case('tests.simulator.test_simulator', 'test_x[slow]', 'no network'))
    passed, failed, skipped = run_tests.count_junit([path])
    assert (passed, failed) == (1, 0) and skipped == [Skip('tests/simulator/test_simulator.py::test_x[slow]', 'no network')]
    passed, failed, note = run_tests.judged_counts('simulator', 0, passed, failed, skipped, 'pytest')
    assert (passed, failed) == (1, 1)
    assert 'unexpected skip: tests/simulator/test_simulator.py::test_x[slow] (no network)' in note


def test_a_run_of_skips_only_is_not_green(tmp_path):
    path = junit(tmp_path, 'x.xml', skipped_case('tests.unit.test_docs', 'test_a'), skipped_case('tests.unit.test_docs', 'test_b'))
    passed, failed, skipped = run_tests.count_junit([path])
    assert run_tests.judged_counts('units', 0, passed, failed, skipped, 'pytest')[:2] == (0, 2)


def test_an_allowed_skip_is_named_with_its_reason(tmp_path, monkeypatch):
    monkeypatch.setitem(run_tests.EXPECTED_SKIPS, 'units', (('tests/unit/test_docs.py::test_a', 'needs a display'),))
    path = junit(tmp_path, 'x.xml', PASSED_CASE, skipped_case('tests.unit.test_docs', 'test_a'))
    passed, failed, skipped = run_tests.count_junit([path])
    assert run_tests.judged_counts('units', 0, passed, failed, skipped, 'pytest') == (1, 0, '1 skipped as expected (needs a display)')


def sanity_junit(tmp_path, name, outcome):
    body = {'passed': '', 'failed': '<failure message="x">x</failure>', 'skipped': '<skipped>No tests applicable.</skipped>'}[outcome]
    return junit(tmp_path, 'ansible-test-sanity-%s.xml' % name, '<testcase classname="sanity" name="%s">%s</testcase>' % (name, body))


def test_sanity_skips_are_expected_only_when_listed(tmp_path):
    paths = [sanity_junit(tmp_path, 'pep8', 'passed'), sanity_junit(tmp_path, 'compile-python-3.8', 'skipped'),
             sanity_junit(tmp_path, 'validate-modules', 'skipped')]
    passed, failed, note = run_tests.sanity_counts(0, '', paths)
    assert (passed, failed) == (1, 1)
    assert 'unexpected skip: validate-modules' in note and '1 skipped as expected' in note


def test_a_sanity_interpreter_that_was_not_found_is_an_unexpected_skip(tmp_path):
    output = 'Skipping sanity test "compile" on Python 3.10 because it could not be found.\n'
    passed, failed, note = run_tests.sanity_counts(0, output, [sanity_junit(tmp_path, 'pep8', 'passed')])
    assert (passed, failed) == (1, 1) and 'compile-python-3.10 (interpreter not found)' in note
    # ansible-test 2.21 also writes it as a skipped JUnit case: it still counts once.
    paths = [sanity_junit(tmp_path, 'pep8', 'passed'), sanity_junit(tmp_path, 'compile-python-3.10', 'skipped')]
    assert run_tests.sanity_counts(0, output, paths)[:2] == (1, 1)


def test_a_sanity_test_whose_program_is_missing_fails(tmp_path):
    output = 'Required program "shellcheck" not found.\n'
    assert run_tests.sanity_counts(0, output, [sanity_junit(tmp_path, 'shellcheck', 'skipped')])[1] >= 1


# --- the summary is always printed ----------------------------------------------------------------------------------

@pytest.fixture
def quiet_pipeline(monkeypatch, tmp_path):
    """main() without virtualenvs, copies, or a change of HOME; every stage passes one test unless a test says otherwise."""
    monkeypatch.setattr(pipeline, 'isolate_home', lambda: None)
    monkeypatch.setattr(pipeline, 'stop_cleanly_on_sigterm', lambda: None)
    monkeypatch.setattr(pipeline, 'ensure_venv', lambda toolchain: None)
    monkeypatch.setattr(pipeline, 'copy_collection', lambda copy_dir=None: str(tmp_path))
    monkeypatch.setattr(run_tests, 'preflight', lambda plan: [])
    for stage in run_tests.ALL_STAGES:
        monkeypatch.setattr(run_tests.StageRunner, stage, lambda self: (1, 0, ''))


def test_all_green_is_green(quiet_pipeline, capsys):
    assert run_tests.main(['--toolchains', MATRIX[0].name, '--stages', 'units,simulator']) == 0
    assert last_line(capsys.readouterr().out) == '2 passed, 0 failed'


@pytest.mark.parametrize('error', [TypeError('unexpected'), KeyError('x'), AttributeError('y'), ParseError('not XML')])
def test_an_exception_of_any_type_in_a_stage_counts_and_the_run_goes_on(quiet_pipeline, monkeypatch, capsys, error):
    def broken(self):
        raise error

    monkeypatch.setattr(run_tests.StageRunner, 'units', broken)
    code = run_tests.main(['--toolchains', MATRIX[0].name, '--stages', 'units,simulator'])
    out = capsys.readouterr().out
    assert code != 0
    assert last_line(out) == '1 passed, 1 failed'
    assert re.search(r'^core-2\.19-py3\.11\s+units\s+0\s+1\s', out, re.MULTILINE)


@pytest.mark.parametrize('error', [RuntimeError('bug'), ValueError('bug'), SystemExit(0)])
def test_an_exception_outside_the_stages_still_ends_with_the_totals(quiet_pipeline, monkeypatch, capsys, error):
    def broken_toolchain(toolchain, stages, results, targets=(), blocked=None):
        results.append(StageResult(toolchain.name, 'units', passed=5))
        raise error

    monkeypatch.setattr(run_tests, 'run_toolchain', broken_toolchain)
    code = run_tests.main(['--toolchains', MATRIX[0].name, '--stages', 'units'])
    out = capsys.readouterr().out
    assert code != 0
    assert last_line(out) == '5 passed, 1 failed'
    assert 'the runner stopped' in out


def test_toolchains_side_by_side_report_every_stage_in_matrix_order(quiet_pipeline, monkeypatch, capsys):
    def slow_units(self):
        time.sleep(0.2 if self.toolchain is MATRIX[0] else 0)
        return (3, 0, '') if self.toolchain is MATRIX[0] else (1, 0, '')

    monkeypatch.setattr(run_tests.StageRunner, 'units', slow_units)
    names = [toolchain.name for toolchain in MATRIX[:3]]
    assert run_tests.main(['--toolchains', ','.join(names), '--stages', 'units', '--jobs', '2']) == 0
    out = capsys.readouterr().out
    rows = re.findall(r'^(core-\S+)\s+units\s', out, re.MULTILINE)
    assert rows == names and last_line(out) == '5 passed, 0 failed'
    assert pipeline.QUIET is False


def test_a_stage_that_fails_side_by_side_fails_the_run(quiet_pipeline, monkeypatch, capsys):
    monkeypatch.setattr(run_tests.StageRunner, 'units', lambda self: (0, 1, '') if self.toolchain is MATRIX[1] else (1, 0, ''))
    names = [toolchain.name for toolchain in MATRIX[:3]]
    assert run_tests.main(['--toolchains', ','.join(names), '--stages', 'units', '--jobs', '2']) == 1
    assert last_line(capsys.readouterr().out) == '2 passed, 1 failed'


def test_a_failing_setup_fails_every_stage_of_the_toolchain(quiet_pipeline, monkeypatch, capsys):
    def no_venv(toolchain):
        raise subprocess.CalledProcessError(1, ['pip'])

    monkeypatch.setattr(pipeline, 'ensure_venv', no_venv)
    assert run_tests.main(['--toolchains', MATRIX[0].name, '--stages', 'units,simulator']) == 1
    assert last_line(capsys.readouterr().out) == '0 passed, 2 failed'


# --- what make test needs -------------------------------------------------------------------------------------------

def test_a_missing_python_is_named_once_with_its_install_command_and_fails_its_stages(monkeypatch, capsys, tmp_path):
    real_find_python = pipeline.find_python

    def find_python(version):
        if version in ('3.9', '3.10'):
            raise pipeline.PipelineError('no Python %s' % version)
        return real_find_python(version) if version == '3.11' else sys.executable

    monkeypatch.setattr(pipeline, 'find_python', find_python)
    monkeypatch.setattr(run_tests, 'node_version', lambda: (20, 1))
    monkeypatch.setattr(run_tests, 'missing_wireshark_tools', lambda: [])
    plan = [(MATRIX[0], ['sanity', 'units'])]
    missing = run_tests.preflight(plan)
    assert [item.what for item in missing] == ['Python 3.9, 3.10']
    assert re.search(r'pyenv install 3\.9 3\.10$', missing[0].install)
    assert missing[0].stages == [(MATRIX[0].name, 'sanity')]


def test_missing_node_blocks_the_contract_stage_only(monkeypatch):
    monkeypatch.setattr(pipeline, 'find_python', lambda version: sys.executable)
    monkeypatch.setattr(run_tests, 'node_version', lambda: None)
    monkeypatch.setattr(run_tests, 'missing_wireshark_tools', lambda: [])
    missing = run_tests.preflight([(MATRIX[0], ['units', 'contract'])])
    assert len(missing) == 1 and 'Node.js' in missing[0].what and missing[0].install == 'apt-get install -y nodejs npm'
    assert missing[0].stages == [(MATRIX[0].name, 'contract')]


def test_main_prints_the_missing_line_and_counts_the_blocked_stages(quiet_pipeline, monkeypatch, capsys):
    missing = run_tests.Missing('Python 3.9', 'pyenv install 3.9', [(MATRIX[0].name, 'sanity')])
    monkeypatch.setattr(run_tests, 'preflight', lambda plan: [missing])
    ran = []
    monkeypatch.setattr(run_tests.StageRunner, 'sanity', lambda self: ran.append('sanity') or (1, 0, ''))
    assert run_tests.main(['--toolchains', MATRIX[0].name, '--stages', 'sanity,units']) == 1
    out = capsys.readouterr().out
    assert 'MISSING: Python 3.9, needed by sanity; install it with: pyenv install 3.9' in out.splitlines()
    assert ran == [] and last_line(out) == '1 passed, 1 failed'


# --- state stays in the project -------------------------------------------------------------------------------------

def test_home_and_the_ansible_test_cache_are_inside_the_project(monkeypatch, tmp_path):
    user_home = tmp_path / 'user'
    (user_home / '.config' / 'pip').mkdir(parents=True)
    (user_home / '.config' / 'pip' / 'pip.conf').write_text('[global]\nindex-url = https://mirror.example/simple\n')
    monkeypatch.setenv('HOME', str(user_home))
    for name in ('PYENV_ROOT', 'PIP_CONFIG_FILE', 'XDG_CONFIG_HOME', 'XDG_CACHE_HOME', 'NPM_CONFIG_USERCONFIG', 'CFPCAP_PROJECT_HOME'):
        monkeypatch.setenv(name, '')  # recorded, so that what isolate_home sets is undone after the test
        monkeypatch.delenv(name)
    pipeline.isolate_home()
    assert os.environ['HOME'] == pipeline.PROJECT_HOME and os.path.expanduser('~').startswith(pipeline.REPO_ROOT + os.sep)
    assert os.environ['XDG_CACHE_HOME'].startswith(pipeline.PROJECT_HOME)
    assert os.environ['PYENV_ROOT'] == str(user_home / '.pyenv')
    assert os.environ['PIP_CONFIG_FILE'] == str(user_home / '.config' / 'pip' / 'pip.conf')
    assert pipeline.ANSIBLE_TEST_CACHE.startswith(pipeline.PROJECT_HOME + os.sep)
    assert pipeline.toolchain_env(MATRIX[0])['HOME'] == pipeline.PROJECT_HOME


# --- the matrix -----------------------------------------------------------------------------------------------------

def minor(toolchain):
    return toolchain.ansible_core.rstrip('.*')


def test_the_matrix_has_the_floor_and_the_newest_in_full_and_units_on_every_minor_between():
    full = set(matrix.FULL_STAGES)
    minors = sorted({minor(toolchain) for toolchain in MATRIX}, key=run_tests.version_key)
    assert minors[0] == '2.16'  # meta/runtime.yml: requires_ansible >=2.16.0
    assert [int(version.split('.')[1]) for version in minors] == list(range(16, int(minors[-1].split('.')[1]) + 1))
    for version in (minors[0], '2.19', minors[-1]):
        assert any(minor(toolchain) == version and full <= set(toolchain.stages) for toolchain in MATRIX), version
    per_python = set(matrix.PER_PYTHON_STAGES)
    assert {toolchain.python for toolchain in MATRIX if minor(toolchain) == minors[-1] and per_python <= set(toolchain.stages)} >= {'3.12', '3.13'}
    assert all('units' in toolchain.stages for toolchain in MATRIX)
    for stage in run_tests.ALL_STAGES:
        assert any(stage in toolchain.stages for toolchain in MATRIX), stage


def readme_sentence_for_the_matrix():
    """The README's sentence, as the matrix makes it."""
    def versions(names):
        names = list(names)
        return ', '.join(names[:-1]) + ' and ' + names[-1] if len(names) > 1 else names[0]

    full_releases = {minor(toolchain) for toolchain in MATRIX if set(matrix.FULL_STAGES) <= set(toolchain.stages)}
    full, units = {}, []
    for toolchain in sorted(MATRIX, key=lambda toolchain: run_tests.version_key(minor(toolchain))):
        if minor(toolchain) in full_releases and set(matrix.PER_PYTHON_STAGES) <= set(toolchain.stages):
            full.setdefault(minor(toolchain), []).append(toolchain.python)
        elif minor(toolchain) not in units:
            units.append(minor(toolchain))
    full_text = versions('%s (Python %s)' % (version, versions(sorted(pythons, key=run_tests.version_key))) for version, pythons in full.items())
    return 'Tested with ansible-core %s: every test stage (sanity once per release); and with %s: the unit tests.' % (full_text, versions(units))


def test_the_readme_tested_with_line_follows_the_matrix():
    with open(os.path.join(pipeline.REPO_ROOT, 'README.md'), encoding='utf-8') as readme:
        requirements = readme.read().split('## Requirements', 1)[1].split('\n## ', 1)[0]
    assert readme_sentence_for_the_matrix() in ' '.join(requirements.split()), readme_sentence_for_the_matrix()


def test_missing_java_blocks_the_eda_stage_only(monkeypatch):
    monkeypatch.setattr(pipeline, 'find_python', lambda version: sys.executable)
    monkeypatch.setattr(run_tests, 'node_version', lambda: (20, 1))
    monkeypatch.setattr(run_tests, 'java_found', lambda: False)
    monkeypatch.setattr(run_tests, 'missing_wireshark_tools', lambda: [])
    missing = run_tests.preflight([(MATRIX[0], ['units', 'contract', 'eda'])])
    assert len(missing) == 1 and 'Java' in missing[0].what and 'openjdk' in missing[0].install
    assert missing[0].stages == [(MATRIX[0].name, 'eda')]


def test_missing_wireshark_tools_block_the_units_stage_only(monkeypatch):
    monkeypatch.setattr(pipeline, 'find_python', lambda version: sys.executable)
    monkeypatch.setattr(run_tests, 'node_version', lambda: (20, 1))
    monkeypatch.setattr(run_tests, 'java_found', lambda: True)
    monkeypatch.setattr(run_tests.shutil, 'which', lambda tool: None if tool in ('mergecap', 'capinfos') else '/usr/bin/' + tool)
    missing = run_tests.preflight([(toolchain, ['units', 'contract', 'eda']) for toolchain in MATRIX[:2]])
    assert [item.what for item in missing] == ["Wireshark's mergecap, capinfos (the pcap merge and Community ID tests' witnesses)"]
    assert missing[0].install == 'apt-get install -y --no-install-recommends wireshark-common tshark'
    assert missing[0].stages == [(toolchain.name, 'units') for toolchain in MATRIX[:2]]


def test_the_wireshark_tools_the_runner_checks_are_the_ones_the_unit_tests_run():
    run = set()
    for name, pattern in (('test_merge.py', r"wireshark\('(\w+)'"), ('test_community_id.py', r"shutil\.which\('(\w+)'\)")):
        with open(os.path.join(pipeline.REPO_ROOT, 'tests', 'unit', 'plugins', 'module_utils', '_pcap', name),
                  encoding='utf-8') as tests:
            run |= set(re.findall(pattern, tests.read()))
    assert run == set(run_tests.WIRESHARK_TOOLS)


def test_the_eda_stage_runs_on_one_toolchain():
    assert [toolchain.name for toolchain in MATRIX if 'eda' in toolchain.stages] == [MATRIX[0].name]


class FakeDocToolchain:
    """A toolchain whose ansible-doc is a script: JSON on stdout, and a library's warning on stderr."""

    def __init__(self, directory, doc_json):
        self.directory = directory
        script = directory / 'ansible-doc'
        script.write_text('#!/bin/sh\necho "CryptographyDeprecationWarning: DSA is deprecated" >&2\n'
                          'case "$*" in *--json*) printf \'%%s\' \'%s\' ;; *) echo "> CLOUDFLARE.PCAP.CAPTURE_STOP" ;; esac\n' % doc_json)
        script.chmod(0o755)

    def bin(self, program):
        return str(self.directory / program)


def test_ansible_doc_json_is_read_from_stdout_alone(tmp_path):
    """A warning that a library prints on stderr (cryptography 51 under ansible-core 2.21) does not spoil the JSON."""
    module = 'cloudflare.pcap.capture_stop'
    good = '{"%s": {"doc": {"options": {"capture_id": {}}}, "examples": "- name: x"}}' % module
    assert run_tests.module_doc_renders(module, FakeDocToolchain(tmp_path, good), dict(os.environ))


def test_ansible_doc_json_without_examples_fails(tmp_path):
    module = 'cloudflare.pcap.capture_stop'
    no_examples = '{"%s": {"doc": {"options": {"capture_id": {}}}, "examples": ""}}' % module
    assert not run_tests.module_doc_renders(module, FakeDocToolchain(tmp_path, no_examples), dict(os.environ))
