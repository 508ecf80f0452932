# Copyright: cloudflare.pcap maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Building blocks shared by `make test` (noxfile.py, tests/tools/suite.py), `make demo` (demo.py) and `make benchmark`.

Everything here bootstraps from a fresh clone: virtualenvs under .venvs/, a copy of the collection under build/
(ansible-test only accepts a collection that sits at .../ansible_collections/<namespace>/<name> and rejects a
symlink), the offline pip bootstrap script that ansible-test needs, and the Cloudflare PCAP API simulator.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fnmatch
import glob
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENVS_DIR = os.path.join(REPO_ROOT, '.venvs')
# CFPCAP_BUILD_DIR lets two runs on one checkout (say, one target while the suite runs) keep out of each other's way.
BUILD_DIR = os.environ.get('CFPCAP_BUILD_DIR') or os.path.join(REPO_ROOT, 'build')
LOGS_DIR = os.path.join(BUILD_DIR, 'logs')
COLLECTIONS_DIR = os.path.join(BUILD_DIR, 'collections')
COLLECTION_COPY = os.path.join(COLLECTIONS_DIR, 'ansible_collections', 'cloudflare', 'pcap')
REQUIREMENTS_FILE = os.path.join(REPO_ROOT, 'tests', 'requirements.txt')
# The HOME of every command `make test` starts (isolate_home): ansible-test keeps its cache, its pip bootstrap and
# its virtualenvs under ~/.ansible/test, pip and npm their caches under ~/.cache and ~/.npm, ansible its ~/.ansible/tmp.
PROJECT_HOME = os.path.join(VENVS_DIR, 'home')
ANSIBLE_TEST_CACHE = os.path.join(PROJECT_HOME, '.ansible', 'test', 'cache')

# Kept out of the copy when the repository is not a git checkout; in a checkout .gitignore already says the same.
COPY_EXCLUDED_PATHS = ('.git', '.venv', '.venvs', '.cache', 'build', 'tests/output', 'tests/contract/node_modules')
COPY_EXCLUDED_NAMES = ('__pycache__', '.pytest_cache', '.hypothesis', '*.pyc', 'cloudflare-pcap-*.tar.gz')

# The simulator's built-in credentials (tests/simulator/cfpcap_sim.py); they are fixtures, not secrets.
SIMULATOR_API_TOKEN = 'cfsim-token-0000000000000000000000000000000'
SIMULATOR_API_EMAIL = 'incident@example.com'
SIMULATOR_API_KEY = 'cfsim-global-key-00000000000000000000'
SIMULATOR_ACCOUNT_ID = '023e105f4ecef8ad9ca31a8372d0c353'

SERVICE_START_TIMEOUT = 60

# The contract test: Prism (npm, tests/contract/package.json) serves Cloudflare's spec.
CONTRACT_DIR = os.path.join(REPO_ROOT, 'tests', 'contract')
OPENAPI_SPEC = os.path.join(REPO_ROOT, 'docs', 'openapi', 'pcaps.openapi.json')


class PipelineError(Exception):
    """A step of the pipeline could not be carried out."""


@dataclasses.dataclass(frozen=True)
class Toolchain:
    """One ansible-core release on one Python version (a row of the matrix); make demo and make benchmark install it in
    a virtualenv of its own (.venvs/<name>)."""

    ansible_core: str  # a version pattern for pip, e.g. "2.19.*"
    python: str  # "3.11"
    stages: tuple[str, ...]

    @property
    def name(self) -> str:
        return 'core-%s-py%s' % (self.ansible_core.rstrip('.*'), self.python)

    @property
    def venv_dir(self) -> str:
        return os.path.join(VENVS_DIR, self.name)

    def bin(self, program: str) -> str:
        return os.path.join(self.venv_dir, 'bin', program)


def log(message: str) -> None:
    print(message, flush=True)


def isolate_home() -> None:
    """Make .venvs/home the HOME of this process and of every command it starts, so that a run writes nothing into
    the user's home. The user's pip and npm configuration (an index mirror, say) still apply, and pyenv is still
    found where it is installed."""
    real_home = os.path.expanduser('~')
    # A command started by an isolated run keeps its HOME, also from a copy of the checkout (nox in build/).
    if os.path.abspath(real_home) in (PROJECT_HOME, os.environ.get('CFPCAP_PROJECT_HOME')):
        return
    os.environ.setdefault('PYENV_ROOT', os.path.join(real_home, '.pyenv'))
    user_pip_configs = [os.path.join(os.environ.get('XDG_CONFIG_HOME') or os.path.join(real_home, '.config'), 'pip', 'pip.conf'),
                        os.path.join(real_home, '.pip', 'pip.conf')]
    user_pip_config = next((path for path in user_pip_configs if os.path.isfile(path)), None)
    if user_pip_config and 'PIP_CONFIG_FILE' not in os.environ:
        os.environ['PIP_CONFIG_FILE'] = user_pip_config
    if os.path.isfile(os.path.join(real_home, '.npmrc')) and 'NPM_CONFIG_USERCONFIG' not in os.environ:
        os.environ['NPM_CONFIG_USERCONFIG'] = os.path.join(real_home, '.npmrc')
    os.makedirs(PROJECT_HOME, exist_ok=True)
    os.environ['HOME'] = PROJECT_HOME
    os.environ['CFPCAP_PROJECT_HOME'] = PROJECT_HOME
    # Caches that follow XDG_CACHE_HOME rather than HOME (pip's among them) stay in the project too.
    os.environ['XDG_CACHE_HOME'] = os.path.join(PROJECT_HOME, '.cache')


def stop_cleanly_on_sigterm() -> None:
    """Make SIGTERM raise KeyboardInterrupt, as Ctrl-C does, so that `finally` blocks stop the servers we started."""
    def interrupt(_signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def find_python(version: str) -> str:
    """Return a Python interpreter of the given X.Y version: pyenv's first, then whatever PATH has."""
    pyenv_root = os.environ.get('PYENV_ROOT', os.path.expanduser('~/.pyenv'))
    candidates = sorted(glob.glob(os.path.join(pyenv_root, 'versions', version + '.*', 'bin', 'python' + version)), reverse=True)
    on_path = shutil.which('python' + version)
    if on_path:
        candidates.append(on_path)
    for candidate in candidates:
        # pyenv shims exist for every installed version but refuse to run the ones that are not selected.
        probe = subprocess.run([candidate, '-c', 'import sys; print("%d.%d" % sys.version_info[:2])'],
                               stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return candidate
    raise PipelineError('no Python %s interpreter found (looked in pyenv and on PATH)' % version)


def interpreters_on_path(versions: tuple[str, ...]) -> None:
    """Put the directories of these Pythons (found as find_python finds them) in front of PATH, so that nox finds
    each session's interpreter: pyenv's shims on PATH refuse versions that are not selected. A version that is not
    installed is left out (`make test` names it on its MISSING line; nox then fails its sessions)."""
    directories = []
    for version in versions:
        with contextlib.suppress(PipelineError):
            directory = os.path.dirname(find_python(version))
            if directory not in directories:
                directories.append(directory)
    os.environ['PATH'] = os.pathsep.join(directories + [os.environ.get('PATH', '')])


def keep_temporary_files_inside() -> None:
    """TMPDIR is build/tmp for this process and what it starts (antsibull-nox's collection copies, ansible-test's and
    pip's scratch files), and so is ansible's remote_tmp (ANSIBLE_REMOTE_TMP), so that a run writes only inside the
    checkout."""
    os.makedirs(temporary_dir(), exist_ok=True)
    os.environ['TMPDIR'] = temporary_dir()
    tempfile.tempdir = None  # computed again from TMPDIR
    os.environ['ANSIBLE_REMOTE_TMP'] = ansible_remote_tmp()


def temporary_dir() -> str:
    """build/tmp: the TMPDIR of a run."""
    return os.path.join(BUILD_DIR, 'tmp')


def ansible_remote_tmp() -> str:
    """Where ansible puts its module files on localhost: on the local connection, the default ~/.ansible/tmp expands
    to the home in the user database (~root), not to HOME."""
    return os.path.join(temporary_dir(), 'ansible-remote')


def write_ansible_test_config(path: str) -> None:
    """tests/integration/integration.cfg of a collection copy: the ansible.cfg that ansible-test gives every target
    (it passes neither TMPDIR nor ANSIBLE_REMOTE_TMP on), with ansible_remote_tmp()."""
    with open(path, 'w') as config:
        config.write('# Written by tests/tools/pipeline.py: module files stay inside the checkout.\n')
        config.write('[defaults]\nremote_tmp = %s\n' % ansible_remote_tmp())


def ensure_cached_venv(name: str, python: str, requirements_path: str) -> str:
    """.venvs/NAME with the requirements installed, reused while that file (and the Python version) is unchanged."""
    venv_dir = os.path.join(VENVS_DIR, name)
    with open(requirements_path) as requirements:
        stamp = text_digest(requirements.read(), python)
    stamp_path = os.path.join(venv_dir, '.requirements-stamp')
    usable = subprocess.run([os.path.join(venv_dir, 'bin', 'python'), '-c', ''], stdin=subprocess.DEVNULL, capture_output=True,
                            check=False).returncode == 0 if os.access(os.path.join(venv_dir, 'bin', 'python'), os.X_OK) else False
    if usable and os.path.isfile(stamp_path):
        with open(stamp_path) as stamp_file:
            if stamp_file.read().strip() == stamp:
                return venv_dir
    shutil.rmtree(venv_dir, ignore_errors=True)
    check_run([find_python(python), '-m', 'venv', venv_dir])
    check_run([os.path.join(venv_dir, 'bin', 'python'), '-m', 'pip', 'install', '--quiet', '-r', requirements_path])
    with open(stamp_path, 'w') as stamp_file:
        stamp_file.write(stamp + '\n')
    return venv_dir


def run(command: list[str], cwd: str = REPO_ROOT, env: dict[str, str] | None = None, log_path: str | None = None,
        echo: bool = True) -> tuple[int, str]:
    """Run a command without stdin, echo its output as it comes (unless told not to), and return its exit code and output."""
    log('$ ' + ' '.join(command))
    with subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, errors='replace') as process:
        lines = []
        try:
            for line in process.stdout:
                if echo:
                    sys.stdout.write(line)
                    sys.stdout.flush()
                lines.append(line)
        except KeyboardInterrupt:
            # Ctrl-C reaches the whole process group, but a SIGTERM sent to the runner alone does not.
            process.terminate()
            raise
    output = ''.join(lines)
    if log_path:
        os.makedirs(os.path.dirname(log_path), exist_ok=True)
        with open(log_path, 'w') as log_file:
            log_file.write(output)
    return process.returncode, output


def run_apart(command: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run a command without stdin and return its exit code, stdout and stderr apart: for output that is parsed, which
    a library's warning on stderr must not spoil (cryptography 51 warns about DSA when ansible-core 2.21 imports it)."""
    log('$ ' + ' '.join(command))
    process = subprocess.run(command, cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, errors='replace',
                             check=False)
    return process.returncode, process.stdout, process.stderr


def check_run(command: list[str], **kwargs) -> str:
    """Run a command and raise PipelineError if it fails."""
    returncode, output = run(command, **kwargs)
    if returncode != 0:
        raise PipelineError('`%s` exited with %d' % (' '.join(command), returncode))
    return output


def text_digest(*parts: str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode())
        digest.update(b'\0')
    return digest.hexdigest()


# pytest-timeout's per-test limit for the project's own pytest runs (simulator, runner, contract, eda); a test that
# hangs fails after it instead of holding the run until CI kills it. ansible-test units runs pytest with its own ini
# file, so the unit tests get theirs from tests/unit/conftest.py.
PYTEST_TIMEOUT = 300


def pytest_options(junit_path: str) -> list[str]:
    """The options of every pytest run of the project's own suites: no cache in the checkout, the time limit, a JUnit
    file to count from, and a line for each failed, errored or skipped test."""
    return ['-p', 'no:cacheprovider', '--timeout', str(PYTEST_TIMEOUT), '--junit-xml', junit_path, '-rfEs']


def ensure_venv(toolchain: Toolchain) -> None:
    """Create the toolchain's virtualenv, or reuse it while tests/requirements.txt and the toolchain are unchanged.

    When tests/requirements.txt changed, pip brings the existing virtualenv up to date in place (a run that uses it
    at the same time keeps working); only a virtualenv without a working Python is built anew.
    """
    stamp_path = os.path.join(toolchain.venv_dir, '.requirements-stamp')
    with open(REQUIREMENTS_FILE) as requirements:
        stamp = text_digest(requirements.read(), toolchain.ansible_core, toolchain.python)
    usable = subprocess.run([toolchain.bin('python'), '-c', ''], stdin=subprocess.DEVNULL, capture_output=True, check=False).returncode == 0 \
        if os.access(toolchain.bin('python'), os.X_OK) else False
    if usable and os.path.isfile(stamp_path):
        with open(stamp_path) as stamp_file:
            if stamp_file.read().strip() == stamp:
                log('reusing virtualenv %s' % os.path.relpath(toolchain.venv_dir, REPO_ROOT))
                return
    if usable:
        log('updating virtualenv %s' % os.path.relpath(toolchain.venv_dir, REPO_ROOT))
    else:
        log('creating virtualenv %s' % os.path.relpath(toolchain.venv_dir, REPO_ROOT))
        shutil.rmtree(toolchain.venv_dir, ignore_errors=True)
        check_run([find_python(toolchain.python), '-m', 'venv', toolchain.venv_dir])
    with contextlib.suppress(FileNotFoundError):
        os.remove(stamp_path)
    check_run([toolchain.bin('python'), '-m', 'pip', 'install', '--quiet', '-r', REQUIREMENTS_FILE, 'ansible-core==' + toolchain.ansible_core])
    with open(stamp_path, 'w') as stamp_file:
        stamp_file.write(stamp + '\n')


def toolchain_env(toolchain: Toolchain, **overrides: str) -> dict[str, str]:
    """The environment of a command run with the toolchain's virtualenv activated."""
    env = dict(os.environ)
    env['VIRTUAL_ENV'] = toolchain.venv_dir
    env['PATH'] = os.path.join(toolchain.venv_dir, 'bin') + os.pathsep + env.get('PATH', '')
    env.pop('PYTHONHOME', None)
    env.update(overrides)
    return env


# ansible-test builds every virtualenv without pip, then downloads a get-pip script pinned to one pip version from a
# host that is not reachable here. It uses a script found at this cache path instead, so we write one that installs
# that pip from the wheel on the package index.
GET_PIP_SCRIPT = '''\
# Installs pip {version} from the wheel beside this file; written by cloudflare.pcap's tests/tools/pipeline.py
# in place of the get-pip script that ansible-test would download.
import glob
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, glob.glob(os.path.join(here, 'pip-{version}-*.whl'))[0])
from pip._internal.cli.main import main  # pylint: disable=wrong-import-position

args = [arg for arg in sys.argv[1:] if arg not in ('--no-setuptools', '--no-wheel')]
sys.exit(main(['install', '--upgrade', '--force-reinstall', '--find-links', here] + args))
'''


def seed_ansible_test_pip(python: str, python_version: str) -> None:
    """Put an offline get-pip script for the pip version that ansible-test pins into its cache; `python` is the
    interpreter of the virtualenv that has ansible-core, `python_version` (X.Y) the one ansible-test runs with.

    The cache is the one under PROJECT_HOME (the HOME that isolate_home gives ansible-test), never the user's.
    """
    pip_version = ansible_test_pip_version(python, python_version)
    cache_dir = ANSIBLE_TEST_CACHE
    os.makedirs(cache_dir, exist_ok=True)
    if not glob.glob(os.path.join(cache_dir, 'pip-%s-*.whl' % pip_version)):
        check_run([python, '-m', 'pip', 'download', '--quiet', '--no-deps', '--only-binary', ':all:',
                   '--dest', cache_dir, 'pip==' + pip_version])
    script_path = os.path.join(cache_dir, 'get_pip_%s.py' % pip_version.replace('.', '_'))
    # Written whole or not at all: another toolchain's ansible-test may be reading it right now.
    handle, partial = tempfile.mkstemp(dir=cache_dir, prefix='.get_pip.')
    with os.fdopen(handle, 'w') as script:
        script.write(GET_PIP_SCRIPT.format(version=pip_version))
    os.chmod(partial, 0o644)
    os.replace(partial, script_path)
    log('ansible-test pip %s bootstrap: %s' % (pip_version, os.path.relpath(script_path, REPO_ROOT)))


def ansible_test_pip_version(python: str, python_version: str) -> str:
    """The pip version that the ansible-test of `python`'s ansible-core pins for Python `python_version`: from its own
    function, else from its source (as ../shared/tools/seed-ansible-test-pip.sh reads it), since the function's name
    has moved between releases."""
    ask_pip_version = (
        'import os, re, types\n'
        'try:\n'
        '    from ansible_test._internal.python_requirements import get_venv_packages\n'
        '    print(get_venv_packages(types.SimpleNamespace(version="%s"))["pip"])\n'
        'except Exception:\n'
        '    import ansible_test\n'
        '    source = os.path.join(os.path.dirname(ansible_test.__file__), "_internal", "python_requirements.py")\n'
        '    with open(source) as handle:\n'
        '        print(re.search(r"pip=\'([0-9.]+)\'", handle.read()).group(1))\n' % python_version)
    answer = subprocess.run([python, '-c', ask_pip_version], stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
    pip_version = answer.stdout.strip()
    if answer.returncode != 0 or not re.fullmatch(r'[0-9.]+', pip_version):
        raise PipelineError('cannot tell which pip version ansible-test pins: %s' % answer.stderr.strip())
    return pip_version


def _is_excluded(relative_path: str) -> bool:
    if any(relative_path == excluded or relative_path.startswith(excluded + '/') for excluded in COPY_EXCLUDED_PATHS):
        return True
    return any(fnmatch.fnmatch(part, pattern) for part in relative_path.split('/') for pattern in COPY_EXCLUDED_NAMES)


def collection_files() -> list[str]:
    """The repository's files, tracked or not, without what git ignores (or, outside git, without the build outputs)."""
    listing = None
    if shutil.which('git'):
        listing = subprocess.run(['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'], cwd=REPO_ROOT,
                                 stdin=subprocess.DEVNULL, capture_output=True, check=False)
    if listing and listing.returncode == 0:
        candidates = [path for path in listing.stdout.decode().split('\0') if path]
    else:
        candidates = []
        for directory, subdirectories, files in os.walk(REPO_ROOT):
            relative_directory = os.path.relpath(directory, REPO_ROOT)
            subdirectories[:] = [name for name in subdirectories if not _is_excluded(os.path.normpath(os.path.join(relative_directory, name)))]
            candidates.extend(os.path.normpath(os.path.join(relative_directory, name)) for name in files)
    # Deleted-but-tracked files are listed by git too, hence the existence check.
    return sorted(path for path in candidates if not _is_excluded(path) and os.path.lexists(os.path.join(REPO_ROOT, path)))


def copy_collection(copy_dir: str = COLLECTION_COPY) -> str:
    """Lay a fresh copy of the collection at copy_dir (by default build/collections/ansible_collections/cloudflare/pcap;
    it must end in ansible_collections/cloudflare/pcap) and return its path."""
    shutil.rmtree(copy_dir, ignore_errors=True)
    files = collection_files()
    for relative_path in files:
        destination = os.path.join(copy_dir, relative_path)
        os.makedirs(os.path.dirname(destination), exist_ok=True)
        shutil.copy2(os.path.join(REPO_ROOT, relative_path), destination, follow_symlinks=False)
    own_git_repository(copy_dir)
    log('copied %d files to %s' % (len(files), os.path.relpath(copy_dir, REPO_ROOT)))
    return copy_dir


def own_git_repository(copy_dir: str) -> None:
    """Give a collection copy inside this checkout a git repository of its own (no commit needed).

    ansible-test lists a collection's files with git when it finds a .git in the collection or above it. Above a copy
    in build/ is this checkout, which ignores build/: ansible-test would find no file ("Cannot run unit tests
    without tests/unit/")."""
    if shutil.which('git') and not os.path.exists(os.path.join(copy_dir, '.git')):
        check_run(['git', 'init', '--quiet', copy_dir])


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now, for servers that cannot pick their own."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def wait_for_http(url: str, process: subprocess.Popen, timeout: float = SERVICE_START_TIMEOUT) -> None:
    """Wait until url answers any HTTP status; fail early when the server process dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise PipelineError('server exited with %d before answering %s' % (process.returncode, url))
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    raise PipelineError('%s did not answer within %d s' % (url, timeout))


def stop_process(process: subprocess.Popen) -> None:
    """Stop a server we started, and the processes it started (it leads its own process group)."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@dataclasses.dataclass(frozen=True)
class RunningSimulator:
    base_url: str  # the API root, ending in /client/v4
    admin_url: str  # the simulator's own control API, ending in /__sim


@contextlib.contextmanager
def simulator(python: str, collection_dir: str, log_name: str = 'simulator.log'):
    """Run tests/simulator/cfpcap_sim.py on a free port for the duration of the block (its output: build/logs/log_name)."""
    script = os.path.join(collection_dir, 'tests', 'simulator', 'cfpcap_sim.py')
    if not os.path.isfile(script):
        raise PipelineError('the simulator %s does not exist' % os.path.relpath(script, collection_dir))
    with tempfile.TemporaryDirectory(prefix='cfpcap-sim-') as scratch:
        port_file = os.path.join(scratch, 'port')
        sim_log_path = os.path.join(LOGS_DIR, log_name)
        os.makedirs(LOGS_DIR, exist_ok=True)
        with open(sim_log_path, 'w') as sim_log:
            process = subprocess.Popen([python, script, '--port', '0', '--port-file', port_file, '--quiet'], cwd=collection_dir,
                                       stdin=subprocess.DEVNULL, stdout=sim_log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            port = _wait_for_port_file(port_file, process)
            running = RunningSimulator(base_url='http://127.0.0.1:%d/client/v4' % port, admin_url='http://127.0.0.1:%d/__sim' % port)
            wait_for_http(running.admin_url + '/health', process)
            log('simulator listening on %s (log: %s)' % (running.base_url, os.path.relpath(sim_log_path, REPO_ROOT)))
            yield running
        finally:
            stop_process(process)


def install_contract_node_modules() -> None:
    """`npm ci` in tests/contract, skipped while node_modules was installed from the same package-lock.json."""
    with open(os.path.join(CONTRACT_DIR, 'package-lock.json')) as lock:
        stamp = text_digest(lock.read())
    stamp_path = os.path.join(CONTRACT_DIR, 'node_modules', '.package-lock-stamp')
    if os.path.exists(stamp_path):
        with open(stamp_path) as stamp_file:
            if stamp_file.read().strip() == stamp:
                log('reusing tests/contract/node_modules')
                return
    check_run(['npm', 'ci', '--no-audit', '--no-fund'], cwd=CONTRACT_DIR)
    with open(stamp_path, 'w') as stamp_file:
        stamp_file.write(stamp + '\n')


@contextlib.contextmanager
def prism(log_name: str = 'prism.log'):
    """Prism's mock server of Cloudflare's spec on a free port for the duration of the block (installed by npm in
    tests/contract first; its output: build/logs/log_name); yields its URL."""
    install_contract_node_modules()
    port = free_port()
    command = [os.path.join(CONTRACT_DIR, 'node_modules', '.bin', 'prism'), 'mock', '--host', '127.0.0.1', '--port', str(port), OPENAPI_SPEC]
    os.makedirs(LOGS_DIR, exist_ok=True)
    with open(os.path.join(LOGS_DIR, log_name), 'w') as prism_log:
        process = subprocess.Popen(command, cwd=CONTRACT_DIR, stdin=subprocess.DEVNULL, stdout=prism_log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        # Prism serves the spec's paths at its root, not under the spec's server path /client/v4.
        url = 'http://127.0.0.1:%d' % port
        wait_for_http(url + '/', process)
        log('prism mock listening on %s (log: %s)' % (url, os.path.relpath(os.path.join(LOGS_DIR, log_name), REPO_ROOT)))
        yield url
    finally:
        stop_process(process)


@dataclasses.dataclass(frozen=True)
class RunningBucketStore:
    url: str  # moto's S3 endpoint on loopback
    access_key_id: str  # its administrator's keys
    secret_access_key: str
    bucket: str  # a bucket made for full captures


@contextlib.contextmanager
def bucket_store(python: str, collection_dir: str, log_name: str = 'moto.log'):
    """Run moto's S3 server (tests/tools/moto_service.py) for the duration of the block, as simulator() runs the
    simulator: the integration targets' stand-in for the buckets Cloudflare writes full captures into."""
    script = os.path.join(collection_dir, 'tests', 'tools', 'moto_service.py')
    with tempfile.TemporaryDirectory(prefix='cfpcap-moto-') as scratch:
        info_file = os.path.join(scratch, 'info.json')
        log_path = os.path.join(LOGS_DIR, log_name)
        os.makedirs(LOGS_DIR, exist_ok=True)
        with open(log_path, 'w') as service_log:
            process = subprocess.Popen([python, script, '--info-file', info_file], cwd=collection_dir, stdin=subprocess.DEVNULL,
                                       stdout=service_log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + SERVICE_START_TIMEOUT
            while not os.path.exists(info_file):
                if process.poll() is not None:
                    raise PipelineError('the moto server exited with %d at start (see %s)' % (process.returncode, log_path))
                if time.monotonic() > deadline:
                    raise PipelineError('the moto server did not start within %d s (see %s)' % (SERVICE_START_TIMEOUT, log_path))
                time.sleep(0.1)
            with open(info_file) as handle:
                running = RunningBucketStore(**json.load(handle))
            log('moto S3 server listening on %s (log: %s)' % (running.url, os.path.relpath(log_path, REPO_ROOT)))
            yield running
        finally:
            stop_process(process)


def write_integration_config(path: str, running: RunningSimulator, store: RunningBucketStore | None = None) -> None:
    """The variables every integration target gets (ansible-test passes this file as extra vars). With a bucket
    store: moto's endpoint, keys and bucket."""
    variables = {
        'cloudflare_base_url': running.base_url,
        'cloudflare_api_token': SIMULATOR_API_TOKEN,
        'cloudflare_api_email': SIMULATOR_API_EMAIL,
        'cloudflare_api_key': SIMULATOR_API_KEY,
        'cloudflare_account_id': SIMULATOR_ACCOUNT_ID,
        'simulator_url': running.admin_url,
    }
    if store is not None:
        variables.update(bucket_store_url=store.url, bucket_store_access_key_id=store.access_key_id,
                         bucket_store_secret_access_key=store.secret_access_key, bucket_store_bucket=store.bucket)
    with open(path, 'w') as config:
        config.write('# Written by tests/tools/pipeline.py for the simulator of this run.\n')
        # A JSON string is a valid YAML double-quoted scalar.
        config.writelines('%s: %s\n' % (name, json.dumps(value)) for name, value in variables.items())


def _wait_for_port_file(port_file: str, process: subprocess.Popen) -> int:
    deadline = time.monotonic() + SERVICE_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise PipelineError('the simulator exited with %d at start (see its log in build/logs)' % process.returncode)
        with contextlib.suppress(FileNotFoundError, ValueError):
            with open(port_file) as port_text:
                return int(port_text.read().strip())
        time.sleep(0.1)
    raise PipelineError('the simulator wrote no port file within %d s' % SERVICE_START_TIMEOUT)


def simulator_client_env(toolchain: Toolchain, running: RunningSimulator) -> dict[str, str]:
    """Environment for ansible commands that talk to the simulator with its token."""
    env = toolchain_env(toolchain, CLOUDFLARE_API_TOKEN=SIMULATOR_API_TOKEN, CLOUDFLARE_ACCOUNT_ID=SIMULATOR_ACCOUNT_ID,
                        CLOUDFLARE_BASE_URL=running.base_url, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_DIR)
    # The caller's own Cloudflare credentials must neither reach the simulator nor clash with its token.
    for name in ('CLOUDFLARE_EMAIL', 'CLOUDFLARE_API_KEY'):
        env.pop(name, None)
    return env
