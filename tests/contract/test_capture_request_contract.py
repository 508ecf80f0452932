# Copyright: cloudflare.pcap maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Contract tests: cloudflare.pcap.capture_request, run as a real ad-hoc command, against Stoplight Prism.

Prism serves docs/openapi/pcaps.openapi.json. It answers 422 (request body against the schema) or 401 (security
schemes) with an `sl-violations` header whenever a request breaks the contract, so the module fails on any request
that Cloudflare's published contract rejects, and these tests fail with it.

`make test STAGES=contract` starts Prism and sets PRISM_URL and ANSIBLE_COLLECTIONS_PATH (the collection copy).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

ACCOUNT_ID = '023e105f4ecef8ad9ca31a8372d0c353'
# Prism checks only that credentials are present, in the headers the spec's security schemes name.
API_TOKEN = 'contract-test-token-0000000000000000000000'
API_EMAIL = 'contract@example.com'
API_KEY = 'contract-test-global-key-000000000000'
VALID_SIMPLE_BODY = {'type': 'simple', 'system': 'magic-transit', 'time_limit': 30, 'packet_limit': 100}


@pytest.fixture(scope='module', name='prism_url')
def prism_url_fixture() -> str:
    url = os.environ.get('PRISM_URL')
    if not url or not os.environ.get('ANSIBLE_COLLECTIONS_PATH'):
        pytest.fail('PRISM_URL and ANSIBLE_COLLECTIONS_PATH are not set: run these tests with `make test STAGES=contract`')
    return url


def run_module(prism_url: str, module_args: dict, credentials: dict[str, str]) -> dict:
    """Run the module with `ansible localhost -m` and return its result, parsed from the stdout callback's output."""
    env = {name: value for name, value in os.environ.items() if not name.startswith('CLOUDFLARE_')}
    env.update(credentials)
    env.update(
        CLOUDFLARE_ACCOUNT_ID=ACCOUNT_ID,
        CLOUDFLARE_BASE_URL=prism_url,
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
    command = [ansible, 'localhost', '-m', 'cloudflare.pcap.capture_request', '-a', json.dumps(module_args)]
    completed = subprocess.run(command, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120, check=False)
    try:
        result = json.loads(completed.stdout.partition(' => ')[2])
    except ValueError:
        pytest.fail('ansible gave no task result (rc %d)\nstdout: %s\nstderr: %s' % (completed.returncode, completed.stdout, completed.stderr))
    assert completed.returncode == 0, 'module failed (rc %d): %s\n%s' % (completed.returncode, result.get('msg'), completed.stderr)
    return result


def assert_capture_created(result: dict) -> None:
    assert result['changed'] is True
    assert isinstance(result['id'], str) and result['id']
    assert 'status' in result


def test_simple_capture_with_filter(prism_url: str) -> None:
    result = run_module(prism_url, {'packet_limit': 100, 'time_limit': 30, 'filter_v1': {'destination_port': 443, 'protocol': 6}},
                        {'CLOUDFLARE_API_TOKEN': API_TOKEN})
    assert_capture_created(result)


def test_full_capture_to_bucket(prism_url: str) -> None:
    result = run_module(prism_url, {'type': 'full', 'colo_name': 'ord02', 'destination_conf': 's3://pcaps-bucket?region=us-east-1',
                                    'time_limit': 300, 'byte_limit': 500000},
                        {'CLOUDFLARE_API_TOKEN': API_TOKEN})
    assert_capture_created(result)


def test_global_api_key_auth(prism_url: str) -> None:
    result = run_module(prism_url, {'packet_limit': 100, 'time_limit': 30}, {'CLOUDFLARE_EMAIL': API_EMAIL, 'CLOUDFLARE_API_KEY': API_KEY})
    assert_capture_created(result)


def post_to_prism(prism_url: str, body: dict, headers: dict[str, str]) -> urllib.error.HTTPError:
    request = urllib.request.Request('%s/accounts/%s/pcaps' % (prism_url, ACCOUNT_ID), data=json.dumps(body).encode(), method='POST',
                                     headers=dict(headers, **{'Content-Type': 'application/json'}))
    with pytest.raises(urllib.error.HTTPError) as rejected:
        urllib.request.urlopen(request, timeout=30)
    return rejected.value


def test_harness_rejects_a_body_that_breaks_the_schema(prism_url: str) -> None:
    """The tests above could pass against a mock that accepts anything; this one shows that Prism rejects bad bodies."""
    rejection = post_to_prism(prism_url, dict(VALID_SIMPLE_BODY, time_limit='thirty'), {'Authorization': 'Bearer ' + API_TOKEN})
    assert rejection.code == 422
    assert 'time_limit' in rejection.headers['sl-violations']


def test_harness_rejects_a_request_without_credentials(prism_url: str) -> None:
    rejection = post_to_prism(prism_url, VALID_SIMPLE_BODY, {})
    assert rejection.code == 401
    assert rejection.headers['sl-violations']
