# Copyright: cloudflare.pcap maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared helpers of the contract tests: running a module as a real ad-hoc command, and a recording proxy.

Prism serves docs/openapi/pcaps.openapi.json. It answers 422 (request body against the schema) or 401 (security
schemes) with an `sl-violations` header whenever a request breaks the contract, so a module fails on any request
that Cloudflare's published contract rejects.

`nox -s contract` (or `make test SESSIONS=contract`) starts Prism and sets PRISM_URL and ANSIBLE_COLLECTIONS_PATH (the collection copy).

What Prism 5.14.2 answers, in its static mode, for this spec (checked by hand; the tests rely on it):
- Every capture it returns, listed (GET .../pcaps), created (POST), or got (GET .../pcaps/{any id}), is the same
  simple capture EXAMPLE_CAPTURE_ID with status `unknown`: Prism takes the first value of an enum, not the schema's
  `example: success`, and the first branch of anyOf (pcaps_response_simple). The id in the path is not looked at.
- Every bucket (listed, added, validated) is EXAMPLE_BUCKET_ID for EXAMPLE_BUCKET with status `pending`.
- PUT .../stop and DELETE .../ownership/{id}: 204 without a body.
- GET .../download: 500 (application/problem+json, "Cannot find serializer for application/vnd.tcpdump.pcap"): the
  spec gives that media type neither a schema nor an example, so Prism cannot answer a pcap; with only
  `Accept: application/json` it answers 406.
With `Prefer: dynamic=true` (dynamic mode) Prism generates data instead. The envelope's `result` is declared in
both branches of an allOf (api-response-common: object, array or string; the collection or single response: the
records), and Prism often generates it from the first alone: a string or an object of random fields where a list
is due (it then flags its own answer in sl-violations, location `response`), else records with random ids and
out-of-range numbers. Good only to show that no module crashes on it.
"""

from __future__ import annotations

import http.client
import http.server
import json
import os
import subprocess
import sys
import threading
import urllib.parse
from dataclasses import dataclass, field
from typing import Callable, Optional

import pytest

ACCOUNT_ID = '023e105f4ecef8ad9ca31a8372d0c353'
# Prism checks only that credentials are present, in the headers the spec's security schemes name.
API_TOKEN = 'contract-test-token-0000000000000000000000'
TOKEN_CREDENTIALS = {'CLOUDFLARE_API_TOKEN': API_TOKEN}
ACCOUNT_PATH = '/accounts/%s' % ACCOUNT_ID

# Prism's static answers (see the module docstring).
EXAMPLE_CAPTURE_ID = '66802ca5668e47a2b82c2e6746e45037'
EXAMPLE_BUCKET_ID = '9883874ecac311ec8475433579a6bf5f'
EXAMPLE_BUCKET = 's3://pcaps-bucket?region=us-east-1'
EXAMPLE_CHALLENGE_FILENAME = 'ownership-challenge-9883874ecac311ec8475433579a6bf5f.txt'


@pytest.fixture(scope='session', name='prism_url')
def prism_url_fixture() -> str:
    url = os.environ.get('PRISM_URL')
    if not url or not os.environ.get('ANSIBLE_COLLECTIONS_PATH'):
        pytest.fail('PRISM_URL and ANSIBLE_COLLECTIONS_PATH are not set: run these tests with `nox -s contract`')
    return url


@dataclass
class ModuleRun:
    returncode: int
    result: dict
    stderr: str

    @property
    def failed(self) -> bool:
        return self.returncode != 0 or bool(self.result.get('failed'))


def run_module(base_url: str, module: str, module_args: dict, credentials: Optional[dict] = None, check_mode: bool = False) -> ModuleRun:
    """Run cloudflare.pcap.<module> with `ansible localhost -m` against base_url; its result, parsed from the stdout
    callback's output."""
    env = {name: value for name, value in os.environ.items() if not name.startswith('CLOUDFLARE_')}
    env.update(TOKEN_CREDENTIALS if credentials is None else credentials)
    env.update(
        CLOUDFLARE_ACCOUNT_ID=ACCOUNT_ID,
        CLOUDFLARE_BASE_URL=base_url,
        # ansible-core's own `minimal` callback prints "localhost | CHANGED => {result as JSON}" (the `json` callback
        # lives in the ansible.posix collection, which the test toolchain does not have).
        ANSIBLE_STDOUT_CALLBACK='minimal',
        ANSIBLE_LOAD_CALLBACK_PLUGINS='1',
        ANSIBLE_NOCOLOR='1',
        ANSIBLE_LOCALHOST_WARNING='0',
        ANSIBLE_INVENTORY_UNPARSED_WARNING='0',
    )
    # The ansible of the Python that runs pytest, the toolchain under test.
    ansible = os.path.join(os.path.dirname(sys.executable), 'ansible')
    command = [ansible, 'localhost', '-m', 'cloudflare.pcap.' + module]
    # ansible takes `-a '{}'` for raw parameters, which only a few modules accept: no arguments, no -a.
    command += (['-a', json.dumps(module_args)] if module_args else []) + (['--check'] if check_mode else [])
    completed = subprocess.run(command, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=180, check=False)
    try:
        result = json.loads(completed.stdout.partition(' => ')[2])
    except ValueError:
        pytest.fail('ansible gave no task result (rc %d)\nstdout: %s\nstderr: %s' % (completed.returncode, completed.stdout, completed.stderr))
    return ModuleRun(completed.returncode, result, completed.stderr)


def succeeded(run: ModuleRun) -> dict:
    assert not run.failed, 'module failed (rc %d): %s\n%s' % (run.returncode, run.result.get('msg'), run.stderr)
    return run.result


def failed_cleanly(run: ModuleRun) -> dict:
    """The module failed with its own message (fail_json), not with an exception.

    A module run as a subprocess that raises gives "MODULE FAILURE" and module_stderr; one that the action plugin
    runs in-process (on the controller's own Python, as here) gives ansible's "Task failed: <exception>"."""
    assert run.failed, 'module succeeded: %s' % json.dumps(run.result)
    result = run.result
    assert 'module_stderr' not in result and 'exception' not in result, 'module crashed: %s' % json.dumps(result)
    assert 'Traceback' not in run.stderr, run.stderr
    message = result.get('msg')
    assert isinstance(message, str) and message, result
    assert not message.startswith(('MODULE FAILURE', 'Task failed')), 'module crashed: %s' % json.dumps(result)
    return result


@dataclass
class Recorded:
    """One request that went through the proxy, and Prism's verdict on it."""
    method: str
    path: str
    body: object
    status: int
    violations: Optional[str]


Rewrite = Callable[[str, str, dict], dict]


@dataclass
class RecordingProxy:
    """Forwards every request to Prism unchanged and records it with Prism's answer status.

    `rewrite(method, path, envelope)`, when set, may change Prism's JSON answers before the module sees them. The
    tests use it only to put a value of the schema's own enum where Prism's static answer has another (a `running`
    capture where Prism always says `unknown`), so that a flow that Prism's examples cannot reach still sends its
    requests to Prism, which checks them.
    """
    prism_url: str
    rewrite: Optional[Rewrite] = None
    # Ask Prism for data generated from the response schemas (`Prefer: dynamic=true`) instead of its static answer.
    dynamic: bool = False
    requests: list = field(default_factory=list)
    url: str = ''

    def calls(self) -> list:
        """(method, path below the account) of each request, in order."""
        return [(recorded.method, recorded.path[len(ACCOUNT_PATH):] if recorded.path.startswith(ACCOUNT_PATH) else recorded.path)
                for recorded in self.requests]

    def assert_prism_accepted_all(self) -> None:
        """No request broke the contract: Prism flagged none (no 401/422, no request violation in sl-violations).

        Prism also lists in sl-violations where its own generated answer breaks the response schema (dynamic mode);
        those are not the module's doing."""
        assert self.requests, 'the module sent no request'
        for recorded in self.requests:
            request_violations = [violation for violation in json.loads(recorded.violations or '[]') if violation.get('location', [''])[0] != 'response']
            assert recorded.status not in (400, 401, 422) and not request_violations, \
                'Prism rejected %s %s (%d): %s' % (recorded.method, recorded.path, recorded.status, recorded.violations)

    def bodies(self, method: str, suffix: str) -> list:
        return [recorded.body for recorded in self.requests if recorded.method == method and recorded.path == ACCOUNT_PATH + suffix]


def _handler_for(proxy: RecordingProxy) -> type:
    target = urllib.parse.urlsplit(proxy.prism_url)

    class Handler(http.server.BaseHTTPRequestHandler):
        def _forward(self) -> None:
            length = int(self.headers.get('Content-Length') or 0)
            raw_body = self.rfile.read(length) if length else None
            headers = {name: value for name, value in self.headers.items() if name.lower() not in ('host', 'connection', 'keep-alive')}
            if proxy.dynamic:
                headers['Prefer'] = 'dynamic=true'
            connection = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
            try:
                connection.request(self.command, self.path, body=raw_body, headers=headers)
                answer = connection.getresponse()
                content = answer.read()
                answer_headers = [(name, value) for name, value in answer.getheaders()
                                  if name.lower() not in ('content-length', 'transfer-encoding', 'connection', 'keep-alive')]
            finally:
                connection.close()
            path = urllib.parse.urlsplit(self.path).path
            try:
                body = json.loads(raw_body) if raw_body else None
            except ValueError:
                body = raw_body
            proxy.requests.append(Recorded(self.command, path, body, answer.status, answer.getheader('sl-violations')))
            if proxy.rewrite is not None and answer.status < 300 and 'json' in (answer.getheader('Content-Type') or ''):
                content = json.dumps(proxy.rewrite(self.command, path[len(ACCOUNT_PATH):], json.loads(content))).encode()
            self.send_response(answer.status)
            for name, value in answer_headers:
                self.send_header(name, value)
            self.send_header('Content-Length', str(len(content)))
            self.send_header('Connection', 'close')
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_POST = do_PUT = do_DELETE = _forward

        def log_message(self, format, *args) -> None:  # pylint: disable=redefined-builtin
            pass

    return Handler


@pytest.fixture(name='proxy')
def proxy_fixture(prism_url: str):
    """A RecordingProxy in front of Prism, on a free port of 127.0.0.1, for one test."""
    proxy = RecordingProxy(prism_url)
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _handler_for(proxy))
    proxy.url = 'http://127.0.0.1:%d' % server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def set_result_fields(path_suffix: str, method: str = 'GET', **fields) -> Rewrite:
    """A rewrite that sets fields in the result (each object of a list result) of answers to method path_suffix."""
    def rewrite(answer_method: str, answer_path: str, envelope: dict) -> dict:
        if answer_method == method and answer_path == path_suffix:
            result = envelope.get('result')
            for record in result if isinstance(result, list) else [result]:
                record.update(fields)
        return envelope
    return rewrite
