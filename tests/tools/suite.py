# Copyright: cloudflare.pcap maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make test`: the nox sessions of noxfile.py, two nox processes side by side, and one count of every test.

Usage: python tests/tools/suite.py [--sessions NAME,...] [--tags TAG,...] [--targets T,...] [--jobs N]

What it adds to `nox`:
- nox itself: .venvs/nox-py3.12 (tests/tools/nox-requirements.txt), made on the first run;
- before anything runs, what this machine lacks is named on a `MISSING:` line with its install command
  (tests/tools/preflight.py); the sessions that need it count as failed;
- the sessions run in `--jobs` nox processes side by side (2 by default; each toolchain's sessions in the same
  process, longest first); with 2 or more each process's output goes to build/logs/nox-<N>.log;
- the table of every session and, as the last line, "N passed, N failed": every test of every session, counted
  from what it left in build/results/<session>/ (tests/tools/results.py), never green on a partial run;
- on Ctrl-C or SIGTERM, each nox gets SIGTERM (the noxfile turns it into Ctrl-C, so that its `finally` blocks stop
  the simulator, moto and Prism), then whatever is left of its process group is killed; the same kill ends every
  run, so that no process outlives `make test`.
Everything is written inside the checkout: HOME is .venvs/home, TMPDIR build/tmp.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import time

import pipeline
import preflight
import results
from pipeline import PipelineError, log

NOX_PYTHON = '3.12'
NOX_VENV = 'nox-py%s' % NOX_PYTHON
NOX_REQUIREMENTS = os.path.join(pipeline.REPO_ROOT, 'tests', 'tools', 'nox-requirements.txt')
NOX_ENVDIR = os.path.join(pipeline.VENVS_DIR, 'nox')
TARGETS_DIR = os.path.join(pipeline.REPO_ROOT, 'tests', 'integration', 'targets')
# How long an interrupted nox may take to stop its servers before its process group is killed.
STOP_GRACE_SECONDS = 60
# Rough minutes per session with warm virtualenvs, two sessions side by side on 2 cores: to balance the processes.
MINUTES = {'sanity': 2.5, 'units': 2.3, 'integration': 11, 'simulator': 0.5, 'runner': 1.5, 'contract': 2, 'eda': 6, 'build': 0.5,
           'check': 0.5}
TOOLCHAIN_TAG = re.compile(r'^core-\d+\.\d+-py\d+\.\d+$')


NOXFILE = os.path.join(pipeline.REPO_ROOT, 'noxfile.py')


def nox_command(nox: str, *args: str, noxfile: str = NOXFILE) -> list[str]:
    return [nox, '--no-color', '--noxfile', noxfile, '--envdir', NOX_ENVDIR, '--reuse-existing-virtualenvs', *args]


def planned_sessions(nox: str, names: list[str], tags: list[str], noxfile: str = NOXFILE) -> list[dict]:
    """The sessions nox selects (its default ones when neither names nor tags are given), as `nox --list --json`
    gives them: name, python, tags."""
    selection = (['--sessions', *names] if names else []) + (['--tags', *tags] if tags else [])
    listing = subprocess.run(nox_command(nox, '--list', '--json', *selection, noxfile=noxfile), cwd=pipeline.REPO_ROOT, stdin=subprocess.DEVNULL,
                             capture_output=True, text=True, check=False)
    if listing.returncode != 0:
        raise PipelineError('nox --list failed (%d):\n%s' % (listing.returncode, listing.stderr[-3000:]))
    return json.loads(listing.stdout)


def estimated_minutes(session: dict) -> float:
    kind = results.kind_of(session['name'])
    if kind == 'junit':
        kind = 'build' if results.is_build_session(session['name']) else session['name']
    minutes = MINUTES.get(kind, 1)
    # ansible-core 2.16 runs compile and import on eight Pythons.
    return minutes * 1.8 if kind == 'sanity' and '-2.16-' in session['name'] else minutes


def lanes(sessions: list[dict], jobs: int) -> list[list[str]]:
    """The sessions split into `jobs` nox processes: a toolchain's sessions together (in the order given), the
    longest group first into the process with the least work; sanity first in the first process only."""
    groups: dict[str, list[dict]] = {}
    for session in sessions:
        key = next((tag for tag in session.get('tags') or () if TOOLCHAIN_TAG.match(tag)), session['name'])
        groups.setdefault(key, []).append(session)
    work = [[0.0, []] for _number in range(max(1, min(jobs, len(groups))))]
    for group in sorted(groups.values(), key=lambda members: -sum(estimated_minutes(session) for session in members)):
        lightest = min(work, key=lambda lane: lane[0])
        lightest[0] += sum(estimated_minutes(session) for session in group)
        lightest[1].extend(session['name'] for session in group)
    # One sanity session runs at a time (they share ansible-test's virtualenvs and keep both cores busy): the other
    # processes take theirs last rather than wait for the lock at their start.
    for _minutes, names in work[1:]:
        names.sort(key=lambda name: results.kind_of(name) == 'sanity')
    return [names for _minutes, names in work if names]


@dataclasses.dataclass
class Lane:
    """One nox process, its report and its log (None: the terminal)."""

    number: int
    sessions: list[str]
    noxfile: str
    report_path: str
    log_path: str | None
    process: subprocess.Popen | None = None


def start_lane(nox: str, lane: Lane, env: dict[str, str]) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.remove(lane.report_path)
    command = nox_command(nox, '--error-on-missing-interpreters', '--report', lane.report_path, '--sessions', *lane.sessions,
                          noxfile=lane.noxfile)
    log('$ %s%s' % (' '.join(command), ' > %s' % os.path.relpath(lane.log_path, pipeline.REPO_ROOT) if lane.log_path else ''))
    output = open(lane.log_path, 'w') if lane.log_path else None  # pylint: disable=consider-using-with
    try:
        # A process group of its own: whatever it leaves behind can be killed at the end.
        lane.process = subprocess.Popen(command, cwd=pipeline.REPO_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=output,
                                        stderr=subprocess.STDOUT if output else None, start_new_session=True)
    finally:
        if output:
            output.close()


def stop_lanes(running: list[Lane], grace: float = STOP_GRACE_SECONDS) -> None:
    """SIGTERM to each nox still running, time for its `finally` blocks, then SIGKILL to each lane's process group."""
    for lane in running:
        if lane.process and lane.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                lane.process.terminate()
    deadline = time.monotonic() + grace
    for lane in running:
        if lane.process:
            with contextlib.suppress(subprocess.TimeoutExpired):
                lane.process.wait(max(0.1, deadline - time.monotonic()))
    kill_leftovers(running)


def kill_leftovers(running: list[Lane]) -> None:
    """SIGKILL to what is left of each lane's process group (a server or ansible-test child that outlived its nox)."""
    for lane in running:
        if lane.process:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(lane.process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                lane.process.wait(5)


def nox_verdicts(running: list[Lane]) -> dict[str, str]:
    """Each session's result from the nox reports (success, failed, skipped, aborted); a lane interrupted or killed
    wrote none."""
    verdicts = {}
    for lane in running:
        with contextlib.suppress(FileNotFoundError, ValueError):
            with open(lane.report_path) as report:
                verdicts.update((entry['name'], entry['result']) for entry in json.load(report)['sessions'])
    return verdicts


def run_lanes(nox: str, names: list[list[str]], env: dict[str, str], noxfile: str = NOXFILE) -> tuple[list[Lane], bool]:
    """Run the lanes side by side until all end; returns them and whether the run was interrupted."""
    os.makedirs(pipeline.LOGS_DIR, exist_ok=True)
    quiet = len(names) > 1
    running = [Lane(number, sessions, noxfile, os.path.join(pipeline.LOGS_DIR, 'nox-%d.json' % number),
                    os.path.join(pipeline.LOGS_DIR, 'nox-%d.log' % number) if quiet else None)
               for number, sessions in enumerate(names, 1)]
    try:
        for lane in running:
            start_lane(nox, lane, env)
        if quiet:
            for lane in running:
                log('nox %d runs %s' % (lane.number, ', '.join(lane.sessions)))
        for lane in running:
            while lane.process.poll() is None:
                time.sleep(0.5)
    except KeyboardInterrupt:
        log('interrupted: stopping nox (its servers stop in its `finally` blocks)')
        stop_lanes(running)
        return running, True
    kill_leftovers(running)
    return running, False


def print_table(counts: list[results.SessionCount], running: list[Lane], seconds: float) -> int:
    """The table of sessions and, last, the totals line; returns the number of failures."""
    row = '%-40s %7s %7s  %s'
    log('\n' + row % ('session', 'passed', 'failed', 'note'))
    for count in counts:
        log(row % (count.session, count.passed, count.failed, count.note))
    passed = sum(count.passed for count in counts)
    failed = sum(count.failed for count in counts)
    logs = [os.path.relpath(lane.log_path, pipeline.REPO_ROOT) for lane in running if lane.log_path]
    log(row % ('all (%.0f s)' % seconds, passed, failed, 'output: %s' % ', '.join(logs) if logs else ''))
    # What failed, last: CI shows the end of the output, and the table's top may be cut off there.
    failing = [count for count in counts if count.failed]
    for count in failing:
        lane = next((lane for lane in running if count.session in lane.sessions and lane.log_path), None)
        tail = session_output(lane.log_path, count.session) if lane else []
        if tail:
            log('\n--- the end of %s\'s output (%s):' % (count.session, os.path.relpath(lane.log_path, pipeline.REPO_ROOT)))
            log('\n'.join('    ' + line for line in tail))
    for count in failing:
        log('FAILED: %s: %s' % (count.session, count.note or '%d failed' % count.failed))
    log('%d passed, %d failed' % (passed, failed))
    return failed


def session_output(log_path: str, session: str, lines: int = 25) -> list[str]:
    """The last lines of one session's part of a nox log: from nox's "Running session <name>" to the next one."""
    try:
        with open(log_path, errors='replace') as nox_log:
            output = nox_log.read().splitlines()
    except FileNotFoundError:
        return []
    start = next((index for index, line in enumerate(output) if line == 'nox > Running session %s' % session), None)
    if start is None:
        return []
    end = next((index for index in range(start + 1, len(output)) if output[index].startswith('nox > Running session ')), len(output))
    return output[max(start, end - lines):end]


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--sessions', default='', help='comma-separated nox sessions (default: every default session; `nox -l` lists them)')
    parser.add_argument('--tags', default='', help='comma-separated nox tags: sanity, units, integration, build, core-2.19, core-2.19-py3.11...')
    parser.add_argument('--targets', default='', help='comma-separated integration targets (default: all)')
    parser.add_argument('--noxfile', default=NOXFILE, help=argparse.SUPPRESS)  # the tests' own sessions
    parser.add_argument('--jobs', type=int, default=2, help='nox processes side by side (default 2; 1: the output on the terminal)')
    args = parser.parse_args(argv)
    for name in ('sessions', 'tags', 'targets'):
        setattr(args, name, [item for item in getattr(args, name).split(',') if item])
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    pipeline.stop_cleanly_on_sigterm()
    started = time.monotonic()
    counts: list[results.SessionCount] = []
    running: list[Lane] = []
    interrupted = False
    try:
        pipeline.isolate_home()
        pipeline.keep_temporary_files_inside()
        try:
            nox = os.path.join(pipeline.ensure_cached_venv(NOX_VENV, NOX_PYTHON, NOX_REQUIREMENTS), 'bin', 'nox')
        except PipelineError as error:
            log('MISSING: nox could not be installed (%s); it needs Python %s: %s' % (error, NOX_PYTHON, preflight.python_install_command([NOX_PYTHON])))
            raise
        planned = planned_sessions(nox, args.sessions, args.tags, args.noxfile)
        if not planned:
            log('ERROR: nox selects no session')
            return 2
        blocked: dict[str, str] = {}
        for missing in preflight.preflight(planned):
            log('MISSING: %s, needed by %s; install it with: %s' % (missing.what, ', '.join(missing.sessions), missing.install))
            blocked.update((name, missing.what) for name in missing.sessions)
        counts += [results.SessionCount(name, failed=1, note='not run: needs %s (see MISSING above)' % what) for name, what in blocked.items()]
        runnable = [session for session in planned if session['name'] not in blocked]
        env = dict(os.environ, CFPCAP_INTEGRATION_TARGETS=','.join(args.targets))
        if runnable:
            running, interrupted = run_lanes(nox, lanes(runnable, max(1, args.jobs)), env, args.noxfile)
        verdicts = nox_verdicts(running)
        expected = results.expected_targets(TARGETS_DIR, tuple(args.targets))
        for session in runnable:
            name = session['name']
            counts.append(results.count_session(name, verdicts.get(name, ''), results.results_dir(pipeline.BUILD_DIR, name), expected))
        counts.sort(key=lambda count: [session['name'] for session in planned].index(count.session))
    except KeyboardInterrupt:
        interrupted = True
        stop_lanes(running)
    except Exception as error:  # pylint: disable=broad-except
        # The driver's own failure: the run is partial, so it fails, with the table.
        counts.append(results.SessionCount('make test', failed=1, note='stopped: %s: %s' % (type(error).__name__, error)))
    if interrupted:
        counts.append(results.SessionCount('interrupted', failed=1, note='stopped by Ctrl-C or SIGTERM'))
    failed = print_table(counts, running, time.monotonic() - started)
    if interrupted:
        return 130
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
