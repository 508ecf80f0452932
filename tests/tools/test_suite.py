# Copyright: cloudflare.pcap maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make test`'s driver (tests/tools/suite.py) with a noxfile of its own: the sessions are planned, checked, run in
nox processes side by side, and counted; the totals line comes last whatever happens; an interrupt leaves no process;
the matrix is the README's."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import matrix  # noqa: E402  pylint: disable=wrong-import-position
import pipeline  # noqa: E402  pylint: disable=wrong-import-position
import preflight  # noqa: E402  pylint: disable=wrong-import-position
import suite  # noqa: E402  pylint: disable=wrong-import-position
from matrix import MATRIX  # noqa: E402  pylint: disable=wrong-import-position

SUITE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'suite.py')

# Sessions like the real ones, without virtualenvs: what they write in build/results/<session>/ is what the driver
# counts. FAKE_PLAN (JSON) says what each does: "pass" (a JUnit file of two passing tests), "fail" (one passing, one
# failing, and the session fails), "silent" (succeeds, writes nothing), "server" (starts a child that ignores SIGTERM
# and an HTTP server stopped in a `finally`, writes their pids and port, then waits).
FAKE_NOXFILE = textwrap.dedent('''
    import json, os, subprocess, sys, time
    import nox

    sys.path.insert(0, os.environ['FAKE_TOOLS'])
    import pipeline

    pipeline.stop_cleanly_on_sigterm()  # as the real noxfile does
    PLAN = json.loads(os.environ['FAKE_PLAN'])
    RESULTS = os.path.join(os.environ['CFPCAP_BUILD_DIR'], 'results')
    PASS = '<testcase classname="tests.x" name="ok"/>'
    FAIL = '<testcase classname="tests.x" name="bad"><failure message="no"/></testcase>'


    def junit(name, *cases):
        os.makedirs(os.path.join(RESULTS, name), exist_ok=True)
        with open(os.path.join(RESULTS, name, 'pytest.xml'), 'w') as report:
            report.write('<testsuites><testsuite>%s</testsuite></testsuites>' % ''.join(cases))


    def behave(session):
        what = PLAN[session.name]
        if what == 'pass':
            junit(session.name, PASS, PASS)
        elif what == 'fail':
            junit(session.name, PASS, FAIL)
            session.error('a test failed')
        elif what == 'server':
            stubborn = subprocess.Popen([sys.executable, '-c', 'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)'])
            server = subprocess.Popen([sys.executable, '-m', 'http.server', '--bind', '127.0.0.1', os.environ['FAKE_PORT']],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            with open(os.environ['FAKE_PIDS'], 'w') as pids:
                json.dump([stubborn.pid, server.pid], pids)
            try:
                time.sleep(600)
            finally:
                server.terminate()
                server.wait()
                open(os.environ['FAKE_PIDS'] + '.stopped', 'w').close()


    for name in PLAN:
        nox.session(name=name, python=False)(behave)
    ''')


def free_port():
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


@pytest.fixture
def fake_run(tmp_path):
    """Run suite.py (a real process, with the project's nox) on the fake noxfile with a plan; returns a function
    plan -> (exit code, output), or (Popen, ...) with wait=False."""
    noxfile = tmp_path / 'noxfile.py'
    noxfile.write_text(FAKE_NOXFILE)
    env = dict(os.environ, CFPCAP_BUILD_DIR=str(tmp_path / 'build'), FAKE_PORT=str(free_port()), FAKE_PIDS=str(tmp_path / 'pids.json'),
               FAKE_TOOLS=os.path.dirname(SUITE))
    # The project's nox, before any test runs it: the first run may build its virtualenv.
    pipeline.ensure_cached_venv(suite.NOX_VENV, suite.NOX_PYTHON, suite.NOX_REQUIREMENTS)

    def run(plan, *args, wait=True):
        command = [sys.executable, SUITE, '--noxfile', str(noxfile), *args]
        process_env = dict(env, FAKE_PLAN=json.dumps(plan))
        if not wait:
            return subprocess.Popen(command, env=process_env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True), env
        done = subprocess.run(command, env=process_env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=300, check=False)
        return done.returncode, done.stdout

    return run


def last_line(text):
    return text.rstrip('\n').splitlines()[-1]


def table_row(output, session):
    return next(line.split() for line in output.splitlines() if line.startswith(session + ' '))


# --- counts ---------------------------------------------------------------------------------------------------------

def test_all_green_is_green_and_counts_every_test_of_every_session(fake_run):
    code, output = fake_run({'simulator': 'pass', 'runner': 'pass', 'docs-check': 'pass'})
    assert code == 0, output
    assert last_line(output) == '5 passed, 0 failed'


def test_a_failing_session_fails_the_run_and_the_others_still_count(fake_run):
    code, output = fake_run({'simulator': 'fail', 'runner': 'pass'})
    assert code == 1 and last_line(output) == '3 passed, 1 failed', output


def test_what_failed_is_named_at_the_end_with_the_end_of_its_output(fake_run):
    code, output = fake_run({'simulator': 'fail', 'runner': 'pass', 'docs-check': 'pass'})
    lines = output.rstrip('\n').splitlines()
    end = lines[next(index for index, line in enumerate(lines) if line.startswith('all (')) + 1:]  # below the table
    assert code == 1
    assert 'FAILED: simulator: failed: tests.py::x::bad' in end, output
    assert any('a test failed' in line for line in end), output  # the session's own words, from its nox log
    assert not any('runner' in line for line in end), output


def test_a_session_that_ran_no_test_is_not_green(fake_run):
    code, output = fake_run({'simulator': 'silent', 'runner': 'pass'})
    assert code == 1 and last_line(output) == '2 passed, 1 failed', output
    assert 'ran no test' in output


def test_two_nox_processes_side_by_side_are_counted_together(fake_run, tmp_path):
    plan = {'ansible-test-units-2.19-py3.11': 'pass', 'ansible-test-units-2.21-py3.13': 'fail', 'simulator': 'pass'}
    code, output = fake_run(plan, '--jobs', '2')
    assert code == 1 and last_line(output) == '5 passed, 1 failed', output
    assert (tmp_path / 'build' / 'logs' / 'nox-1.log').exists() and (tmp_path / 'build' / 'logs' / 'nox-2.log').exists()


def test_a_session_selected_by_name_runs_alone(fake_run):
    code, output = fake_run({'simulator': 'pass', 'runner': 'fail'}, '--sessions', 'simulator')
    assert code == 0 and last_line(output) == '2 passed, 0 failed', output


def test_what_is_missing_is_named_before_anything_runs_and_its_sessions_fail(fake_run, tmp_path):
    # The fake eda session needs Java: a JAVA_HOME without java, and a PATH without java, make it missing.
    plan = {'simulator': 'pass', 'eda': 'pass'}
    noxfile = tmp_path / 'noxfile.py'
    env = dict(os.environ, CFPCAP_BUILD_DIR=str(tmp_path / 'build'), FAKE_PLAN=json.dumps(plan), JAVA_HOME=str(tmp_path), FAKE_TOOLS=os.path.dirname(SUITE),
               PATH=os.pathsep.join(directory for directory in os.environ['PATH'].split(os.pathsep)
                                    if not os.path.exists(os.path.join(directory, 'java'))))
    done = subprocess.run([sys.executable, SUITE, '--noxfile', str(noxfile)], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=300, check=False)
    output = done.stdout
    lines = output.splitlines()
    missing = next(number for number, line in enumerate(lines) if line.startswith('MISSING: Java 17 or newer'))
    started = next(number for number, line in enumerate(lines) if '--report' in line)
    assert missing < started and 'needed by eda;' in lines[missing]
    assert done.returncode == 1 and last_line(output) == '2 passed, 1 failed'
    assert 'not run: needs Java' in ' '.join(table_row(output, 'eda'))


def process_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open('/proc/%d/stat' % pid) as stat:
        return stat.read().split(')')[-1].split()[0] != 'Z'


def answers(port):
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(('127.0.0.1', port)) == 0


def test_sigterm_stops_nox_cleanly_and_leaves_no_process(fake_run, tmp_path):
    process, env = fake_run({'runner': 'pass', 'simulator': 'server'}, '--jobs', '2', wait=False)
    port, pids_path = int(env['FAKE_PORT']), env['FAKE_PIDS']
    deadline = time.monotonic() + 120
    while not (os.path.exists(pids_path) and os.path.getsize(pids_path) and answers(port)):
        assert process.poll() is None and time.monotonic() < deadline, process.stdout.read() if process.poll() is not None else 'no server'
        time.sleep(0.2)
    with open(pids_path) as pids_file:
        pids = json.load(pids_file)
    process.send_signal(signal.SIGTERM)
    output = process.communicate(timeout=120)[0]
    assert process.returncode == 130, output
    assert last_line(output).endswith(' failed') and not last_line(output).endswith(' 0 failed')
    assert 'interrupted' in output
    assert os.path.exists(pids_path + '.stopped') and not answers(port)  # stopped by the session's `finally`
    deadline = time.monotonic() + 10
    while any(process_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in pids if process_alive(pid)]  # the child that ignored SIGTERM too


# --- lanes ----------------------------------------------------------------------------------------------------------

def session(name, *tags):
    return {'name': name, 'python': '3.11', 'tags': list(tags)}


def test_a_toolchain_stays_in_one_nox_process_and_the_work_is_balanced():
    sessions = [session('ansible-test-units-2.19-py3.11', 'units', 'core-2.19-py3.11'),
                session('ansible-test-integration-2.19-py3.11', 'integration', 'core-2.19-py3.11'),
                session('build-2.19-py3.11', 'build', 'core-2.19-py3.11'),
                session('ansible-test-integration-2.21-py3.13', 'integration', 'core-2.21-py3.13'),
                session('eda', 'eda'), session('simulator', 'simulator'), session('docs-check')]
    lanes = suite.lanes(sessions, 2)
    assert sorted(name for lane in lanes for name in lane) == sorted(item['name'] for item in sessions)
    together = next(lane for lane in lanes if 'build-2.19-py3.11' in lane)
    assert {'ansible-test-units-2.19-py3.11', 'ansible-test-integration-2.19-py3.11'} <= set(together)
    work = [sum(suite.estimated_minutes(item) for item in sessions if item['name'] in lane) for lane in lanes]
    assert max(work) - min(work) <= suite.MINUTES['eda']


def test_only_the_first_nox_process_starts_with_sanity():
    sessions = [session('ansible-test-%s-2.%d-py3.11' % (stage, minor), stage, 'core-2.%d-py3.11' % minor)
                for minor in (16, 19) for stage in ('sanity', 'units', 'integration')]
    first, second = suite.lanes(sessions, 2)
    assert first[0].startswith('ansible-test-sanity-') and second[-1].startswith('ansible-test-sanity-')
    assert not second[0].startswith('ansible-test-sanity-')


def test_one_job_is_one_nox_process():
    lanes = suite.lanes([session('simulator'), session('runner')], 1)
    assert len(lanes) == 1 and sorted(lanes[0]) == ['runner', 'simulator']


def test_the_real_noxfile_plans_every_session_of_the_matrix(tmp_path):
    nox = os.path.join(pipeline.ensure_cached_venv(suite.NOX_VENV, suite.NOX_PYTHON, suite.NOX_REQUIREMENTS), 'bin', 'nox')
    names = {item['name'] for item in suite.planned_sessions(nox, [], [])}
    for toolchain in MATRIX:
        core, python = toolchain.ansible_core.rstrip('.*'), toolchain.python
        for stage in ('sanity', 'units', 'integration'):
            assert (stage in toolchain.stages) == ('ansible-test-%s-%s-py%s' % (stage, core, python) in names)
        assert ('build' in toolchain.stages) == ('build-%s-py%s' % (core, python) in names)
    assert {'simulator', 'runner', 'contract', 'eda', 'docs-check', 'extra-checks', 'ansible-lint', 'changelog-lint'} <= names
    assert not {'demo', 'benchmark'} & names


def test_each_real_session_is_counted_from_what_it_writes():
    """A session counted from JUnit files that it does not write would be 'ran no test'; a lint session counted as
    one check would hide its tests: each default session of the real noxfile is counted its way."""
    nox = os.path.join(pipeline.ensure_cached_venv(suite.NOX_VENV, suite.NOX_PYTHON, suite.NOX_REQUIREMENTS), 'bin', 'nox')
    planned = suite.planned_sessions(nox, [], [])
    kinds = {item['name']: suite.results.kind_of(item['name']) for item in planned}
    junit = {name for name, kind in kinds.items() if kind == 'junit'}
    build_sessions = {item['name'] for item in planned if 'build' in (item.get('tags') or ())}
    assert junit == set(suite.results.PYTEST_SESSIONS) | build_sessions
    assert kinds['build-import-check'] == kinds['ansible-lint'] == kinds['docs-check'] == 'check'
    assert {name for name, kind in kinds.items() if kind in ('sanity', 'units', 'integration')} == {
        name for name in kinds if name.startswith('ansible-test-')}


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
    minors = sorted({minor(toolchain) for toolchain in MATRIX}, key=preflight.version_key)
    assert minors[0] == '2.16'  # meta/runtime.yml: requires_ansible >=2.16.0
    assert [int(version.split('.')[1]) for version in minors] == list(range(16, int(minors[-1].split('.')[1]) + 1))
    for version in (minors[0], '2.19', minors[-1]):
        assert any(minor(toolchain) == version and full <= set(toolchain.stages) for toolchain in MATRIX), version
    per_python = set(matrix.PER_PYTHON_STAGES)
    assert {toolchain.python for toolchain in MATRIX if minor(toolchain) == minors[-1] and per_python <= set(toolchain.stages)} >= {'3.12', '3.13'}
    assert all('units' in toolchain.stages for toolchain in MATRIX)
    for stage in matrix.ALL_STAGES:
        assert any(stage in toolchain.stages for toolchain in MATRIX), stage


def readme_sentence_for_the_matrix():
    """The README's sentence, as the matrix makes it."""
    def versions(names):
        names = list(names)
        return ', '.join(names[:-1]) + ' and ' + names[-1] if len(names) > 1 else names[0]

    full_releases = {minor(toolchain) for toolchain in MATRIX if set(matrix.FULL_STAGES) <= set(toolchain.stages)}
    full, units = {}, []
    for toolchain in sorted(MATRIX, key=lambda toolchain: preflight.version_key(minor(toolchain))):
        if minor(toolchain) in full_releases and set(matrix.PER_PYTHON_STAGES) <= set(toolchain.stages):
            full.setdefault(minor(toolchain), []).append(toolchain.python)
        elif minor(toolchain) not in units:
            units.append(minor(toolchain))
    full_text = versions('%s (Python %s)' % (version, versions(sorted(pythons, key=preflight.version_key))) for version, pythons in full.items())
    return 'Tested with ansible-core %s: every test stage (sanity once per release); and with %s: the unit tests.' % (full_text, versions(units))


def test_the_readme_tested_with_line_follows_the_matrix():
    with open(os.path.join(pipeline.REPO_ROOT, 'README.md'), encoding='utf-8') as readme:
        requirements = readme.read().split('## Requirements', 1)[1].split('\n## ', 1)[0]
    assert readme_sentence_for_the_matrix() in ' '.join(requirements.split()), readme_sentence_for_the_matrix()


def test_the_eda_stage_runs_on_one_toolchain():
    assert [toolchain.name for toolchain in MATRIX if 'eda' in toolchain.stages] == [MATRIX[0].name]
