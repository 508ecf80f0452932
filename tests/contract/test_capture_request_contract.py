# Copyright: cloudflare.pcap maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Contract tests: cloudflare.pcap.capture_request, run as a real ad-hoc command, against Stoplight Prism.

The module lists the account's captures first, to reuse an identical capture that is pending or running, and only
then POSTs. Prism's static list holds one simple capture, EXAMPLE_CAPTURE, with status `unknown` (see conftest.py):
it can never be reused as it is, so the reuse test turns its status into `running` (a value of the schema's enum)
in the recording proxy; every request still goes to Prism, which checks it.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from conftest import (
    ACCOUNT_ID,
    API_TOKEN,
    EXAMPLE_CAPTURE_ID,
    failed_cleanly,
    run_module,
    set_result_fields,
    succeeded,
)

API_EMAIL = 'contract@example.com'
API_KEY = 'contract-test-global-key-000000000000'
VALID_SIMPLE_BODY = {'type': 'simple', 'system': 'magic-transit', 'time_limit': 30, 'packet_limit': 100}
# Prism's example capture on the fields it echoes (type, system, time_limit, filter_v1); its offset_time,
# 2020-01-01T08:00:00Z, is left out: the module refuses one older than 24 hours, and a request without one is not
# compared on it. packet_limit is required for a simple capture but never echoed.
EXAMPLE_FILTER = {'destination_address': '1.2.3.4', 'destination_port': 80, 'protocol': 6, 'source_address': '1.2.3.4', 'source_port': 123}
AS_EXAMPLE_CAPTURE = {'type': 'simple', 'system': 'magic-transit', 'time_limit': 300, 'packet_limit': 100, 'filter_v1': EXAMPLE_FILTER}


def request_capture(base_url: str, module_args: dict, credentials: dict | None = None) -> dict:
    return succeeded(run_module(base_url, 'capture_request', module_args, credentials))


def assert_capture_created(result: dict) -> None:
    assert result['changed'] is True
    assert isinstance(result['id'], str) and result['id']
    assert 'status' in result


def test_simple_capture_with_filter(prism_url: str) -> None:
    result = request_capture(prism_url, {'packet_limit': 100, 'time_limit': 30, 'filter_v1': {'destination_port': 443, 'protocol': 6}})
    assert_capture_created(result)


def test_full_capture_to_bucket(prism_url: str) -> None:
    result = request_capture(prism_url, {'type': 'full', 'colo_name': 'ord02', 'destination_conf': 's3://pcaps-bucket?region=us-east-1',
                                         'time_limit': 300, 'byte_limit': 500000})
    assert_capture_created(result)


def test_global_api_key_auth(prism_url: str) -> None:
    result = request_capture(prism_url, {'packet_limit': 100, 'time_limit': 30}, {'CLOUDFLARE_EMAIL': API_EMAIL, 'CLOUDFLARE_API_KEY': API_KEY})
    assert_capture_created(result)


def test_lists_before_creating_and_does_not_reuse_a_capture_of_unknown_status(proxy) -> None:
    """Prism lists a capture identical to the request but `unknown`, which is not in progress: a new one is created."""
    result = request_capture(proxy.url, AS_EXAMPLE_CAPTURE)
    assert proxy.calls() == [('GET', '/pcaps'), ('POST', '/pcaps')]
    proxy.assert_prism_accepted_all()
    assert proxy.bodies('POST', '/pcaps') == [AS_EXAMPLE_CAPTURE]
    assert result['changed'] is True
    assert result['id'] == EXAMPLE_CAPTURE_ID
    assert result['status'] == 'unknown'
    assert result['request'] == AS_EXAMPLE_CAPTURE


@pytest.mark.parametrize('status', ['running', 'pending'])
def test_reuses_an_identical_capture_in_progress(proxy, status: str) -> None:
    """Prism's listed capture, made `running`/`pending` by the proxy, is reused: no POST, changed=false."""
    proxy.rewrite = set_result_fields('/pcaps', status=status)
    result = request_capture(proxy.url, AS_EXAMPLE_CAPTURE)
    assert proxy.calls() == [('GET', '/pcaps')]
    proxy.assert_prism_accepted_all()
    assert result['changed'] is False
    assert result['id'] == EXAMPLE_CAPTURE_ID
    assert result['status'] == status
    assert result['capture']['filter_v1'] == EXAMPLE_FILTER


@pytest.mark.parametrize('difference', [{'time_limit': 60}, {'filter_v1': dict(EXAMPLE_FILTER, destination_port=443)}, {'filter_v1': None}])
def test_does_not_reuse_a_capture_in_progress_that_differs_on_an_echoed_field(proxy, difference: dict) -> None:
    proxy.rewrite = set_result_fields('/pcaps', status='running')
    module_args = {name: value for name, value in dict(AS_EXAMPLE_CAPTURE, **difference).items() if value is not None}
    result = request_capture(proxy.url, module_args)
    assert proxy.calls() == [('GET', '/pcaps'), ('POST', '/pcaps')]
    proxy.assert_prism_accepted_all()
    assert proxy.bodies('POST', '/pcaps') == [module_args]
    assert result['changed'] is True


def test_force_creates_without_reusing(proxy) -> None:
    proxy.rewrite = set_result_fields('/pcaps', status='running')
    result = request_capture(proxy.url, dict(AS_EXAMPLE_CAPTURE, force=True))
    assert proxy.calls() == [('GET', '/pcaps'), ('POST', '/pcaps')]
    proxy.assert_prism_accepted_all()
    assert result['changed'] is True


def test_wait_gives_up_cleanly_on_prism_unknown_capture(proxy) -> None:
    """wait=true polls the created capture (GET .../pcaps/{id}); Prism keeps answering `unknown`, which is neither
    finished nor in progress, so the wait ends after a few polls with a message instead of running to wait_timeout."""
    run = run_module(proxy.url, 'capture_request', dict(AS_EXAMPLE_CAPTURE, wait=True, wait_timeout=60))
    result = failed_cleanly(run)
    calls = proxy.calls()
    assert calls[:2] == [('GET', '/pcaps'), ('POST', '/pcaps')]
    assert calls[2:] and set(calls[2:]) == {('GET', '/pcaps/' + EXAMPLE_CAPTURE_ID)}
    proxy.assert_prism_accepted_all()
    assert 'unknown' in result['msg']
    assert result['changed'] is True and result['id'] == EXAMPLE_CAPTURE_ID


def test_check_mode_reads_the_list_once_and_writes_nothing(proxy) -> None:
    """Check mode verifies the credentials and the account with one read of the capture list, and never POSTs."""
    run = run_module(proxy.url, 'capture_request', AS_EXAMPLE_CAPTURE, check_mode=True)
    result = succeeded(run)
    assert proxy.calls() == [('GET', '/pcaps')]
    proxy.assert_prism_accepted_all()
    assert result['changed'] is True
    assert result['request'] == AS_EXAMPLE_CAPTURE


def test_harness_proxy_sees_what_prism_rejects(proxy) -> None:
    """assert_prism_accepted_all, which every proxied test ends with, fails when Prism flagged a request."""
    rejection = post_to_prism(proxy.url, dict(VALID_SIMPLE_BODY, time_limit='thirty'), {'Authorization': 'Bearer ' + API_TOKEN})
    assert rejection.code == 422
    with pytest.raises(AssertionError, match='Prism rejected POST'):
        proxy.assert_prism_accepted_all()


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
