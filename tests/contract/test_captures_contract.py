# Copyright: cloudflare.pcap maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Contract tests: capture_info, capture_stop and capture_download against Stoplight Prism, through the recording
proxy of conftest.py, which shows which requests each module sent and that Prism accepted every one.

Prism's static capture is the simple capture EXAMPLE_CAPTURE_ID with status `unknown`, whatever id is asked for.
As it is, it makes capture_stop refuse (only full captures stop) and capture_download refuse (not finished), before
their second request. The tests that reach PUT .../stop and GET .../download have the proxy set the capture's type
and status to other values of the schema's enums.
"""

from __future__ import annotations

import os

import pytest

from conftest import EXAMPLE_CAPTURE_ID, failed_cleanly, run_module, set_result_fields, succeeded

# Any 32 hexadecimal characters: Prism answers the same capture for every id.
CAPTURE_ID = '0123456789abcdef0123456789abcdef'
CAPTURE_PATH = '/pcaps/' + CAPTURE_ID


def test_info_lists_prism_captures(proxy) -> None:
    result = succeeded(run_module(proxy.url, 'capture_info', {}))
    assert proxy.calls() == [('GET', '/pcaps')]
    proxy.assert_prism_accepted_all()
    assert result['changed'] is False
    assert [capture['id'] for capture in result['captures']] == [EXAMPLE_CAPTURE_ID]
    assert result['captures'][0]['status'] == 'unknown'
    assert result['captures'][0]['type'] == 'simple'


@pytest.mark.parametrize('filters, listed', [
    ({'type': 'simple'}, 1),
    ({'type': 'full'}, 0),
    ({'status': ['unknown']}, 1),
    ({'status': ['pending', 'running']}, 0),
])
def test_info_filters_prism_captures(proxy, filters: dict, listed: int) -> None:
    result = succeeded(run_module(proxy.url, 'capture_info', filters))
    assert proxy.calls() == [('GET', '/pcaps')]
    proxy.assert_prism_accepted_all()
    assert len(result['captures']) == listed


def test_info_gets_one_capture(proxy) -> None:
    """Prism answers its example capture for any id: the module reports it found and not finished (`unknown`)."""
    result = succeeded(run_module(proxy.url, 'capture_info', {'id': CAPTURE_ID}))
    assert proxy.calls() == [('GET', CAPTURE_PATH)]
    proxy.assert_prism_accepted_all()
    assert result['changed'] is False
    assert result['found'] is True
    assert result['finished'] is False
    assert result['capture']['id'] == EXAMPLE_CAPTURE_ID


def test_info_get_reports_a_finished_capture(proxy) -> None:
    proxy.rewrite = set_result_fields(CAPTURE_PATH, status='success')
    result = succeeded(run_module(proxy.url, 'capture_info', {'id': CAPTURE_ID}))
    proxy.assert_prism_accepted_all()
    assert result['found'] is True and result['finished'] is True


def test_stop_refuses_prism_simple_capture_cleanly(proxy) -> None:
    """Prism's capture is simple: stop fails with a message and sends no PUT."""
    result = failed_cleanly(run_module(proxy.url, 'capture_stop', {'id': CAPTURE_ID}))
    assert proxy.calls() == [('GET', CAPTURE_PATH)]
    proxy.assert_prism_accepted_all()
    assert 'only full captures can be stopped' in result['msg']
    assert result['capture']['type'] == 'simple'


def test_stop_stops_a_running_full_capture(proxy) -> None:
    """With the capture made a running full one, the module GETs, PUTs .../stop (Prism: 204), and GETs again."""
    proxy.rewrite = set_result_fields(CAPTURE_PATH, type='full', status='running')
    result = succeeded(run_module(proxy.url, 'capture_stop', {'id': CAPTURE_ID}))
    assert proxy.calls() == [('GET', CAPTURE_PATH), ('PUT', CAPTURE_PATH + '/stop'), ('GET', CAPTURE_PATH)]
    proxy.assert_prism_accepted_all()
    assert [recorded.status for recorded in proxy.requests] == [200, 204, 200]
    assert result['changed'] is True
    assert result['capture']['id'] == EXAMPLE_CAPTURE_ID


def test_stop_check_mode_sends_no_put(proxy) -> None:
    proxy.rewrite = set_result_fields(CAPTURE_PATH, type='full', status='running')
    result = succeeded(run_module(proxy.url, 'capture_stop', {'id': CAPTURE_ID}, check_mode=True))
    assert proxy.calls() == [('GET', CAPTURE_PATH)]
    assert result['changed'] is True


def test_download_refuses_prism_unknown_capture_cleanly(proxy, tmp_path) -> None:
    """Prism's capture is `unknown`, neither finished nor in progress: no download is tried, no file written."""
    dest = tmp_path / 'capture.pcap'
    result = failed_cleanly(run_module(proxy.url, 'capture_download', {'id': CAPTURE_ID, 'dest': str(dest)}))
    assert proxy.calls() == [('GET', CAPTURE_PATH)]
    proxy.assert_prism_accepted_all()
    assert 'unknown' in result['msg']
    assert not dest.exists()


def test_download_of_a_finished_capture_fails_cleanly_on_prism_answer(proxy, tmp_path) -> None:
    """With the capture made finished, the module asks for the file. Prism accepts the request but cannot answer a
    pcap (the spec gives application/vnd.tcpdump.pcap no schema or example), so it answers 500 problem+json; the
    module retries that like any 5xx of a GET, then fails with the status, and writes nothing."""
    proxy.rewrite = set_result_fields(CAPTURE_PATH, status='success')
    result = failed_cleanly(run_module(proxy.url, 'capture_download', {'id': CAPTURE_ID, 'dest': str(tmp_path) + os.sep, 'retries': 1}))
    assert proxy.calls() == [('GET', CAPTURE_PATH)] + [('GET', CAPTURE_PATH + '/download')] * 2
    proxy.assert_prism_accepted_all()
    assert [recorded.status for recorded in proxy.requests] == [200, 500, 500]
    assert result['status_code'] == 500
    assert 'Download packet capture %s' % CAPTURE_ID in result['msg']
    assert os.listdir(tmp_path) == []


def test_download_check_mode_of_a_finished_capture_requests_no_file(proxy, tmp_path) -> None:
    proxy.rewrite = set_result_fields(CAPTURE_PATH, status='success')
    result = succeeded(run_module(proxy.url, 'capture_download', {'id': CAPTURE_ID, 'dest': str(tmp_path / 'c.pcap')}, check_mode=True))
    assert proxy.calls() == [('GET', CAPTURE_PATH)]
    assert result['changed'] is True
