# Copyright: cloudflare.pcap maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Counting a nox session's tests (tests/tools/results.py) from fake JUnit and data files and nox verdicts: never
green on a partial run."""

from __future__ import annotations

import json
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pipeline  # noqa: E402  pylint: disable=wrong-import-position
import results  # noqa: E402  pylint: disable=wrong-import-position

PASSED_CASE = '<testcase classname="tests.unit.test_docs" name="test_ok"/>'
FAILED_CASE = '<testcase classname="tests.unit.test_docs" name="test_bad"><failure message="no">no</failure></testcase>'


def skipped_case(classname, name, message='because'):
    return '<testcase classname="%s" name="%s"><skipped message="%s"/></testcase>' % (classname, name, message)


def junit(directory, name, *cases):
    os.makedirs(str(directory), exist_ok=True)
    path = os.path.join(str(directory), name)
    with open(path, 'w') as report:
        report.write('<?xml version="1.0" ?><testsuites><testsuite name="pytest">%s</testsuite></testsuites>' % ''.join(cases))
    return path


# --- what kind of session ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize('name, kind', [('ansible-test-sanity-2.16-py3.11', 'sanity'), ('ansible-test-units-2.21-py3.13', 'units'),
                                        ('ansible-test-integration-2.19-py3.11', 'integration'), ('simulator', 'junit'),
                                        ('eda', 'junit'), ('build-2.21-py3.12', 'junit'), ('docs-check', 'check'), ('ee-create', 'check'),
                                        ('build-import-check', 'check')])
def test_each_session_is_counted_its_way(name, kind):
    assert results.kind_of(name) == kind


# --- nox's verdict and the files together -----------------------------------------------------------------------------

@pytest.mark.parametrize('verdict', ['failed', 'skipped', 'aborted', ''])
def test_a_session_that_did_not_succeed_and_shows_no_failure_counts_one(tmp_path, verdict):
    junit(tmp_path, 'pytest.xml', PASSED_CASE, PASSED_CASE)
    count = results.count_session('simulator', verdict, str(tmp_path))
    assert (count.passed, count.failed) == (2, 1) and 'nox: %s' % (verdict or 'not run') in count.note


def test_a_session_that_succeeded_without_a_test_counts_one(tmp_path):
    count = results.count_session('runner', 'success', str(tmp_path / 'nothing'))
    assert (count.passed, count.failed, count.note) == (0, 1, 'ran no test')


def test_failures_are_counted_as_the_files_give_them(tmp_path):
    junit(tmp_path, 'python3.11-modules-units.xml', PASSED_CASE, FAILED_CASE, FAILED_CASE)
    junit(tmp_path, 'python3.11-controller-units.xml', PASSED_CASE)
    count = results.count_session('ansible-test-units-2.19-py3.11', 'failed', str(tmp_path))
    assert (count.passed, count.failed) == (2, 2)


def test_the_note_names_the_first_failing_tests(tmp_path):
    failing = ['<testcase classname="tests.unit.test_docs" name="test_%d"><error message="x"/></testcase>' % number for number in range(7)]
    junit(tmp_path, 'pytest.xml', PASSED_CASE, *failing)
    count = results.count_session('simulator', 'failed', str(tmp_path))
    assert count.note == 'failed: %s (+2 more)' % ', '.join('tests/unit/test_docs.py::test_%d' % number for number in range(5))


@pytest.mark.parametrize('verdict, expected', [('success', (1, 0)), ('failed', (0, 1)), ('skipped', (0, 1)), ('', (0, 1))])
def test_a_lint_session_is_one_check(tmp_path, verdict, expected):
    count = results.count_session('docs-check', verdict, str(tmp_path))
    assert (count.passed, count.failed) == expected


# --- skips ------------------------------------------------------------------------------------------------------------

def test_an_unexpected_pytest_skip_fails_the_session(tmp_path):
    junit(tmp_path, 'pytest.xml', PASSED_CASE, skipped_case('tests.simulator.test_server', 'test_x', 'no Node.js'))
    count = results.count_session('simulator', 'success', str(tmp_path))
    assert (count.passed, count.failed) == (1, 1)
    assert 'unexpected skip: tests/simulator/test_server.py::test_x (no Node.js)' in count.note


def test_a_run_of_skips_only_is_not_green(tmp_path):
    junit(tmp_path, 'pytest.xml', skipped_case('tests.unit.test_docs', 'a'), skipped_case('tests.unit.test_docs', 'b'))
    count = results.count_session('ansible-test-units-2.19-py3.11', 'success', str(tmp_path))
    assert (count.passed, count.failed) == (0, 2)


def test_an_allowed_skip_is_named_with_its_reason(tmp_path, monkeypatch):
    monkeypatch.setitem(results.EXPECTED_SKIPS, 'units', (('tests/unit/test_docs.py::test_a', 'needs a display'),))
    junit(tmp_path, 'x-units.xml', PASSED_CASE, skipped_case('tests.unit.test_docs', 'test_a'))
    count = results.count_session('ansible-test-units-2.19-py3.11', 'success', str(tmp_path))
    assert (count.passed, count.failed, count.note) == (1, 0, '1 skipped as expected (needs a display)')


def sanity_case(name, outcome):
    body = {'passed': '', 'failed': '<failure message="x">x</failure>', 'skipped': '<skipped>No tests applicable.</skipped>'}[outcome]
    return '<testcase classname="sanity" name="%s">%s</testcase>' % (name, body)


def test_sanity_skips_are_expected_only_when_listed(tmp_path):
    for name, outcome in (('pep8', 'passed'), ('compile-python-3.8', 'skipped'), ('validate-modules', 'skipped'), ('shellcheck', 'skipped')):
        junit(tmp_path, 'ansible-test-sanity-%s.xml' % name, sanity_case(name, outcome))
    count = results.count_session('ansible-test-sanity-2.19-py3.11', 'success', str(tmp_path))
    assert (count.passed, count.failed) == (1, 2)
    assert 'unexpected skip: shellcheck (No tests applicable.), validate-modules (' in count.note and '1 skipped as expected' in count.note


# --- integration: the data file ansible-test writes ---------------------------------------------------------------------

def make_targets(tmp_path, aliases):
    targets_dir = tmp_path / 'targets'
    for name, text in aliases.items():
        (targets_dir / name).mkdir(parents=True)
        if text is not None:
            (targets_dir / name / 'aliases').write_text(text)
    return str(targets_dir)


def integration_data(directory, *passed):
    """ansible-test's tests/output/data/integration-<time>.json: the targets that passed."""
    os.makedirs(str(directory), exist_ok=True)
    with open(os.path.join(str(directory), 'integration-2026-12-06-07-00-00.json'), 'w') as data:
        json.dump({'targets': {name: {'name': name, 'run_time_seconds': 1} for name in passed}}, data)


@pytest.mark.parametrize('alias', ['disabled', 'unsupported', 'unstable', 'skip/python3', 'hidden'])
def test_a_target_that_ansible_test_leaves_out_counts_as_failed(tmp_path, alias):
    targets_dir = make_targets(tmp_path, {'a': 'context/controller\n', 'b': alias + '\n'})
    expected = results.expected_targets(targets_dir)
    assert expected == ['a', 'b']
    integration_data(tmp_path / 'results', 'a')
    count = results.count_session('ansible-test-integration-2.19-py3.11', 'success', str(tmp_path / 'results'), expected)
    assert (count.passed, count.failed, count.note) == (1, 1, 'failed or not run: b')


def test_failed_targets_and_targets_never_reached_are_counted(tmp_path):
    integration_data(tmp_path, 'a')
    count = results.count_session('ansible-test-integration-2.19-py3.11', 'failed', str(tmp_path), ['a', 'b', 'c'])
    assert (count.passed, count.failed) == (1, 2)


def test_an_integration_run_that_wrote_no_data_counts_every_target(tmp_path):
    count = results.count_session('ansible-test-integration-2.19-py3.11', 'failed', str(tmp_path), ['a', 'b'])
    assert (count.passed, count.failed) == (0, 2)


def test_a_selected_target_that_does_not_exist_counts_as_failed(tmp_path):
    targets_dir = make_targets(tmp_path, {'a': None})
    expected = results.expected_targets(targets_dir, ('a', 'typo'))
    integration_data(tmp_path / 'results', 'a')
    count = results.count_session('ansible-test-integration-2.19-py3.11', 'success', str(tmp_path / 'results'), expected)
    assert (count.passed, count.failed) == (1, 1) and 'typo' in count.note


def test_every_target_of_the_collection_is_expected_but_the_hidden_setup_ones():
    targets_dir = os.path.join(pipeline.REPO_ROOT, 'tests', 'integration', 'targets')
    present = [name for name in os.listdir(targets_dir) if os.path.isdir(os.path.join(targets_dir, name))]
    hidden_setup = sorted(name for name in results.hidden_targets(targets_dir) if name.startswith('setup_'))
    assert results.expected_targets(targets_dir) == sorted(set(present) - set(hidden_setup))
    assert 'fault_injection' in results.expected_targets(targets_dir)


# --- the build check's JUnit file ---------------------------------------------------------------------------------------

def test_the_build_check_is_counted_from_the_junit_file_it_writes(tmp_path):
    results.write_junit(str(tmp_path / 'build.xml'), 'build-2.19-py3.11', [('build', ''), ('ansible-doc a', ''), ('ansible-doc b', 'no examples')])
    count = results.count_session('build-2.19-py3.11', 'failed', str(tmp_path))
    assert (count.passed, count.failed) == (2, 1)
