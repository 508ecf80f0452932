# Copyright: contributors to the cloudflare.pcap collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the Event-Driven Ansible end-to-end test: the simulator and ansible-rulebook on loopback ports.

Run from the collection root with the virtualenv of tests/eda/requirements.txt (see tests/eda/README.md). A missing
prerequisite (java, ansible-rulebook, ansible-playbook, ansible-galaxy, requests, jsonschema) fails the test and
names it; nothing is skipped.
"""

import http.client
import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))
PAYLOADS = os.path.join(HERE, 'payloads')
SIM_SCRIPT = os.path.join(REPO_ROOT, 'tests', 'simulator', 'cfpcap_sim.py')
RULEBOOK = 'cloudflare.pcap.attack_capture'
TOKEN = 'cfsim-token-0000000000000000000000000000000'
ACCOUNT = '023e105f4ecef8ad9ca31a8372d0c353'
# Simulated seconds per real second: a 60-second capture takes 4 real seconds, and so does Cloudflare's minute.
CLOCK_SPEED = 15
# Cloudflare's minute on the simulator's clock, for the filter's start slots and the spacing of requests (the
# test-only CLOUDFLARE_PCAP_TEST_MINUTE).
TEST_MINUTE = 60.0 / CLOCK_SPEED
SIM_START_TIMEOUT = 30.0
# The JVM (Drools) and the collection look-up of ansible-rulebook take 10 to 20 seconds on an idle 2-core machine.
RULEBOOK_START_TIMEOUT = float(os.environ.get('EDA_TEST_START_TIMEOUT', '240'))
# One playbook run: ansible-playbook's start, the capture on the fast clock, the download.
STEP_TIMEOUT = float(os.environ.get('EDA_TEST_STEP_TIMEOUT', '240'))
POLL = 0.5


def find_program(name):
    """The program beside this Python first (the test's virtualenv), else on PATH."""
    beside = os.path.join(os.path.dirname(sys.executable), name)
    if os.access(beside, os.X_OK):
        return beside
    return shutil.which(name)


def find_java():
    java_home = os.environ.get('JAVA_HOME')
    if java_home and os.access(os.path.join(java_home, 'bin', 'java'), os.X_OK):
        return os.path.join(java_home, 'bin', 'java')
    return shutil.which('java')


def missing_prerequisites():
    missing = []
    if not find_java():
        missing.append('java (Java 17 or newer: on PATH, or JAVA_HOME set)')
    for program in ('ansible-rulebook', 'ansible-playbook', 'ansible-galaxy'):
        if not find_program(program):
            missing.append(program)
    for module in ('requests', 'jsonschema'):
        if importlib.util.find_spec(module) is None:
            missing.append('the Python module %s' % module)
    return missing


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def wait_until(what, check, timeout, process=None, log_path=None):
    """Poll check() until it returns a true value; fail naming what, with the log's tail, when time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if process is not None and process.poll() is not None:
            pytest.fail('%s: the process ended with exit code %s\n%s' % (what, process.returncode, tail(log_path)))
        if time.monotonic() > deadline:
            pytest.fail('%s: not within %.0f seconds\n%s' % (what, timeout, tail(log_path)))
        time.sleep(POLL)


def tail(log_path, lines=60):
    if not log_path or not os.path.exists(log_path):
        return ''
    with open(log_path, encoding='utf-8', errors='replace') as handle:
        return '--- last lines of %s ---\n%s' % (log_path, ''.join(handle.readlines()[-lines:]))


def http_request(port, method, path, body=None, headers=None):
    connection = http.client.HTTPConnection('127.0.0.1', port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read().decode('utf-8', 'replace')
    finally:
        connection.close()


def stop(process):
    """SIGTERM to the process group this test started, then SIGKILL after a bounded wait."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


class Simulator:
    def __init__(self, port):
        self.port = port
        self.base_url = 'http://127.0.0.1:%d/client/v4' % port

    def admin(self, method, what):
        status, body = http_request(self.port, method, '/__sim/' + what)
        assert status == 200, body
        return json.loads(body)

    def captures(self):
        return self.admin('GET', 'captures')


class Rulebook:
    def __init__(self, process, port, log_path, dest_dir, secret):
        self.process = process
        self.port = port
        self.log_path = log_path
        self.dest_dir = dest_dir
        self.secret = secret

    def log(self):
        with open(self.log_path, encoding='utf-8', errors='replace') as handle:
            return handle.read()

    def post(self, payload_name, secret=None, header='Cf-Webhook-Auth'):
        """Post a sample payload, sent now: its ts (when it has one) is the current time, as Cloudflare's is."""
        with open(os.path.join(PAYLOADS, payload_name), 'rb') as handle:
            payload = json.load(handle)
        if 'ts' in payload:
            payload['ts'] = int(time.time())
        body = json.dumps(payload).encode('utf-8')
        headers = {'Content-Type': 'application/json', 'User-Agent': 'Go-http-client/2.0'}
        if secret is not None:
            headers[header] = secret
        return http_request(self.port, 'POST', '/cloudflare', body=body, headers=headers)

    def wait_for_log(self, text, timeout=STEP_TIMEOUT):
        return wait_until('ansible-rulebook to print %r' % text, lambda: text in self.log(), timeout,
                          self.process, self.log_path)


@pytest.fixture(scope='session')
def prerequisites():
    missing = missing_prerequisites()
    if missing:
        pytest.fail('The Event-Driven Ansible end-to-end test cannot run: missing %s. Install them with '
                    '"python3.11 -m venv VENV && VENV/bin/pip install -r tests/eda/requirements.txt" and a Java 17 '
                    'runtime, then run "VENV/bin/python -m pytest tests/eda".' % '; '.join(missing), pytrace=False)


@pytest.fixture(scope='module')
def simulator(tmp_path_factory):
    work = tmp_path_factory.mktemp('sim')
    port_file = str(work / 'sim.port')
    log_path = str(work / 'sim.log')
    with open(log_path, 'wb') as log:
        process = subprocess.Popen([sys.executable, SIM_SCRIPT, '--port', '0', '--port-file', port_file, '--quiet',
                                    '--clock-speed', str(CLOCK_SPEED)],
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until('the simulator to write its port file', lambda: os.path.exists(port_file), SIM_START_TIMEOUT,
                   process, log_path)
        with open(port_file, encoding='ascii') as handle:
            sim = Simulator(int(handle.read().strip()))
        assert sim.admin('GET', 'health') == {'ok': True}
        yield sim
    finally:
        stop(process)


def write_private_file(path, text):
    """A file only its owner can read, as the guide keeps the webhook secret and the API token."""
    descriptor = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, 'w', encoding='ascii') as handle:
        handle.write(text + '\n')
    return str(path)


class RulebookSetup:
    """Everything one ansible-rulebook run needs, in `work`: started again with the same port, state and spool, it is
    the same service after a restart."""

    def __init__(self, work, simulator, time_limit=60, dest_dir=None, environment=None, cwd=None):
        self.work = work
        self.cwd = str(cwd or work)
        # ansible-rulebook finds cloudflare.pcap (rulebook, source, filter, the playbook cloudflare.pcap.attack_capture,
        # role) through ansible-galaxy on this path; it runs in another directory, so no path is relative to the checkout.
        collection_dir = work / 'collections' / 'ansible_collections' / 'cloudflare'
        collection_dir.mkdir(parents=True)
        os.symlink(REPO_ROOT, str(collection_dir / 'pcap'))
        self.dest_dir = str(dest_dir or work / 'captures')
        inventory = work / 'inventory.yml'
        inventory.write_text('all:\n  hosts:\n    localhost:\n      ansible_connection: local\n'
                             '      ansible_python_interpreter: "{{ ansible_playbook_python }}"\n', encoding='utf-8')
        self.port = free_port()
        # As the guide (docs/docsite/rst/eda.rst) says: the webhook secret and the API token in files of mode 0600
        # (webhook_secret_file, CLOUDFLARE_API_TOKEN_FILE), never in the environment, which ansible-runner writes into
        # each playbook run's artifacts.
        self.secret = 'eda-test-' + secrets.token_hex(16)
        secrets_dir = work / 'secrets'
        secrets_dir.mkdir(mode=0o700)
        variables = work / 'vars.yml'
        variables.write_text(json.dumps({
            'webhook_port': self.port, 'capture_dest_dir': self.dest_dir, 'capture_time_limit': time_limit,
            'capture_packet_limit': 200,
            'webhook_secret_file': write_private_file(secrets_dir / 'webhook_secret', self.secret)}), encoding='utf-8')
        self.bin_dir = os.path.dirname(find_program('ansible-rulebook'))
        self.env = dict((name, value) for name, value in os.environ.items() if not name.startswith('CLOUDFLARE_'))
        self.env.update({
            'PATH': os.pathsep.join([self.bin_dir, os.path.dirname(find_java()), self.env.get('PATH', '')]),
            'ANSIBLE_COLLECTIONS_PATH': str(work / 'collections'),
            'ANSIBLE_NOCOLOR': '1',
            'ANSIBLE_LOCAL_TEMP': str(work / 'ansible-tmp'),
            # The filter's memory of captured targets (a state file) and the source's spool stay with this run, not
            # in the user's home.
            'XDG_STATE_HOME': str(work / 'state'),
            'CLOUDFLARE_API_TOKEN_FILE': write_private_file(secrets_dir / 'api_token', TOKEN),
            'CLOUDFLARE_ACCOUNT_ID': ACCOUNT,
            'CLOUDFLARE_BASE_URL': simulator.base_url,
            'CLOUDFLARE_PCAP_TEST_MINUTE': str(TEST_MINUTE),
        })
        self.env.update(environment or {})
        self.argv = [os.path.join(self.bin_dir, 'ansible-rulebook'), '-v', '-r', RULEBOOK, '-i', str(inventory),
                     '--env-vars', 'CLOUDFLARE_ACCOUNT_ID', '--vars', str(variables)]
        self.runs = 0

    def start(self):
        """ansible-rulebook, once it listens; each run logs into a file of its own."""
        self.runs += 1
        log_path = str(self.work / ('ansible-rulebook.log' if self.runs == 1 else 'ansible-rulebook-%d.log' % self.runs))
        with open(log_path, 'wb') as log:
            process = subprocess.Popen(self.argv, cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        try:
            wait_until('ansible-rulebook to listen on 127.0.0.1:%d (the JVM starts first)' % self.port,
                       lambda: accepts(self.port), RULEBOOK_START_TIMEOUT, process, log_path)
        except BaseException:
            stop(process)
            raise
        return Rulebook(process, self.port, log_path, self.dest_dir, self.secret)

    def processes_left(self):
        """The processes of this run still alive (ansible-runner puts the playbooks in sessions of their own): those
        whose environment names this run's collections path."""
        marker = ('ANSIBLE_COLLECTIONS_PATH=%s' % self.env['ANSIBLE_COLLECTIONS_PATH']).encode('utf-8')
        left = []
        for pid in os.listdir('/proc'):
            if not pid.isdigit() or int(pid) == os.getpid():
                continue
            try:
                with open('/proc/%s/environ' % pid, 'rb') as handle:
                    if marker in handle.read().split(b'\0'):
                        left.append(int(pid))
            except OSError:
                continue
        return left


@pytest.fixture(scope='module')
def rulebook(prerequisites, simulator, tmp_path_factory):
    setup = RulebookSetup(tmp_path_factory.mktemp('eda'), simulator)
    running = setup.start()
    try:
        yield running
    finally:
        stop(running.process)


def accepts(port):
    try:
        with socket.create_connection(('127.0.0.1', port), timeout=2):
            return True
    except OSError:
        return False
