# Copyright: cloudflare.pcap maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Counting what a nox session tested, from what it left in build/results/<session>/ and nox's verdict.

`make test` (tests/tools/suite.py) counts every test of every session, and is never green on a partial run:
- JUnit files (ansible-test sanity and units, the pytest suites, the build check): each test case counts; a skipped
  case is a failure unless EXPECTED_SKIPS names it with the reason;
- ansible-test integration writes no JUnit: its data file (tests/output/data/integration-*.json, written also
  when targets failed) lists the targets that passed; every expected target that it does not list (failed, left
  out by an alias, never reached) counts as failed;
- the lint sessions (antsibull-nox's and ours) report no tests: each counts as one check;
- a session that nox did not report a success for (failed, skipped for want of an interpreter, never run) and
  whose files show no failure counts one; a session that ran no test counts one.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import glob
import json
import os
import re
from xml.etree import ElementTree

# Skips that are expected, with the reason; any other skipped test counts as a failure. Keys are the kind of
# session (sanity, units, or the pytest suite's session name) and an fnmatch pattern of the test's id (sanity: the
# JUnit name, e.g. "compile-python-3.8"; pytest: "path/to/test_file.py::test_name[param]"). The reasons are printed
# in the session's note.
EXPECTED_SKIPS = {
    'sanity': (
        # ansible-test runs these on every Python it supports for modules; ours need >= 3.9 (tests/config.yml).
        ('compile-python-2.7', 'no file claims Python < 3.9'),
        ('compile-python-3.[5-8]', 'no file claims Python < 3.9'),
        ('import-python-2.7', 'no file claims Python < 3.9'),
        ('import-python-3.[5-8]', 'no file claims Python < 3.9'),
        ('future-import-boilerplate-python-*', 'no file claims Python 2 (ansible-core 2.16 checks only those)'),
        ('metaclass-boilerplate-python-*', 'no file claims Python 2 (ansible-core 2.16 checks only those)'),
        ('empty-init-python-*', 'no __init__.py under plugins/'),
        ('pslint-python-*', 'no PowerShell file'),
        # The modules claim >= 3.9, so 3.14 is claimed too, but this machine has 3.9 to 3.13 (pyenv): untested.
        # To test it: `pyenv install 3.14`, add '3.14' to MODULE_PYTHONS (matrix.py) and drop these two lines.
        ('compile-python-3.14', 'Python 3.14 is not installed here (pyenv has 3.9 to 3.13): UNTESTED'),
        ('import-python-3.14', 'Python 3.14 is not installed here (pyenv has 3.9 to 3.13): UNTESTED'),
    ),
}

# The sessions whose tests are pytest suites (tests/<name>), counted from their JUnit file.
PYTEST_SESSIONS = ('simulator', 'runner', 'contract', 'eda')
# The build check of a toolchain (noxfile.py), counted from its JUnit file; not antsibull-nox's build-import-check.
BUILD_SESSION = re.compile(r'^build-\d+\.\d+-py\d+\.\d+$')


@dataclasses.dataclass
class Skip:
    """A test case that a tool reported as skipped: its id (see EXPECTED_SKIPS) and the tool's reason."""

    test_id: str
    message: str = ''


@dataclasses.dataclass
class SessionCount:
    """One row of the table: a session's tests, and what the note says about them."""

    session: str
    passed: int = 0
    failed: int = 0
    note: str = ''
    seconds: float = 0.0


def kind_of(session_name: str) -> str:
    """How a session's tests are counted: sanity, units, integration, junit (pytest suites, build checks) or check
    (one check, the lint sessions)."""
    for stage in ('sanity', 'units', 'integration'):
        if session_name.startswith('ansible-test-%s-' % stage):
            return stage
    if session_name in PYTEST_SESSIONS or is_build_session(session_name):
        return 'junit'
    return 'check'


def is_build_session(session_name: str) -> bool:
    return bool(BUILD_SESSION.match(session_name))


def results_dir(build_dir: str, session_name: str) -> str:
    """Where a session leaves what it tested: build/results/<session name>."""
    return os.path.join(build_dir, 'results', session_name)


def count_session(session_name: str, nox_result: str, directory: str, expected_targets: list[str] = ()) -> SessionCount:
    """A session's count from nox's verdict (success, failed, skipped, aborted; '' when nox never got to it) and the
    files in its results directory; expected_targets: the integration targets it had to run."""
    kind = kind_of(session_name)
    succeeded = nox_result == 'success'
    verdict = 'nox: %s' % (nox_result or 'not run')
    if kind == 'check':
        return SessionCount(session_name, int(succeeded), int(not succeeded), '' if succeeded else verdict)
    if kind == 'integration':
        passed, failed, note = integration_counts(glob.glob(os.path.join(directory, 'integration-*.json')), expected_targets)
    else:
        junit_paths = sorted(glob.glob(os.path.join(directory, '*.xml')))
        passed, failing, skipped = count_junit(junit_paths, sanity=kind == 'sanity')
        passed, failed, note = judged_counts(kind if kind != 'junit' else session_name, passed, len(failing), skipped)
        note = '; '.join(part for part in (failed_cases_note(failing), note) if part)
    return SessionCount(session_name, *reconciled(succeeded, passed, failed, verdict, note))


def reconciled(succeeded: bool, passed: int, failed: int, verdict: str, note: str) -> tuple[int, int, str]:
    """Reconcile nox's verdict with the files: a session that did not succeed and shows no failure counts one, and
    so does one that ran no test."""
    if not succeeded and failed == 0:
        problem = verdict + (' without running a test' if passed == 0 else '')
        return passed, 1, '; '.join(part for part in (problem, note) if part)
    if passed + failed == 0:
        return 0, 1, '; '.join(part for part in ('ran no test', note) if part)
    return passed, failed, note


def unexpected_skips(kind: str, skipped: list[Skip]) -> tuple[list[Skip], list[tuple[Skip, str]]]:
    """Split skipped tests into the unexpected ones and the expected ones with EXPECTED_SKIPS' reason."""
    unexpected, expected = [], []
    for skip in skipped:
        reason = next((why for pattern, why in EXPECTED_SKIPS.get(kind, ()) if fnmatch.fnmatchcase(skip.test_id, pattern)), None)
        if reason is None:
            unexpected.append(skip)
        else:
            expected.append((skip, reason))
    return unexpected, expected


def judged_counts(kind: str, passed: int, failed: int, skipped: list[Skip]) -> tuple[int, int, str]:
    """An unexpected skip counts as a failure; the expected ones are named in the note with their reason."""
    unexpected, expected = unexpected_skips(kind, skipped)
    notes = []
    if unexpected:
        named = ['%s (%s)' % (skip.test_id, skip.message) if skip.message else skip.test_id for skip in unexpected]
        notes.append('unexpected skip: %s' % ', '.join(named))
    if expected:
        reasons = sorted(set(reason for _skip, reason in expected))
        notes.append('%d skipped as expected (%s)' % (len(expected), '; '.join(reasons)))
    return passed, failed + len(unexpected), '; '.join(notes)


def integration_counts(data_paths: list[str], expected: list[str]) -> tuple[int, int, str]:
    """A target passed when an ansible-test data file lists it; every other expected target counts as failed."""
    passed_targets: set[str] = set()
    for path in data_paths:
        with open(path) as data_file:
            passed_targets.update(json.load(data_file).get('targets', {}))
    failed = sorted(set(expected) - passed_targets)
    note = 'failed or not run: %s' % ', '.join(failed) if failed else ''
    return len(set(expected) & passed_targets), len(failed), note


def expected_targets(targets_dir: str, selected: tuple[str, ...] = ()) -> list[str]:
    """The integration targets that must run: the selected ones, or every target directory but the hidden setup_*
    ones (they run as dependencies of the others)."""
    if selected:
        return sorted(set(selected))
    if not os.path.isdir(targets_dir):
        return []
    hidden = hidden_targets(targets_dir)
    return sorted(name for name in os.listdir(targets_dir) if os.path.isdir(os.path.join(targets_dir, name)) and not name.startswith('.')
                  and not (name.startswith('setup_') and name in hidden))


def hidden_targets(targets_dir: str) -> set[str]:
    hidden = set()
    for aliases_path in glob.glob(os.path.join(targets_dir, '*', 'aliases')):
        with open(aliases_path) as aliases:
            if 'hidden' in aliases.read().split():
                hidden.add(os.path.basename(os.path.dirname(aliases_path)))
    return hidden


def count_junit(paths: list[str], sanity: bool = False) -> tuple[int, list[str], list[Skip]]:
    """Over JUnit XML files: the number of passed test cases, the ids of the failed ones (an error counts as a
    failure) and the skipped ones.

    A case's id is "classname::name" (pytest: "path/to/test_file.py::test_name[param]"), or the name alone for
    ansible-test sanity ("compile-python-3.8").
    """
    passed = 0
    failing = []
    skipped = []
    for path in paths:
        for case in ElementTree.parse(path).getroot().iter('testcase'):
            if case.find('failure') is not None or case.find('error') is not None:
                failing.append(case_id(case, sanity))
            elif case.find('skipped') is not None:
                skip = case.find('skipped')
                skipped.append(Skip(case_id(case, sanity), (skip.get('message') or skip.text or '').strip()))
            else:
                passed += 1
    return passed, failing, skipped


def failed_cases_note(failing: list[str], shown: int = 5) -> str:
    """The first failing test cases, named for the table's note: 'failed: a, b (+3 more)'."""
    if not failing:
        return ''
    more = ' (+%d more)' % (len(failing) - shown) if len(failing) > shown else ''
    return 'failed: %s%s' % (', '.join(failing[:shown]), more)


def case_id(case: ElementTree.Element, sanity: bool = False) -> str:
    name = case.get('name', '')
    if sanity:
        return name
    classname = case.get('classname', '')
    # pytest's classname is the dotted module path (and class): tests.unit.test_docs.TestX -> tests/unit/test_docs.py::TestX
    parts = classname.split('.')
    module_end = next((index for index in range(len(parts), 0, -1) if parts[index - 1].startswith('test')), len(parts))
    path = '/'.join(parts[:module_end]) + '.py' if classname else ''
    return '::'.join(part for part in [path] + parts[module_end:] + [name] if part)


def write_junit(path: str, suite: str, cases: list[tuple[str, str]]) -> None:
    """A JUnit file of (name, failure message or '') cases, for the checks that are not pytest (the build check)."""
    root = ElementTree.Element('testsuites')
    suite_element = ElementTree.SubElement(root, 'testsuite', name=suite, tests=str(len(cases)),
                                           failures=str(sum(1 for _name, failure in cases if failure)))
    for name, failure in cases:
        case = ElementTree.SubElement(suite_element, 'testcase', classname=suite, name=name)
        if failure:
            ElementTree.SubElement(case, 'failure', message=failure)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    ElementTree.ElementTree(root).write(path, encoding='utf-8', xml_declaration=True)
