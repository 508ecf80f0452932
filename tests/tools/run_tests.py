# Copyright: cloudflare.pcap maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The test pipeline behind `make test`: every stage, for every toolchain of the matrix, in a copy of the collection.

Usage: python tests/tools/run_tests.py [--stages sanity,units,...] [--toolchains core-2.19-py3.11,...] [--targets t1,t2]

Prints one row per (toolchain, stage) and, as its last line, "N passed, N failed". Exits non-zero when a test
failed or when a stage could not run. The run is never green on a partial run:
- a stage that cannot run (a missing interpreter or Node.js, a setup error, an exception of any type in the runner)
  counts as one failure; the table and the totals line are printed whatever happens;
- a tool's exit code other than 0 (a negative one too: killed by a signal) fails its stage even when the tool
  reported no failed test;
- every integration target directory (but the hidden setup_* ones, which run as dependencies) runs or counts as
  failed, so a target that ansible-test leaves out (disabled, unsupported, unstable, skip/... aliases) fails;
- a skipped test is a failure unless EXPECTED_SKIPS names it with the reason.

The matrix (MATRIX). Full stages on the oldest ansible-core that meta/runtime.yml claims (2.16), on 2.19 and on the
newest (2.21, on Python 3.12 and 3.13); units on every minor in between (2.17, 2.18, 2.20). "Full" is sanity,
units, integration and build. What runs once, on purpose, to stay under 25 minutes on an idle 2-core machine:
- sanity once per release: on 2.21 it runs on Python 3.12 only. Its results do not depend on the controller's
  Python: the tests that do (compile, import) run on every Python from 3.9 to 3.13 from one controller anyway;
  units, integration and build (where the in-process runner meets the controller's Python) run on 3.13 too;
- stages that do not depend on ansible-core run on one toolchain: simulator (the simulator and its tests import no
  ansible), runner (this file's own tests), contract (Prism against the spec; the module code under test is the
  same on every release) and lint (the ecosystem tools bring their own ansible-core in nox virtualenvs). They run
  on 2.19 (Python 3.11), which is also the demo's toolchain.
Toolchains run two side by side (--jobs): an integration run keeps about half a core busy, the rest of its time
it waits for the simulator's clock and for retries. Each toolchain has its own virtualenv, collection copy
(build/toolchains/<toolchain>), simulator and logs; sanity runs one at a time (it keeps both cores busy and
builds virtualenvs that toolchains share).

What `make test` needs (checked up front by preflight(); what is missing is named on one line starting with
"MISSING:" together with the command that installs it, and every stage that needs it counts as failed):
- Python 3.11, 3.12 and 3.13 for the toolchains' virtualenvs, and 3.9 to 3.13 for the sanity tests compile and
  import (pyenv's or on PATH);
- Node.js >= 18 with npm for the contract stage (Prism);
- Wireshark's mergecap, editcap and capinfos (Debian package wireshark-common) and tshark (package tshark) for the
  units stage: the pcap merge and Community ID tests' independent witnesses;
- access to the package registries: every virtualenv (ours and ansible-test's) is installed from PyPI, Prism
  from npm.

Nothing is written into the user's home: the runner's HOME is .venvs/home (pipeline.isolate_home), where
ansible-test keeps its cache, pip bootstrap and virtualenvs, and pip and npm their caches.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import fnmatch
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from xml.etree import ElementTree

import pipeline
from matrix import ALL_STAGES, MATRIX, MODULE_PYTHONS
from pipeline import PipelineError, Toolchain, log

# Skips that are expected, with the reason; any other skipped test counts as a failure of its stage. Keys are the
# stage and an fnmatch pattern of the test's name (sanity: the JUnit name, e.g. "compile-python-3.8", also for an
# interpreter ansible-test did not find; pytest: "path/to/test_file.py::test_name[param]"). The reasons are printed
# in the stage's note.
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
        # To test it: `pyenv install 3.14`, add '3.14' to MODULE_PYTHONS and drop these two lines.
        ('compile-python-3.14', 'Python 3.14 is not installed here (pyenv has 3.9 to 3.13): UNTESTED'),
        ('import-python-3.14', 'Python 3.14 is not installed here (pyenv has 3.9 to 3.13): UNTESTED'),
    ),
}

# The `lint` stage: the ecosystem gates, as nox sessions (noxfile.py, antsibull-nox.toml); each session is one check.
LINT_SESSIONS = (
    'docs-check',  # antsibull-docs lint-collection-docs --plugin-docs (module docs, docs/docsite, extra-docs.yml)
    'docs-lint-rst',  # the same with rstcheck
    'changelog-lint',  # antsibull-changelog lint, lint-changelog-yaml
    'extra-checks',  # action groups vs. modules, no unwanted files in plugins/, no trailing whitespace
    'ansible-lint',  # production profile, offline: roles/, tests/ (demo playbook, integration targets), meta/, galaxy.yml
    'ansible-lint-examples',  # production profile over each module's EXAMPLES as a playbook
    'build-import-check',  # ansible-galaxy collection build + galaxy-importer on the tarball
    'ee-create',  # ansible-builder create + introspect (no container engine, so no build)
)
LINT_PYTHON = '3.12'
LINT_REQUIREMENTS = os.path.join(pipeline.REPO_ROOT, 'tests', 'lint', 'requirements.txt')

# The `eda` stage: ansible-rulebook runs the rulebook end to end (tests/eda) in a virtualenv of its own, cached like
# the lint one; its rule engine needs Java 17 or newer (java on PATH or JAVA_HOME).
EDA_PYTHON = '3.11'
EDA_REQUIREMENTS = os.path.join(pipeline.REPO_ROOT, 'tests', 'eda', 'requirements.txt')


SANITY_LOCK = threading.Lock()
STOP = threading.Event()  # set on Ctrl-C or SIGTERM: no stage starts any more
# Rough minutes per stage on an idle 2-core machine, to start the longest toolchains first (run side by side).
STAGE_MINUTES = {'sanity': 2, 'units': 1.5, 'simulator': 0.3, 'runner': 0.1, 'integration': 5, 'contract': 1.5, 'eda': 1, 'build': 0.7,
                 'lint': 2}


@dataclasses.dataclass
class StageResult:
    toolchain: str
    stage: str
    passed: int = 0
    failed: int = 0
    seconds: float = 0.0
    note: str = ''


@dataclasses.dataclass
class Skip:
    """A test case that a tool reported as skipped: its id (see EXPECTED_SKIPS) and the tool's reason."""

    test_id: str
    message: str = ''


class StageRunner:
    """Runs the stages of one toolchain in the collection copy; each stage method returns (passed, failed, note)."""

    def __init__(self, toolchain: Toolchain, collection_dir: str, targets: tuple[str, ...] = ()) -> None:
        self.toolchain = toolchain
        self.collection_dir = collection_dir
        self.targets = targets  # integration targets to run; empty: all of them

    @property
    def collections_root(self) -> str:
        """The directory that holds this copy's ansible_collections/cloudflare/pcap (for ANSIBLE_COLLECTIONS_PATH)."""
        return os.path.dirname(os.path.dirname(os.path.dirname(self.collection_dir)))

    def log_path(self, stage: str) -> str:
        return os.path.join(pipeline.LOGS_DIR, '%s-%s.log' % (self.toolchain.name, stage))

    def run_in_copy(self, stage: str, command: list[str], **env: str) -> tuple[int, str]:
        return pipeline.run(command, cwd=self.collection_dir, env=pipeline.toolchain_env(self.toolchain, **env), log_path=self.log_path(stage))

    def fresh_junit_dir(self) -> str:
        junit_dir = os.path.join(self.collection_dir, 'tests', 'output', 'junit')
        shutil.rmtree(junit_dir, ignore_errors=True)
        return junit_dir

    def ansible_test(self, command: str, *options: str, log_name: str = '') -> tuple[int, str]:
        """Run an ansible-test command in the copy; --venv makes ansible-test build its own virtualenvs from PyPI."""
        pipeline.seed_ansible_test_pip(self.toolchain.bin('python'), self.toolchain.python)
        return self.run_in_copy(log_name or command, [self.toolchain.bin('ansible-test'), command, '--venv', '--python', self.toolchain.python,
                                                      '--color', 'no'] + list(options))

    def sanity(self) -> tuple[int, int, str]:
        ignore_files = sorted(glob.glob(os.path.join(pipeline.REPO_ROOT, 'tests', 'sanity', 'ignore-*.txt')))
        if ignore_files:
            raise PipelineError('sanity ignore files are not allowed: %s' % ', '.join(os.path.relpath(path, pipeline.REPO_ROOT) for path in ignore_files))
        junit_dir = self.fresh_junit_dir()
        # Without --python, ansible-test runs the multi-version tests (compile, import) on every Python it supports
        # that is on PATH, and the rest on the controller's Python (the toolchain's, first on PATH).
        python_dirs = [os.path.dirname(pipeline.find_python(version)) for version in MODULE_PYTHONS]
        env = pipeline.toolchain_env(self.toolchain)
        env['PATH'] = os.pathsep.join([os.path.join(self.toolchain.venv_dir, 'bin')] + python_dirs + [env['PATH']])
        pipeline.seed_ansible_test_pip(self.toolchain.bin('python'), self.toolchain.python)
        # One sanity run at a time: it keeps both cores busy, and it builds virtualenvs that toolchains share
        # (~/.ansible/test/venv, keyed by their requirements) and must not build at the same time.
        with SANITY_LOCK:
            returncode, output = pipeline.run([self.toolchain.bin('ansible-test'), 'sanity', '--venv', '--color', 'no', '--junit'],
                                              cwd=self.collection_dir, env=env, log_path=self.log_path('sanity'))
        return sanity_counts(returncode, output, glob.glob(os.path.join(junit_dir, 'ansible-test-sanity-*.xml')))

    def units(self) -> tuple[int, int, str]:
        """All unit tests in one ansible-test run; when it fails, each group it did not get to (it stops at the first
        group that fails) runs on its own, so that every test is counted."""
        junit_dir = self.fresh_junit_dir()
        groups = unit_test_groups(self.collection_dir)
        returncodes = [self.ansible_test('units', '--requirements', *[path for _context, paths in groups for path in paths])[0]]
        if returncodes[0] != 0:
            reached = {re.sub(r'^python[\d.]+-(.*)-units\.xml$', r'\1', os.path.basename(path)) for path in glob.glob(os.path.join(junit_dir, '*-units.xml'))}
            returncodes += [self.ansible_test('units', '--requirements', *paths, log_name='units-%s' % context)[0]
                            for context, paths in groups if context not in reached]
        return units_counts(returncodes, glob.glob(os.path.join(junit_dir, '*-units.xml')))

    def simulator(self) -> tuple[int, int, str]:
        return self.pytest('simulator', os.path.join('tests', 'simulator'))

    def runner(self) -> tuple[int, int, str]:
        """This file's own tests (tests/tools/test_run_tests.py): the runner never reports green on a partial run."""
        return self.pytest('runner', os.path.join('tests', 'tools'))

    def contract(self) -> tuple[int, int, str]:
        with pipeline.prism() as prism_url:
            return self.pytest('contract', os.path.join('tests', 'contract'), PRISM_URL=prism_url, ANSIBLE_COLLECTIONS_PATH=self.collections_root)

    def eda(self) -> tuple[int, int, str]:
        """Event-Driven Ansible: the tests start the simulator and ansible-rulebook themselves (tests/eda/README.md)."""
        venv_dir = ensure_cached_venv('eda-py%s' % EDA_PYTHON, EDA_PYTHON, EDA_REQUIREMENTS)
        return self.pytest('eda', os.path.join('tests', 'eda'), python=os.path.join(venv_dir, 'bin', 'python'))

    def integration(self) -> tuple[int, int, str]:
        targets_dir = os.path.join(self.collection_dir, 'tests', 'integration', 'targets')
        expected = expected_targets(targets_dir, self.targets)
        if not expected:
            raise PipelineError('no integration targets in tests/integration/targets')
        python = self.toolchain.bin('python')
        with pipeline.simulator(python, self.collection_dir, '%s-simulator-server.log' % self.toolchain.name) as running, \
                pipeline.bucket_store(python, self.collection_dir, '%s-moto-server.log' % self.toolchain.name) as store:
            pipeline.write_integration_config(os.path.join(self.collection_dir, 'tests', 'integration', 'integration_config.yml'), running, store)
            # One ansible-test run for all targets: starting ansible-test once per target costs more than the targets.
            returncode, output = self.ansible_test('integration', '--requirements', '--continue-on-error', *self.targets)
        return integration_counts(returncode, output, expected, hidden_targets(targets_dir))

    def lint(self) -> tuple[int, int, str]:
        """The nox sessions of LINT_SESSIONS in the copy; each is one check, and a skipped session counts as failed."""
        venv_dir = ensure_lint_venv()
        report_path = os.path.join(pipeline.BUILD_DIR, 'logs', 'nox-report.json')
        # The first stage of a run on a fresh clone (make test STAGES=lint): nothing has made the folder yet.
        os.makedirs(os.path.dirname(report_path), exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            os.remove(report_path)
        env = pipeline.toolchain_env(self.toolchain)
        env['PATH'] = os.path.join(venv_dir, 'bin') + os.pathsep + env['PATH']
        env['VIRTUAL_ENV'] = venv_dir
        # The sessions' virtualenvs live beside the others, so that the next run reuses them (-r still installs
        # what changed); --no-install is not used, so a fresh clone installs everything.
        command = [os.path.join(venv_dir, 'bin', 'nox'), '--no-color', '--envdir', os.path.join(pipeline.VENVS_DIR, 'nox'), '--reuse-existing-virtualenvs',
                   '--report', report_path, '--sessions', *LINT_SESSIONS]
        returncode, _output = self.run_in_copy('lint', command, **{'PATH': env['PATH'], 'VIRTUAL_ENV': venv_dir})
        if not os.path.exists(report_path):
            raise PipelineError('nox wrote no report (exit code %d)' % returncode)
        with open(report_path) as report_file:
            sessions = {session['name']: session['result'] for session in json.load(report_file)['sessions']}
        passed = [name for name in LINT_SESSIONS if sessions.get(name) == 'success']
        not_passed = ['%s %s' % (name, sessions.get(name, 'not run')) for name in LINT_SESSIONS if sessions.get(name) != 'success']
        return checked_counts(returncode, len(passed), len(not_passed), 'nox',
                              '%d nox sessions' % len(passed) if not not_passed else ', '.join(not_passed))

    def build(self) -> tuple[int, int, str]:
        return build_install_document(self.toolchain, self.collection_dir, os.path.join(pipeline.BUILD_DIR, 'dist', self.toolchain.name),
                                      pipeline.toolchain_env(self.toolchain))

    def pytest(self, stage: str, test_dir: str, python: str = '', **env: str) -> tuple[int, int, str]:
        junit_path = os.path.join(self.collection_dir, 'tests', 'output', 'junit', 'pytest-%s.xml' % stage)
        with contextlib.suppress(FileNotFoundError):
            os.remove(junit_path)
        returncode, _output = self.run_in_copy(stage, [python or self.toolchain.bin('python'), '-m', 'pytest', test_dir] + pipeline.pytest_options(junit_path),
                                               **env)
        passed, failed, skipped = count_junit([junit_path] if os.path.exists(junit_path) else [])
        return judged_counts(stage, returncode, passed, failed, skipped, 'pytest')


def build_install_document(tools, collection_dir: str, dist_dir: str, env: dict[str, str]) -> tuple[int, int, str]:
    """The `build` stage: ansible-galaxy builds the collection in collection_dir (a copy: what git does not track is
    left out) into dist_dir, installs the tarball offline, and ansible-doc renders every module from it; `tools` has
    bin(program), the path of ansible-galaxy and ansible-doc (a Toolchain, or a nox session's)."""
    shutil.rmtree(dist_dir, ignore_errors=True)
    pipeline.check_run([tools.bin('ansible-galaxy'), 'collection', 'build', '--output-path', dist_dir], cwd=collection_dir, env=env)
    tarballs = glob.glob(os.path.join(dist_dir, 'cloudflare-pcap-*.tar.gz'))
    if len(tarballs) != 1:
        raise PipelineError('expected one collection tarball in %s, found %d' % (os.path.relpath(dist_dir, pipeline.REPO_ROOT), len(tarballs)))
    passed, failed = 1, 0
    with tempfile.TemporaryDirectory(prefix='cfpcap-installed-') as install_dir:
        pipeline.check_run([tools.bin('ansible-galaxy'), 'collection', 'install', '--offline', '--collections-path', install_dir, tarballs[0]],
                           env=env)
        passed += 1
        modules = sorted(os.path.splitext(os.path.basename(path))[0] for path in glob.glob(os.path.join(collection_dir, 'plugins', 'modules', '*.py'))
                         if not path.endswith('__init__.py'))
        if not modules:
            raise PipelineError('plugins/modules has no module to document')
        doc_env = dict(env, ANSIBLE_COLLECTIONS_PATH=install_dir)
        for module in modules:
            if module_doc_renders('cloudflare.pcap.' + module, tools, doc_env):
                passed += 1
            else:
                failed += 1
    return passed, failed, '%d tarball + install + ansible-doc of %d modules' % (len(tarballs), len(modules))


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split('.'))


def first_failure(returncodes: list[int]) -> int:
    """The exit code of a tool run in parts: the first one that is not 0. A negative code (killed by a signal) is a
    failure too; max() would hide it behind a 0."""
    return next((code for code in returncodes if code != 0), 0)


def unexpected_skips(stage: str, skipped: list[Skip]) -> tuple[list[Skip], list[tuple[Skip, str]]]:
    """Split skipped tests into the unexpected ones and the expected ones with EXPECTED_SKIPS' reason."""
    unexpected, expected = [], []
    for skip in skipped:
        reason = next((why for pattern, why in EXPECTED_SKIPS.get(stage, ()) if fnmatch.fnmatchcase(skip.test_id, pattern)), None)
        if reason is None:
            unexpected.append(skip)
        else:
            expected.append((skip, reason))
    return unexpected, expected


def judged_counts(stage: str, returncode: int, passed: int, failed: int, skipped: list[Skip], tool: str,
                  notes: tuple[str, ...] = ()) -> tuple[int, int, str]:
    """Counts of a stage whose tool reports skipped tests: an unexpected skip counts as a failure, an expected one
    is named in the note (briefly) with its reason."""
    unexpected, expected = unexpected_skips(stage, skipped)
    notes = list(notes)
    if unexpected:
        named = ['%s (%s)' % (skip.test_id, skip.message) if skip.message else skip.test_id for skip in unexpected]
        notes.append('unexpected skip: %s' % ', '.join(named))
    if expected:
        reasons = sorted(set(reason for _skip, reason in expected))
        notes.append('%d skipped as expected (%s)' % (len(expected), '; '.join(reasons)))
    return checked_counts(returncode, passed, failed + len(unexpected), tool, '; '.join(notes))


def sanity_counts(returncode: int, output: str, junit_paths: list[str]) -> tuple[int, int, str]:
    """Counts of `ansible-test sanity --junit` from its JUnit files and its output."""
    # --junit writes one file per sanity test: a test case, with a <failure> when the test found issues, <skipped>
    # when it had nothing to check (or could not run).
    passed, failed, skipped = count_junit(junit_paths, sanity=True)
    notes = []
    # A sanity test whose program is missing is reported as skipped, like one that has no file to check: it failed to run.
    missing_programs = sorted(set(re.findall(r'Required program "([^"]+)" not found', output)))
    if missing_programs:
        failed += len(missing_programs)
        notes.append('could not run for want of: %s' % ', '.join(missing_programs))
    # A test skipped because its virtualenv or libyaml is missing did not run either.
    cannot_run = sorted(set(re.findall(r'Skipping sanity test "([\w-]+)" on Python [\d.]+ due to', output)))
    if cannot_run:
        failed += len(cannot_run)
        notes.append('could not run: %s' % ', '.join(cannot_run))
    # A multi-version test that ansible-test skips for want of an interpreter is a skip like any other (named as in
    # the JUnit files, where ansible-test 2.21 also reports it, so that it counts once).
    reported = {skip.test_id for skip in skipped}
    skipped += [Skip('%s-python-%s' % pair, 'interpreter not found')
                for pair in sorted(set(re.findall(r'Skipping sanity test "([\w-]+)" on Python (\d+\.\d+) because it could not be found', output)),
                                   key=lambda pair: (version_key(pair[1]), pair[0]))
                if '%s-python-%s' % pair not in reported]
    tested = sorted(set(re.findall(r'Running sanity test "(?:compile|import)" on Python (\d+\.\d+)', output)), key=version_key)
    if tested:
        notes.insert(0, 'compile/import on Python %s' % ', '.join(tested))
    return judged_counts('sanity', returncode, passed, failed, skipped, 'ansible-test sanity', tuple(notes))


def units_counts(returncodes: list[int], junit_paths: list[str]) -> tuple[int, int, str]:
    """Counts of the unit test groups (one ansible-test units run each) from their exit codes and JUnit files."""
    passed, failed, skipped = count_junit(junit_paths)
    notes = ()
    if any(code < 0 for code in returncodes):
        notes = ('a unit test group was killed by signal %d' % -min(returncodes),)
    return judged_counts('units', first_failure(returncodes), passed, failed, skipped, 'ansible-test units', notes)


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


def integration_counts(returncode: int, output: str, expected: list[str], hidden: set[str]) -> tuple[int, int, str]:
    """Counts of one `ansible-test integration` run: a target passed when it ran and is not in the failure list;
    every expected target that did not run (excluded by an alias, unknown, or never reached) counts as failed."""
    ran = set(re.findall(r'^Running (\S+) integration test (?:role|script)$', output, re.MULTILINE)) - (hidden - set(expected))
    # ansible-test ends a run with failures by listing them, one target name a line.
    failed_list = re.search(r'integration test\(s\) listed below \(out of \d+\) failed\. See error output above for details:\n((?:[\w.-]+\n)+)', output)
    failed = set(failed_list.group(1).split()) if failed_list else set()
    not_run = sorted(set(expected) - ran)
    notes = ['not run: %s' % ', '.join(not_run)] if not_run else []
    passed = len((ran & set(expected)) - failed)
    return checked_counts(returncode, passed, len(failed | set(not_run)), 'ansible-test integration', '; '.join(notes))


def hidden_targets(targets_dir: str) -> set[str]:
    hidden = set()
    for aliases_path in glob.glob(os.path.join(targets_dir, '*', 'aliases')):
        with open(aliases_path) as aliases:
            if 'hidden' in aliases.read().split():
                hidden.add(os.path.basename(os.path.dirname(aliases_path)))
    return hidden


def unit_test_groups(collection_dir: str) -> list[tuple[str, list[str]]]:
    """The unit tests split the way ansible-test units runs them, as (test context, paths): modules, module_utils,
    and the rest (controller). Its JUnit files are named after the context (python3.11-module_utils-units.xml).

    ansible-test stops at the first of these groups that fails; running each on its own counts every test.
    """
    unit_dir = os.path.join(collection_dir, 'tests', 'unit')
    target_side_dirs = [os.path.join(unit_dir, 'plugins', context) for context in ('modules', 'module_utils')]
    # ansible-test matches a directory target only with its trailing slash.
    groups = [(os.path.basename(directory), [os.path.relpath(directory, collection_dir) + '/']) for directory in target_side_dirs if os.path.isdir(directory)]
    controller_tests = sorted(os.path.relpath(path, collection_dir) for path in glob.glob(os.path.join(unit_dir, '**', 'test_*.py'), recursive=True)
                              if not any(path.startswith(directory + os.sep) for directory in target_side_dirs))
    if controller_tests:
        groups.append(('controller', controller_tests))
    if not groups:
        raise PipelineError('no unit tests in tests/unit')
    return groups


def module_doc_renders(module: str, toolchain, env: dict[str, str]) -> bool:
    """ansible-doc renders the module's documentation as text, and as JSON with its options and examples."""
    text_code, text = pipeline.run([toolchain.bin('ansible-doc'), '--type', 'module', module], env=env, echo=False)
    json_code, doc_json, json_errors = pipeline.run_apart([toolchain.bin('ansible-doc'), '--type', 'module', '--json', module], env=env)
    problem = ''
    if text_code != 0 or json_code != 0 or module.upper() not in text.upper():
        problem = 'does not render:\n%s\n%s%s' % (text, doc_json, json_errors)
    else:
        try:
            entry = json.loads(doc_json)[module]
            if not entry['doc']['options'] or not entry['examples']:
                problem = 'has no options or no examples'
        except (ValueError, KeyError, TypeError) as error:
            problem = 'gives unexpected JSON (%r)' % error
    log('ansible-doc %s: %s' % (module, problem or 'renders'))
    return not problem


def checked_counts(returncode: int, passed: int, failed: int, tool: str, note: str) -> tuple[int, int, str]:
    """Reconcile a tool's exit code with what it reported: a failing tool (any code but 0, negative ones too) that
    reported no failure still counts one, and a tool that ran no test counts one."""
    if returncode != 0 and failed == 0:
        problem = '%s exited with %d%s' % (tool, returncode, ' without running a test' if passed == 0 else '')
        return passed, 1, '; '.join(part for part in (problem, note) if part)
    if returncode == 0 and passed + failed == 0:
        return 0, 1, '; '.join(part for part in ('%s ran no test' % tool, note) if part)
    return passed, failed, note


def count_junit(paths: list[str], sanity: bool = False) -> tuple[int, int, list[Skip]]:
    """(passed, failed, skipped) test cases over JUnit XML files; an error counts as a failure.

    A skipped case's id is "classname::name" (pytest: "path/to/test_file.py::test_name[param]"), or the name alone
    for ansible-test sanity ("compile-python-3.8").
    """
    passed = failed = 0
    skipped = []
    for path in paths:
        for case in ElementTree.parse(path).getroot().iter('testcase'):
            if case.find('failure') is not None or case.find('error') is not None:
                failed += 1
            elif case.find('skipped') is not None:
                skip = case.find('skipped')
                skipped.append(Skip(case_id(case, sanity), (skip.get('message') or skip.text or '').strip()))
            else:
                passed += 1
    return passed, failed, skipped


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


def ensure_lint_venv() -> str:
    """The virtualenv with nox and antsibull-nox (tests/lint/requirements.txt)."""
    return ensure_cached_venv('lint-py%s' % LINT_PYTHON, LINT_PYTHON, LINT_REQUIREMENTS)


def ensure_cached_venv(name: str, python: str, requirements_path: str) -> str:
    """.venvs/NAME with the requirements installed, reused while that file (and the Python version) is unchanged."""
    venv_dir = os.path.join(pipeline.VENVS_DIR, name)
    with open(requirements_path) as requirements:
        stamp = pipeline.text_digest(requirements.read(), python)
    stamp_path = os.path.join(venv_dir, '.requirements-stamp')
    if os.path.isfile(stamp_path):
        with open(stamp_path) as stamp_file:
            if stamp_file.read().strip() == stamp:
                return venv_dir
    shutil.rmtree(venv_dir, ignore_errors=True)
    pipeline.check_run([pipeline.find_python(python), '-m', 'venv', venv_dir])
    pipeline.check_run([os.path.join(venv_dir, 'bin', 'python'), '-m', 'pip', 'install', '--quiet', '-r', requirements_path])
    with open(stamp_path, 'w') as stamp_file:
        stamp_file.write(stamp + '\n')
    return venv_dir


@dataclasses.dataclass
class Missing:
    """Something `make test` needs that this machine lacks: what, the one command that installs it, and the stages
    (toolchain name, stage) that cannot run without it."""

    what: str
    install: str
    stages: list[tuple[str, str]]


def node_version() -> tuple[int, ...] | None:
    """The major.minor of Node.js on PATH (with npm beside it), or None."""
    if not shutil.which('node') or not shutil.which('npm'):
        return None
    answer = subprocess.run(['node', '--version'], stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
    match = re.match(r'v(\d+)\.(\d+)', answer.stdout.strip())
    return (int(match.group(1)), int(match.group(2))) if answer.returncode == 0 and match else None


MIN_NODE = (18, 0)  # Prism 5.14 (tests/contract/package.json)


def java_found() -> bool:
    """A java on PATH or in JAVA_HOME, as the eda stage's ansible-rulebook needs."""
    java_home = os.environ.get('JAVA_HOME')
    return bool(shutil.which('java') or (java_home and os.access(os.path.join(java_home, 'bin', 'java'), os.X_OK)))


# test_merge.py (mergecap, editcap, capinfos) and test_community_id.py (tshark) in tests/unit/plugins/module_utils/_pcap/
WIRESHARK_TOOLS = ('mergecap', 'editcap', 'capinfos', 'tshark')


def missing_wireshark_tools() -> list[str]:
    """The Wireshark command-line tools that the unit tests run as witnesses and PATH lacks (ansible-test units
    passes PATH on to pytest)."""
    return [tool for tool in WIRESHARK_TOOLS if not shutil.which(tool)]


def preflight(plan: list[tuple[Toolchain, list[str]]]) -> list[Missing]:
    """What the planned stages need and this machine lacks: Pythons (for the virtualenvs, the sanity tests' compile
    and import, lint), Node.js with npm (contract), Java (eda), Wireshark's tools (units). Each is one Missing, with
    the stages that cannot run."""
    needs: dict[str, list[tuple[str, str]]] = {}
    for toolchain, stages in plan:
        for stage in stages:
            versions = {toolchain.python}
            versions.update(MODULE_PYTHONS if stage == 'sanity' else ())
            versions.update((LINT_PYTHON,) if stage == 'lint' else ())
            versions.update((EDA_PYTHON,) if stage == 'eda' else ())
            for version in versions:
                needs.setdefault('python' + version, []).append((toolchain.name, stage))
            if stage == 'contract':
                needs.setdefault('node', []).append((toolchain.name, stage))
            if stage == 'eda':
                needs.setdefault('java', []).append((toolchain.name, stage))
            if stage == 'units':
                needs.setdefault('wireshark', []).append((toolchain.name, stage))
    missing_pythons: dict[str, list[tuple[str, str]]] = {}
    missing = []
    for need, stages in sorted(needs.items()):
        if need.startswith('python'):
            try:
                pipeline.find_python(need[len('python'):])
            except PipelineError:
                missing_pythons[need[len('python'):]] = stages
        elif need == 'java' and not java_found():
            missing.append(Missing('Java 17 or newer (for ansible-rulebook)', 'apt-get install -y openjdk-17-jre-headless', stages))
        elif need == 'node' and (node_version() or (0,)) < MIN_NODE:
            missing.append(Missing('Node.js >= %d with npm (for Prism)' % MIN_NODE[0],
                                   'apt-get install -y nodejs npm', stages))
        elif need == 'wireshark' and missing_wireshark_tools():
            missing.append(Missing("Wireshark's %s (the pcap merge and Community ID tests' witnesses)"
                                   % ', '.join(missing_wireshark_tools()),
                                   'apt-get install -y --no-install-recommends wireshark-common tshark', stages))
    if missing_pythons:
        versions = sorted(missing_pythons, key=version_key)
        pyenv = shutil.which('pyenv')
        install = '%s install %s' % (pyenv, ' '.join(versions)) if pyenv else \
            'curl -fsSL https://pyenv.run | bash && ~/.pyenv/bin/pyenv install %s' % ' '.join(versions)
        stages = sorted({stage for version in versions for stage in missing_pythons[version]})
        missing.insert(0, Missing('Python %s' % ', '.join(versions), install, stages))
    return missing


def run_toolchain(toolchain: Toolchain, stages: list[str], results: list[StageResult], targets: tuple[str, ...] = (),
                  blocked: dict[str, str] | None = None) -> None:
    """Run the stages for one toolchain, appending each result as it comes (so an interruption keeps them).

    A stage in `blocked` (stage: what it lacks) does not run and counts as failed; a stage that raises any exception
    counts as failed and the next one runs.
    """
    blocked = blocked or {}
    if STOP.is_set():
        results.extend(StageResult(toolchain.name, stage, failed=1, note='not run: interrupted') for stage in stages)
        return
    log('\n==== %s: %s' % (toolchain.name, ', '.join(stages)))
    runnable = [stage for stage in stages if stage not in blocked]
    results.extend(StageResult(toolchain.name, stage, failed=1, note='not run: needs %s (see MISSING above)' % blocked[stage])
                   for stage in stages if stage in blocked)
    if not runnable:
        return
    started = time.monotonic()
    try:
        pipeline.ensure_venv(toolchain)
        runner = StageRunner(toolchain, pipeline.copy_collection(toolchain_copy_dir(toolchain)), targets)
    except Exception as error:  # pylint: disable=broad-except
        # Without a virtualenv or a copy no stage can run: each one counts as failed.
        log('ERROR: %s' % describe(error))
        results.extend(StageResult(toolchain.name, stage, failed=1, note='setup failed: %s' % describe(error)) for stage in runnable)
        return
    results.append(StageResult(toolchain.name, 'setup', seconds=time.monotonic() - started, note='virtualenv and collection copy'))
    for stage in runnable:
        if STOP.is_set():
            results.append(StageResult(toolchain.name, stage, failed=1, note='not run: interrupted'))
            continue
        log('\n==== %s: %s' % (toolchain.name, stage))
        result = StageResult(toolchain.name, stage)
        started = time.monotonic()
        try:
            result.passed, result.failed, result.note = getattr(runner, stage)()
        except Exception as error:  # pylint: disable=broad-except
            log('ERROR: %s stage could not run: %s' % (stage, describe(error)))
            result.passed, result.failed, result.note = 0, 1, 'could not run: %s' % describe(error)
        result.seconds = time.monotonic() - started
        results.append(result)
        note = ' (%s)' % result.note if result.note else ''
        log('==== %s: %s: %d passed, %d failed in %.0f s%s' % (toolchain.name, stage, result.passed, result.failed, result.seconds, note))
        if result.failed and pipeline.QUIET:
            show_log_tail(runner.log_path(stage))


def toolchain_copy_dir(toolchain: Toolchain) -> str:
    """Each toolchain's own copy of the collection, so that toolchains can run side by side."""
    return os.path.join(pipeline.BUILD_DIR, 'toolchains', toolchain.name, 'ansible_collections', 'cloudflare', 'pcap')


def show_log_tail(path: str, lines: int = 40) -> None:
    """The end of a failed stage's log, which is not echoed while toolchains run side by side."""
    with contextlib.suppress(OSError):
        with open(path, errors='replace') as stage_log:
            tail = stage_log.read().splitlines()[-lines:]
        log('---- last %d lines of %s:\n%s' % (len(tail), os.path.relpath(path, pipeline.REPO_ROOT), '\n'.join(tail)))


def describe(error: BaseException) -> str:
    """An error in one line; the runner's own bugs (not PipelineError, OSError...) with their traceback in the log."""
    if not isinstance(error, (PipelineError, OSError, subprocess.SubprocessError)):
        log(''.join(traceback.format_exception(type(error), error, error.__traceback__)).rstrip())
        return '%s: %s' % (type(error).__name__, error)
    return str(error)


def print_summary(results: list[StageResult], seconds: float) -> int:
    """Print the table and, last, the totals line; return the number of failures."""
    row = '%-20s %-12s %7s %7s %8s  %s'
    log('\n' + row % ('toolchain', 'stage', 'passed', 'failed', 'seconds', 'note'))
    for result in results:
        try:
            log(row % (result.toolchain, result.stage, result.passed, result.failed, '%.0f' % result.seconds, result.note))
        except (TypeError, ValueError):
            log('%r' % (result,))
    total_passed = sum(int(result.passed) for result in results)
    total_failed = sum(int(result.failed) for result in results)
    log(row % ('all', 'total', total_passed, total_failed, '%.0f' % seconds, ''))
    log('%d passed, %d failed' % (total_passed, total_failed))
    return total_failed


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--stages', default=','.join(ALL_STAGES), help='comma-separated subset of: %s' % ', '.join(ALL_STAGES))
    parser.add_argument('--toolchains', default=','.join(toolchain.name for toolchain in MATRIX),
                        help='comma-separated subset of: %s' % ', '.join(toolchain.name for toolchain in MATRIX))
    parser.add_argument('--targets', default='', help='comma-separated integration targets (default: all)')
    parser.add_argument('--jobs', type=int, default=2, help='toolchains run side by side (default 2; 1: one after the other, '
                                                            'with every command\'s output on the terminal)')
    args = parser.parse_args(argv)
    args.targets = tuple(target for target in args.targets.split(',') if target)
    args.stages = [stage for stage in args.stages.split(',') if stage]
    args.toolchains = [name for name in args.toolchains.split(',') if name]
    unknown = sorted(set(args.stages) - set(ALL_STAGES)) + sorted(set(args.toolchains) - {toolchain.name for toolchain in MATRIX})
    if unknown:
        parser.error('unknown stage or toolchain: %s' % ', '.join(unknown))
    return args


def plan_run(args: argparse.Namespace) -> list[tuple[Toolchain, list[str]]]:
    """The (toolchain, stages) to run, in the matrix's order."""
    plan = []
    for toolchain in MATRIX:
        stages = [stage for stage in ALL_STAGES if stage in args.stages and stage in toolchain.stages]
        if toolchain.name in args.toolchains and stages:
            plan.append((toolchain, stages))
    return plan


def run_plan(plan: list[tuple[Toolchain, list[str]]], results: list[StageResult], targets: tuple[str, ...], blocked: dict[str, dict[str, str]],
             jobs: int) -> None:
    """Run the toolchains, `jobs` of them side by side (the longest first); every toolchain has its own virtualenv,
    copy, simulator and logs. On Ctrl-C or SIGTERM, the commands running are stopped and no stage starts any more."""
    if jobs == 1 or len(plan) == 1:
        for toolchain, stages in plan:
            run_toolchain(toolchain, stages, results, targets, blocked.get(toolchain.name))
        return
    pipeline.QUIET = True
    log('running %d toolchains, %d side by side; each command\'s output is in %s/<toolchain>-<stage>.log'
        % (len(plan), jobs, os.path.relpath(pipeline.LOGS_DIR, pipeline.REPO_ROOT)))
    queue = sorted(plan, key=lambda item: -sum(STAGE_MINUTES.get(stage, 1) for stage in item[1]))
    queue_lock = threading.Lock()

    def lane() -> None:
        while True:
            with queue_lock:
                if not queue:
                    return
                toolchain, stages = queue.pop(0)
            threading.current_thread().name = toolchain.name  # log() prefixes each line with it
            try:
                run_toolchain(toolchain, stages, results, targets, blocked.get(toolchain.name))
            except BaseException as error:  # pylint: disable=broad-except
                results.append(StageResult(toolchain.name, 'runner', failed=1, note='the runner stopped: %s' % describe(error)))

    threads = [threading.Thread(target=lane, name='lane-%d' % number, daemon=True) for number in range(1, jobs + 1)]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            while thread.is_alive():
                thread.join(0.5)
    except KeyboardInterrupt:
        STOP.set()
        pipeline.terminate_all()
        for thread in threads:
            thread.join(60)
        raise
    finally:
        pipeline.QUIET = False


def in_matrix_order(results: list[StageResult]) -> list[StageResult]:
    """Results by toolchain (the matrix's order) and stage (setup first), whatever order they finished in."""
    toolchain_order = {toolchain.name: number for number, toolchain in enumerate(MATRIX)}
    stage_order = {stage: number for number, stage in enumerate(('setup',) + ALL_STAGES)}
    return sorted(results, key=lambda result: (toolchain_order.get(result.toolchain, len(MATRIX)), stage_order.get(result.stage, len(stage_order))))


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    STOP.clear()
    pipeline.stop_cleanly_on_sigterm()
    results: list[StageResult] = []
    interrupted = False
    started = time.monotonic()
    try:
        pipeline.isolate_home()
        plan = plan_run(args)
        if not plan:
            log('ERROR: the selected toolchains have none of the selected stages')
            return 2
        missing = preflight(plan)
        for item in missing:
            log('MISSING: %s, needed by %s; install it with: %s' % (item.what, ', '.join(sorted({stage for _name, stage in item.stages})), item.install))
        blocked = {toolchain.name: {stage: item.what for item in missing for name, stage in item.stages if name == toolchain.name}
                   for toolchain, _stages in plan}
        run_plan(plan, results, args.targets, blocked, max(1, args.jobs))
    except KeyboardInterrupt:
        # The servers are stopped by now (the `finally` blocks ran); the stage that was running counts as failed.
        interrupted = True
        results.append(StageResult('-', 'interrupted', failed=1, note='stopped by Ctrl-C or SIGTERM'))
    except BaseException as error:  # pylint: disable=broad-except
        # A bug of the runner (or a sys.exit deep inside): the run is partial, so it fails, with the table.
        results.append(StageResult('-', 'runner', failed=1, note='the runner stopped: %s' % describe(error)))
    failed = print_summary(in_matrix_order(results), time.monotonic() - started)
    if interrupted:
        return 130
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
