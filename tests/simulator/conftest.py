# -*- coding: utf-8 -*-
# Copyright: contributors to the cloudflare.pcap collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures: one simulator subprocess per test session, reset before every test."""

import http.client
import json
import os
import signal
import struct
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from cfpcap_spec import OpenApiContract  # noqa: E402

SIM_SCRIPT = os.path.join(HERE, 'cfpcap_sim.py')
SPEC_PATH = os.path.join(HERE, '..', '..', 'docs', 'openapi', 'pcaps.openapi.json')
TOKEN = 'cfsim-token-0000000000000000000000000000000'
EMAIL = 'incident@example.com'
KEY = 'cfsim-global-key-00000000000000000000'
ACCOUNT = '023e105f4ecef8ad9ca31a8372d0c353'
SECOND_ACCOUNT = '00000000000000000000000000000002'
START_TIMEOUT = 15.0
FULL_DESTINATION = 's3://pcaps-bucket?region=us-east-1'


def simple_body(**changes):
    body = {'type': 'simple', 'system': 'magic-transit', 'time_limit': 10, 'packet_limit': 50}
    body.update(changes)
    return body


def full_body(**changes):
    body = {'type': 'full', 'system': 'magic-transit', 'time_limit': 60, 'colo_name': 'ord02',
            'destination_conf': FULL_DESTINATION}
    body.update(changes)
    return body


def assert_failure(reply, status, code):
    assert reply.status == status, reply.body
    document = reply.json
    assert document['success'] is False
    assert document['result'] is None
    assert document['errors'][0]['code'] == code, document
    return document['errors'][0]['message']


class Reply:
    """A finished HTTP exchange."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def json(self):
        return json.loads(self.body.decode('utf-8'))

    @property
    def error_codes(self):
        return [error['code'] for error in self.json['errors']]

    def header(self, name):
        return self.headers.get(name.lower())


class SimClient:
    """A small standard-library client for the simulator (one connection per request)."""

    def __init__(self, port):
        self.port = port
        self.base = '/client/v4/accounts/%s' % ACCOUNT

    def request(self, method, path, body=None, headers=None, auth='bearer', timeout=10.0, raw=None):
        all_headers = {}
        if auth == 'bearer':
            all_headers['Authorization'] = 'Bearer ' + TOKEN
        elif auth == 'global_key':
            all_headers.update({'X-Auth-Email': EMAIL, 'X-Auth-Key': KEY})
        all_headers.update(headers or {})
        payload = raw
        if body is not None:
            payload = json.dumps(body).encode('utf-8')
            all_headers['Content-Type'] = 'application/json'
        connection = http.client.HTTPConnection('127.0.0.1', self.port, timeout=timeout)
        try:
            connection.request(method, path, body=payload, headers=all_headers)
            response = connection.getresponse()
            data = response.read()
            return Reply(response.status, dict((k.lower(), v) for k, v in response.getheaders()), data)
        finally:
            connection.close()

    def api(self, method, subpath='', body=None, **kwargs):
        """Call an operation under /accounts/ACCOUNT/pcaps."""
        return self.request(method, self.base + '/pcaps' + subpath, body=body, **kwargs)

    def admin(self, method, name, body=None):
        reply = self.request(method, '/__sim/' + name, body=body, auth=None)
        return reply.json if reply.body else None

    def advance(self, seconds):
        return self.admin('POST', 'clock', {'advance': seconds})

    def create(self, body, expect=200):
        reply = self.api('POST', body=body)
        assert reply.status == expect, reply.body
        return reply.json['result']

    def seed_bucket(self, destination_conf=FULL_DESTINATION, validated=True, account_id=ACCOUNT):
        """Register a bucket through the admin API (validated by default), so that full captures can use it."""
        reply = self.request('POST', '/__sim/buckets', auth=None, body={
            'destination_conf': destination_conf, 'validated': validated, 'account_id': account_id})
        assert reply.status == 200, reply.body
        return reply.json


def parse_pcap_records(data, snaplen):
    """[(kept bytes, original length)] of a little-endian libpcap file whose header has that snaplen."""
    magic, major, minor, _zone, _sigfigs, header_snaplen, linktype = struct.unpack('<IHHiIII', data[:24])
    assert (magic, major, minor, header_snaplen, linktype) == (0xa1b2c3d4, 2, 4, snaplen, 1)
    records = []
    offset = 24
    while offset < len(data):
        _seconds, microseconds, included, original = struct.unpack('<IIII', data[offset:offset + 16])
        assert microseconds < 1000000 and included <= min(snaplen, original)
        frame = data[offset + 16:offset + 16 + included]
        assert len(frame) == included
        records.append((frame, original))
        offset += 16 + included
    return records


def wait_for_port_file(path, process):
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError('simulator exited early with code %s' % process.returncode)
        if os.path.exists(path):
            with open(path, encoding='utf-8') as handle:
                return int(handle.read().strip())
        time.sleep(0.05)
    raise RuntimeError('simulator did not write its port file within %.0f s' % START_TIMEOUT)


def start_simulator(tmp_dir, extra_args=()):
    port_file = os.path.join(str(tmp_dir), 'sim.port')
    command = [sys.executable, SIM_SCRIPT, '--port', '0', '--port-file', port_file, '--quiet',
               '--account', ACCOUNT, '--account', SECOND_ACCOUNT] + list(extra_args)
    # Files, not pipes: nobody reads the output of the session simulator, and a full pipe would block it.
    with open(os.path.join(str(tmp_dir), 'sim.out'), 'wb') as stdout, \
            open(os.path.join(str(tmp_dir), 'sim.err'), 'wb') as stderr:
        process = subprocess.Popen(command, stdout=stdout, stderr=stderr)
    try:
        port = wait_for_port_file(port_file, process)
    except RuntimeError:
        process.kill()
        process.communicate(timeout=10)
        raise
    return process, port


def stop_simulator(process):
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    if process.stdout:
        process.stdout.close()
    if process.stderr:
        process.stderr.close()


@pytest.fixture(scope='session')
def simulator_process(tmp_path_factory):
    process, port = start_simulator(tmp_path_factory.mktemp('cfpcap-sim'))
    yield process, port
    stop_simulator(process)


@pytest.fixture
def sim(simulator_process):
    client = SimClient(simulator_process[1])
    # A frozen clock makes every status transition depend on /__sim/clock alone.
    client.admin('POST', 'reset')
    client.admin('POST', 'config', {'clock_speed': 0})
    return client


@pytest.fixture(scope='session')
def contract():
    return OpenApiContract.from_file(SPEC_PATH)
