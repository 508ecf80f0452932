# -*- coding: utf-8 -*-
# Copyright: contributors to the cloudflare.pcap collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tests of the Cloudflare PCAP API simulator, run against a real subprocess over loopback HTTP."""

import datetime
import http.client
import ipaddress
import json
import os
import re
import socket
import struct
import subprocess
import sys
import time

import pytest

from conftest import (ACCOUNT, EMAIL, FULL_DESTINATION, KEY, SECOND_ACCOUNT, SIM_SCRIPT, TOKEN, assert_failure,
                      full_body, parse_pcap_records, simple_body, stop_simulator, wait_for_port_file)

HEX32 = re.compile(r'^[0-9a-f]{32}$')
RFC3339_Z = re.compile(r'^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$')
FAILED_MESSAGE = 'No packets matched the filter in the time limit given. Please modify the filter or try again.'


def rfc3339_ago(sim, seconds):
    now = datetime.datetime.strptime(sim.admin('GET', 'clock')['now'], '%Y-%m-%dT%H:%M:%SZ')
    return (now - datetime.timedelta(seconds=seconds)).strftime('%Y-%m-%dT%H:%M:%SZ')


# Authentication and routing

def test_bearer_and_global_key_are_accepted(sim):
    for auth in ('bearer', 'global_key'):
        reply = sim.api('GET', auth=auth)
        assert reply.status == 200
        assert reply.json == {'success': True, 'errors': [], 'messages': [], 'result': [],
                              'result_info': {'count': 0, 'page': 1, 'per_page': 0, 'total_count': 0}}


@pytest.mark.parametrize('headers, status, code', [
    ({}, 400, 9106),
    ({'X-Auth-Email': EMAIL}, 400, 9106),
    ({'Authorization': 'Bearer wrong-token'}, 403, 10000),
    ({'Authorization': 'Basic dXNlcjpwYXNz'}, 400, 6003),
    ({'X-Auth-Email': EMAIL, 'X-Auth-Key': 'wrong'}, 403, 9103),
    ({'X-Auth-Email': 'someone@example.com', 'X-Auth-Key': KEY}, 403, 9103),
])
def test_bad_credentials_are_rejected(sim, headers, status, code):
    message = assert_failure(sim.api('GET', headers=headers, auth=None), status, code)
    if code == 9106:
        assert message == 'Missing X-Auth-Key, X-Auth-Email or Authorization headers'


def test_malformed_and_unknown_accounts(sim):
    reply = sim.request('GET', '/client/v4/accounts/not-an-account/pcaps')
    message = assert_failure(reply, 400, 7003)
    assert message.startswith('Could not route to /accounts/not-an-account/pcaps')
    assert_failure(sim.request('GET', '/client/v4/accounts/%s/pcaps' % ('f' * 32)), 403, 10000)
    # A second configured account is a separate tenant.
    assert sim.request('GET', '/client/v4/accounts/%s/pcaps' % SECOND_ACCOUNT).status == 200


def test_unknown_route_and_wrong_method(sim):
    assert_failure(sim.request('GET', '/client/v4/zones'), 404, 7000)
    assert_failure(sim.request('GET', '/something/else'), 404, 7000)
    assert_failure(sim.api('DELETE'), 405, 10405)
    assert_failure(sim.api('PATCH', '/ownership'), 405, 10405)
    assert_failure(sim.api('GET', '/ownership/validate'), 405, 10405)


def test_keep_alive_connection_serves_several_requests(sim):
    connection = http.client.HTTPConnection('127.0.0.1', sim.port, timeout=10)
    try:
        for _attempt in range(3):
            connection.request('GET', sim.base + '/pcaps', headers={'Authorization': 'Bearer ' + TOKEN})
            response = connection.getresponse()
            assert response.status == 200
            assert int(response.getheader('Content-Length')) == len(response.read())
    finally:
        connection.close()


# Creating captures

SIMPLE_FIELDS = {'id', 'filter_v1', 'offset_time', 'status', 'submitted', 'system', 'time_limit', 'type'}
FULL_FIELDS = {'id', 'byte_limit', 'colo_name', 'destination_conf', 'error_message', 'filter_v1', 'packets_captured',
               'status', 'stop_requested', 'submitted', 'system', 'time_limit', 'type'}


def test_create_simple_capture_echoes_the_schema_fields_only(sim):
    body = simple_body(filter_v1={'destination_address': '203.0.113.7', 'protocol': 6, 'vlan': 7},
                       offset_time=rfc3339_ago(sim, 60))
    result = sim.create(body)
    assert HEX32.match(result['id'])
    assert result['status'] == 'pending'
    assert RFC3339_Z.match(result['submitted'])
    # packet_limit is in the request but not in the response schema; unknown filter fields are not echoed either.
    assert set(result) == SIMPLE_FIELDS
    assert result['filter_v1'] == {'destination_address': '203.0.113.7', 'protocol': 6}
    for name in ('type', 'system', 'time_limit', 'offset_time'):
        assert result[name] == body[name]
    assert sim.api('GET', '/' + result['id']).json['result'] == result
    # The admin view keeps what the simulator needs internally.
    internal = sim.admin('GET', 'captures')[0]
    assert internal['packet_limit'] == 50 and internal['request']['packet_limit'] == 50


def test_create_full_capture_echoes_the_schema_fields_only(sim):
    sim.seed_bucket()
    body = full_body(byte_limit=500000, packet_limit=1000, filter_v1={'source_port': 53})
    result = sim.create(dict(body, not_in_the_contract=1))
    assert set(result) == FULL_FIELDS - {'error_message', 'stop_requested'}
    assert result['status'] == 'pending'
    assert result['packets_captured'] == 0
    for name, value in body.items():
        if name != 'packet_limit':
            assert result[name] == value


@pytest.mark.parametrize('body, field', [
    (simple_body(filter_v1={'destination_port': 70000}), 'filter_v1.destination_port'),
    (simple_body(filter_v1={'protocol': 300}), 'filter_v1.protocol'),
    (simple_body(filter_v1={'source_address': '300.1.1.1'}), 'filter_v1.source_address'),
    (simple_body(filter_v1={'source_address': '192.0.2.1', 'destination_address': '2001:db8::1'}),
     'filter_v1.destination_address'),
    (simple_body(filter_v1={'source_port': 'eighty'}), 'filter_v1.source_port'),
    (simple_body(time_limit=301), 'time_limit'),
    (simple_body(time_limit=0), 'time_limit'),
    (simple_body(packet_limit=10001), 'packet_limit'),
    (simple_body(system='magic-wan'), 'system'),
    (simple_body(type='sampled'), 'type'),
    (dict((k, v) for k, v in simple_body().items() if k != 'packet_limit'), 'packet_limit'),
    (simple_body(byte_limit=100), 'byte_limit'),
    (simple_body(colo_name='ord02', destination_conf='s3://b'), 'colo_name'),
    (simple_body(offset_time='yesterday'), 'offset_time'),
    (simple_body(offset_time='2020-01-01T08:00:00Z'), 'offset_time'),
    (full_body(offset_time='2020-01-01T08:00:00Z'), 'offset_time'),
    (full_body(time_limit=86401), 'time_limit'),
    (full_body(byte_limit=0), 'byte_limit'),
    (full_body(byte_limit=1000000001), 'byte_limit'),
    (dict((k, v) for k, v in full_body().items() if k != 'destination_conf'), 'destination_conf'),
    # Matches the anyOf's simple branch, so only the per-type rule catches it.
    ({'type': 'full', 'system': 'magic-transit', 'time_limit': 10, 'packet_limit': 10}, 'colo_name'),
])
def test_invalid_create_bodies_name_the_field(sim, body, field):
    message = assert_failure(sim.api('POST', body=body), 400, 1001)
    assert field in message
    assert sim.admin('GET', 'captures') == []


def test_offset_time_window_follows_the_simulated_clock(sim):
    assert_failure(sim.api('POST', body=simple_body(offset_time=rfc3339_ago(sim, -3600))), 400, 1001)
    assert_failure(sim.api('POST', body=simple_body(offset_time=rfc3339_ago(sim, 25 * 3600))), 400, 1001)
    sim.create(simple_body(offset_time=rfc3339_ago(sim, 23 * 3600)))


def test_the_exact_example_message_for_a_bad_port(sim):
    reply = sim.api('POST', body=simple_body(filter_v1={'destination_port': 70000}))
    assert reply.json['errors'][0]['message'] == 'filter_v1.destination_port: 70000 is greater than the maximum of 65535'


@pytest.mark.parametrize('raw', [b'', b'not json', b'{"type": ', b'\xff\xfe'])
def test_non_json_bodies_are_rejected(sim, raw):
    assert_failure(sim.api('POST', raw=raw, headers={'Content-Type': 'application/json'}), 400, 1000)


def test_unknown_and_malformed_capture_ids(sim):
    assert_failure(sim.api('GET', '/' + 'a' * 32), 404, 1003)
    assert_failure(sim.api('GET', '/ABC'), 400, 7003)
    assert_failure(sim.api('GET', '/' + 'A' * 32), 400, 7003)


def test_list_is_newest_first(sim):
    sim.seed_bucket()
    sim.admin('POST', 'config', {'simple_per_minute': False, 'full_one_at_a_time': False})
    ids = [sim.create(simple_body())['id'], sim.create(full_body())['id'], sim.create(simple_body())['id']]
    reply = sim.api('GET')
    assert [capture['id'] for capture in reply.json['result']] == ids[::-1]
    assert reply.json['result_info']['count'] == 3


# Status progression

def test_simple_capture_progresses_to_success(sim):
    capture_id = sim.create(simple_body(time_limit=10))['id']
    seen = []
    for step in (0, 0.5, 1, 9, 0.5, 1, 1):
        sim.advance(step)
        seen.append(sim.api('GET', '/' + capture_id).json['result']['status'])
    assert seen == ['pending', 'pending', 'running', 'running', 'conversion_pending', 'conversion_running', 'success']


def test_full_capture_progresses_to_complete_and_counts_packets(sim):
    sim.seed_bucket()
    capture_id = sim.create(full_body(time_limit=20, packet_limit=600))['id']
    sim.advance(2)
    first = sim.api('GET', '/' + capture_id).json['result']
    sim.advance(5)
    second = sim.api('GET', '/' + capture_id).json['result']
    assert first['status'] == second['status'] == 'running'
    assert 0 < first['packets_captured'] < second['packets_captured'] <= 600
    sim.advance(16)
    assert sim.api('GET', '/' + capture_id).json['result']['status'] == 'complete'


def test_configured_timings_are_used(sim):
    sim.admin('POST', 'config', {'pending_seconds': 5, 'running_seconds': 2, 'conversion_seconds': 3})
    capture_id = sim.create(simple_body(time_limit=300))['id']
    expected = {4: 'pending', 6: 'running', 8: 'conversion_pending', 11: 'conversion_running', 13: 'success'}
    elapsed = 0
    for moment, status in sorted(expected.items()):
        sim.advance(moment - elapsed)
        elapsed = moment
        assert sim.api('GET', '/' + capture_id).json['result']['status'] == status


def test_failure_switch_ends_captures_in_failed(sim):
    sim.seed_bucket()
    sim.admin('POST', 'config', {'fail_captures': True})
    simple_id = sim.create(simple_body(time_limit=5))['id']
    full_id = sim.create(full_body(time_limit=5))['id']
    sim.advance(10)
    simple = sim.api('GET', '/' + simple_id).json['result']
    full = sim.api('GET', '/' + full_id).json['result']
    assert simple['status'] == full['status'] == 'failed'
    # Only the full capture's schema has error_message.
    assert 'error_message' not in simple
    assert full['error_message'] == FAILED_MESSAGE
    assert_failure(sim.api('GET', '/%s/download' % simple_id), 409, 1006)


def test_clock_speed_runs_the_clock(sim):
    sim.admin('POST', 'config', {'clock_speed': 100})
    capture_id = sim.create(simple_body(time_limit=5))['id']
    deadline = time.monotonic() + 5
    status = None
    while time.monotonic() < deadline and status != 'success':
        time.sleep(0.05)
        status = sim.api('GET', '/' + capture_id).json['result']['status']
    assert status == 'success'


# Download

def parse_pcap(data, snaplen=65535):
    """The frames of a libpcap file with that snaplen; every record must be whole (incl_len == orig_len)."""
    records = parse_pcap_records(data, snaplen)
    assert all(len(frame) == original for frame, original in records)
    return [frame for frame, _original in records]


def internet_checksum(data):
    if len(data) % 2:
        data += b'\x00'
    total = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while total >> 16:
        total = (total >> 16) + (total & 0xffff)
    return ~total & 0xffff


def dissect(frame):
    """(ip version, source, destination, protocol, source port, destination port, transport checksum ok)."""
    ethertype = struct.unpack('!H', frame[12:14])[0]
    packet = frame[14:]
    if ethertype == 0x0800:
        assert packet[0] == 0x45
        assert internet_checksum(packet[:20]) == 0, 'bad IPv4 header checksum'
        assert struct.unpack('!H', packet[2:4])[0] == len(packet)
        protocol = packet[9]
        source, destination = ipaddress.ip_address(packet[12:16]), ipaddress.ip_address(packet[16:20])
        segment = packet[20:]
        pseudo = packet[12:20] + struct.pack('!BBH', 0, protocol, len(segment))
    else:
        assert ethertype == 0x86dd and packet[0] >> 4 == 6
        assert struct.unpack('!H', packet[4:6])[0] == len(packet) - 40
        protocol = packet[6]
        source, destination = ipaddress.ip_address(packet[8:24]), ipaddress.ip_address(packet[24:40])
        segment = packet[40:]
        pseudo = packet[8:40] + struct.pack('!I3xB', len(segment), protocol)
    ports = (None, None)
    checksum_ok = True
    if protocol in (6, 17):
        ports = struct.unpack('!HH', segment[:4])
        checksum_ok = internet_checksum(pseudo + segment) == 0
    elif protocol == 1:
        checksum_ok = internet_checksum(segment) == 0
    return source.version, source, destination, protocol, ports[0], ports[1], checksum_ok


def finished_simple_capture(sim, snaplen=65535, **changes):
    """A simple capture in success; downloads keep snaplen bytes of each packet (whole packets by default)."""
    sim.admin('POST', 'config', {'sample_snaplen': snaplen})
    capture_id = sim.create(simple_body(**changes))['id']
    sim.advance(changes.get('time_limit', 10) + 5)
    return capture_id


@pytest.mark.parametrize('filter_v1, version', [
    ({'source_address': '198.51.100.10', 'destination_address': '192.0.2.20', 'protocol': 6,
      'source_port': 40000, 'destination_port': 443}, 4),
    ({'destination_address': '2001:db8::53', 'protocol': 17, 'destination_port': 53}, 6),
    ({'source_address': '203.0.113.9', 'protocol': 1}, 4),
    ({'destination_port': 8443}, 4),
    ({'protocol': 47}, 4),
    ({}, 4),
])
def test_download_is_a_pcap_that_respects_the_filter(sim, filter_v1, version):
    capture_id = finished_simple_capture(sim, packet_limit=30, filter_v1=filter_v1)
    reply = sim.api('GET', '/%s/download' % capture_id)
    assert reply.status == 200
    assert reply.header('Content-Type') == 'application/vnd.tcpdump.pcap'
    assert int(reply.header('Content-Length')) == len(reply.body)
    frames = parse_pcap(reply.body)
    assert len(frames) == 30
    for frame in frames:
        ip_version, source, destination, protocol, source_port, destination_port, checksum_ok = dissect(frame)
        assert ip_version == version
        assert checksum_ok
        if 'source_address' in filter_v1:
            assert source == ipaddress.ip_address(filter_v1['source_address'])
        if 'destination_address' in filter_v1:
            assert destination == ipaddress.ip_address(filter_v1['destination_address'])
        if 'protocol' in filter_v1:
            assert protocol == filter_v1['protocol']
        if 'source_port' in filter_v1:
            assert source_port == filter_v1['source_port']
        if 'destination_port' in filter_v1:
            assert destination_port == filter_v1['destination_port']
    # The same capture always downloads the same bytes.
    assert sim.api('GET', '/%s/download' % capture_id).body == reply.body


def test_download_packet_count_is_capped_by_config(sim):
    capture_id = finished_simple_capture(sim, packet_limit=500)
    assert len(parse_pcap(sim.api('GET', '/%s/download' % capture_id).body)) == 100
    sim.admin('POST', 'config', {'download_packets': 7})
    assert len(parse_pcap(sim.api('GET', '/%s/download' % capture_id).body)) == 7


def test_download_refused_before_success_and_for_full_captures(sim):
    sim.seed_bucket()
    simple_id = sim.create(simple_body())['id']
    assert_failure(sim.api('GET', '/%s/download' % simple_id), 409, 1006)
    full_id = sim.create(full_body())['id']
    assert_failure(sim.api('GET', '/%s/download' % full_id), 400, 1007)
    assert_failure(sim.api('GET', '/%s/download' % ('b' * 32)), 404, 1003)


# Stop

def test_stop_full_capture(sim):
    sim.seed_bucket()
    capture_id = sim.create(full_body(time_limit=600))['id']
    sim.advance(3)
    reply = sim.api('PUT', '/%s/stop' % capture_id)
    assert reply.status == 204 and reply.body == b''
    result = sim.api('GET', '/' + capture_id).json['result']
    assert result['status'] == 'conversion_pending'
    assert RFC3339_Z.match(result['stop_requested'])
    # Stopping a capture that no longer runs: 400 by default, 204 when configured.
    assert_failure(sim.api('PUT', '/%s/stop' % capture_id), 400, 1004)
    sim.admin('POST', 'config', {'stop_finished_status': 204})
    assert sim.api('PUT', '/%s/stop' % capture_id).status == 204
    sim.advance(5)
    assert sim.api('GET', '/' + capture_id).json['result']['status'] == 'complete'


def test_stop_pending_full_capture_and_refuse_simple(sim):
    sim.seed_bucket()
    full_id = sim.create(full_body())['id']
    assert sim.api('PUT', '/%s/stop' % full_id).status == 204
    simple_id = sim.create(simple_body())['id']
    message = assert_failure(sim.api('PUT', '/%s/stop' % simple_id), 400, 1005)
    assert message == 'Only full packet captures can be stopped'
    assert_failure(sim.api('PUT', '/%s/stop' % ('c' * 32)), 404, 1003)


# Limits

def test_one_simple_capture_per_minute(sim):
    # collect-pcaps.mdx: one sampled capture a minute for the account, whatever its filter: another target's capture
    # 59 s later is refused too (the rulebook's queue relies on nothing more lenient).
    sim.create(simple_body(filter_v1={'destination_address': '203.0.113.1'}))
    sim.advance(20)
    reply = sim.api('POST', body=simple_body())
    assert_failure(reply, 429, 1008)
    assert int(reply.header('Retry-After')) >= 1
    sim.advance(39)
    assert_failure(sim.api('POST', body=simple_body(filter_v1={'destination_address': '203.0.113.2'})), 429, 1008)
    sim.advance(1)
    sim.create(simple_body())
    # Other account, own limit.
    other = sim.request('POST', '/client/v4/accounts/%s/pcaps' % SECOND_ACCOUNT, body=simple_body())
    assert other.status == 200


def test_one_running_full_capture_at_a_time(sim):
    sim.seed_bucket()
    first_id = sim.create(full_body(time_limit=120))['id']
    reply = sim.api('POST', body=full_body())
    message = assert_failure(reply, 429, 1009)
    assert first_id in message
    assert int(reply.header('Retry-After')) >= 1
    assert sim.api('PUT', '/%s/stop' % first_id).status == 204
    sim.create(full_body())


def test_limits_can_be_disabled(sim):
    sim.seed_bucket()
    sim.admin('POST', 'config', {'simple_per_minute': False, 'full_one_at_a_time': False})
    sim.create(simple_body())
    sim.create(simple_body())
    sim.create(full_body())
    sim.create(full_body())


def test_request_rate_limit_blocks_the_account(sim):
    sim.admin('POST', 'config', {'rate_limit': 3, 'rate_limit_window': 10, 'lockout_seconds': 40})
    remaining = []
    for _attempt in range(3):
        reply = sim.api('GET')
        assert reply.status == 200
        remaining.append(reply.header('Ratelimit'))
        assert reply.header('Ratelimit-Policy') == '"default";q=3;w=10'
    assert remaining == ['"default";r=2;t=10', '"default";r=1;t=10', '"default";r=0;t=10']
    reply = sim.api('GET')
    message = assert_failure(reply, 429, 10429)
    assert message == 'Rate limited. Please wait and consider throttling your request speed'
    # The clock is frozen (clock_speed 0), so real seconds equal simulated seconds.
    assert reply.header('Retry-After') == '40'
    assert reply.header('Ratelimit') == '"default";r=0;t=40'
    assert sim.admin('GET', 'health') == {'ok': True}  # admin calls are never limited
    # limits.mdx: the block covers every call of the account, whatever the window says.
    sim.advance(15)
    blocked = sim.api('POST', body=simple_body())
    assert_failure(blocked, 429, 10429)
    assert blocked.header('Retry-After') == '25'
    assert sim.admin('GET', 'captures') == []
    # Another account has its own quota.
    assert sim.request('GET', '/client/v4/accounts/%s/pcaps' % SECOND_ACCOUNT).status == 200
    sim.advance(25)
    reply = sim.api('GET')
    assert reply.status == 200 and reply.header('Ratelimit') == '"default";r=2;t=10'
    sim.admin('POST', 'config', {'rate_limit': None})
    for _attempt in range(5):
        reply = sim.api('GET')
        assert reply.status == 200 and reply.header('Ratelimit') is None and reply.header('Ratelimit-Policy') is None


def test_rate_limit_headers_are_on_error_answers_too(sim):
    sim.admin('POST', 'config', {'rate_limit': 5, 'rate_limit_window': 60})
    sim.api('GET')
    sim.advance(20)
    not_found = sim.api('GET', '/' + 'a' * 32)
    assert_failure(not_found, 404, 1003)
    # t: until the oldest request of the window (20 s ago) leaves it.
    assert not_found.header('Ratelimit') == '"default";r=3;t=40'
    assert not_found.header('Ratelimit-Policy') == '"default";q=5;w=60'
    bad_body = sim.api('POST', body=simple_body(time_limit=0))
    assert_failure(bad_body, 400, 1001)
    assert bad_body.header('Ratelimit') == '"default";r=2;t=40'
    # A request that never reached an account (bad credentials) is not counted and carries no quota.
    unauthenticated = sim.api('GET', auth=None)
    assert unauthenticated.status == 400 and unauthenticated.header('Ratelimit') is None


def test_rate_limit_headers_in_real_seconds(sim):
    sim.admin('POST', 'config', {'rate_limit': 1, 'rate_limit_window': 300, 'lockout_seconds': 300,
                                 'clock_speed': 100})
    assert sim.api('GET').status == 200
    reply = sim.api('GET')
    assert_failure(reply, 429, 10429)
    # 300 simulated seconds at 100 simulated seconds per real second: at most 3 real seconds.
    assert 1 <= int(reply.header('Retry-After')) <= 3


# Faults

def add_fault(sim, **fault):
    return sim.admin('POST', 'faults', {'faults': [fault]})


@pytest.mark.parametrize('status', [500, 503, 504])
def test_status_fault(sim, status):
    add_fault(sim, kind='status', status=status, method='GET')
    assert_failure(sim.api('GET'), status, 10000 + status)
    assert sim.api('GET').status == 200


def test_status_fault_429_carries_retry_after(sim):
    add_fault(sim, kind='status', status=429, retry_after=7, path=r'/pcaps$', method='POST')
    reply = sim.api('POST', body=simple_body())
    assert_failure(reply, 429, 10429)
    assert reply.header('Retry-After') == '7'
    assert sim.admin('GET', 'captures') == []  # "before": nothing happened


def test_html_fault(sim):
    add_fault(sim, kind='html', status=522)
    reply = sim.api('GET')
    assert reply.status == 522
    assert reply.header('Content-Type').startswith('text/html')
    assert b'522' in reply.body and b'<html' in reply.body


def test_malformed_fault(sim):
    add_fault(sim, kind='malformed')
    reply = sim.api('GET')
    assert reply.status == 200 and reply.header('Content-Type') == 'application/json'
    with pytest.raises(ValueError):
        json.loads(reply.body.decode('utf-8'))


def test_empty_fault(sim):
    add_fault(sim, kind='empty')
    reply = sim.api('GET')
    assert reply.status == 200 and reply.body == b''


def test_reset_fault_drops_the_connection(sim):
    add_fault(sim, kind='reset', method='POST')
    with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
        sim.api('POST', body=simple_body())
    assert sim.admin('GET', 'captures') == []
    assert sim.admin('GET', 'requests')[-1]['fault'] == 'reset'


def test_slow_fault_exceeds_a_client_timeout(sim):
    add_fault(sim, kind='slow', delay=1.5)
    with pytest.raises((socket.timeout, TimeoutError)):
        sim.api('GET', timeout=0.5)
    add_fault(sim, kind='slow', delay=0.2)
    assert sim.api('GET', timeout=5).status == 200


@pytest.mark.parametrize('fault', [
    {'kind': 'status', 'status': 504},
    {'kind': 'html', 'status': 524},
    {'kind': 'reset'},
    {'kind': 'slow', 'delay': 1.5},
    {'kind': 'empty'},
])
def test_after_faults_leave_an_ambiguous_outcome(sim, fault):
    add_fault(sim, method='POST', path=r'/pcaps$', when='after', **fault)
    try:
        reply = sim.api('POST', body=simple_body(), timeout=0.5)
    except (OSError, http.client.HTTPException):
        reply = None
    assert reply is None or reply.status != 200 or reply.body == b''
    captures = sim.api('GET').json['result']
    assert len(captures) == 1  # the capture was created even though the client never saw it


def test_faults_match_method_and_path_and_are_consumed(sim):
    faults = sim.admin('POST', 'faults', {'faults': [
        {'kind': 'status', 'status': 503, 'method': 'GET', 'path': r'/pcaps/ownership$', 'times': 2},
        {'kind': 'empty', 'method': 'DELETE'},
    ]})
    assert len(faults) == 2
    assert sim.api('GET').status == 200  # path does not match
    assert sim.api('GET', '/ownership').status == 503
    assert sim.api('GET', '/ownership').status == 503
    assert sim.api('GET', '/ownership').status == 200
    remaining = sim.admin('GET', 'faults')
    assert [fault['kind'] for fault in remaining] == ['empty']
    assert sim.admin('DELETE', 'faults') == {'ok': True, 'cleared': 1}
    assert sim.admin('GET', 'faults') == []


def test_invalid_faults_are_refused(sim):
    for fault in ({'kind': 'explode'}, {'kind': 'status', 'path': '('}, {'kind': 'status', 'times': 0}):
        reply = sim.request('POST', '/__sim/faults', body={'faults': [fault]}, auth=None)
        assert reply.status == 400
    assert sim.admin('GET', 'faults') == []


# Bucket ownership

def challenge_of(sim, bucket_id):
    """The contents of a bucket's challenge file, from the admin view."""
    return [bucket for bucket in sim.admin('GET', 'buckets') if bucket['id'] == bucket_id][0]['challenge']


def test_bucket_ownership_lifecycle(sim):
    destination = FULL_DESTINATION
    assert sim.api('GET', '/ownership').json['result'] == []
    added = sim.api('POST', '/ownership', body={'destination_conf': destination}).json['result']
    assert HEX32.match(added['id']) and added['status'] == 'pending'
    assert set(added) == {'id', 'status', 'submitted', 'destination_conf', 'filename'}
    assert re.match(r'^ownership-challenge-[0-9a-f]{8}\.txt$', added['filename'])
    assert_failure(sim.api('POST', '/ownership', body={'destination_conf': destination}), 400, 1010)
    challenge = challenge_of(sim, added['id'])

    # The challenge is the file's contents, not its name (pcaps-bucket-setup.mdx).
    assert_failure(sim.api('POST', '/ownership/validate', body={
        'destination_conf': destination, 'ownership_challenge': added['filename']}), 400, 1012)
    assert_failure(sim.api('POST', '/ownership/validate', body={
        'destination_conf': 'gs://other', 'ownership_challenge': challenge}), 404, 1011)
    pending = sim.api('POST', '/ownership/validate', body={
        'destination_conf': destination, 'ownership_challenge': challenge}).json['result']
    assert pending['status'] == 'pending' and 'validated' not in pending
    sim.advance(300)
    validated = sim.api('GET', '/ownership').json['result'][0]
    assert validated['status'] == 'success' and RFC3339_Z.match(validated['validated'])
    assert validated == dict(pending, status='success', validated=validated['validated'])

    reply = sim.api('DELETE', '/ownership/' + added['id'])
    assert reply.status == 204 and reply.body == b''
    assert_failure(sim.api('DELETE', '/ownership/' + added['id']), 404, 1011)
    assert sim.api('GET', '/ownership').json['result'] == []


def test_ownership_bodies_are_validated(sim):
    assert 'destination_conf' in assert_failure(sim.api('POST', '/ownership', body={}), 400, 1001)
    message = assert_failure(sim.api('POST', '/ownership/validate', body={'destination_conf': 's3://b'}), 400, 1001)
    assert 'ownership_challenge' in message


def test_require_validated_bucket_is_on_by_default(sim):
    assert sim.admin('GET', 'config')['require_validated_bucket'] is True
    body = full_body()
    assert_failure(sim.api('POST', body=body), 400, 1013)
    added = sim.api('POST', '/ownership', body={'destination_conf': body['destination_conf']}).json['result']
    assert_failure(sim.api('POST', body=body), 400, 1013)
    sim.api('POST', '/ownership/validate', body={'destination_conf': body['destination_conf'],
                                                 'ownership_challenge': challenge_of(sim, added['id'])})
    assert_failure(sim.api('POST', body=body), 400, 1013)  # still pending
    sim.advance(300)
    sim.create(body)
    # Switched off, any destination_conf is accepted.
    sim.admin('POST', 'config', {'require_validated_bucket': False, 'full_one_at_a_time': False})
    sim.create(full_body(destination_conf='gs://never-added'))


# Contract coverage (the answers themselves are checked in test_contract_strict.py)

def test_every_contract_operation_is_served(sim, contract):
    sample = {'account_id': ACCOUNT, 'pcap_id': 'e' * 32, 'ownership_id': 'e' * 32}
    operations = list(contract.operations())
    assert len(operations) == 9
    for template, method, _operation in operations:
        path = '/client/v4' + template.format(**sample)
        reply = sim.request(method, path, body={} if method in ('POST', 'PUT') else None)
        assert reply.status not in (404, 405) or reply.json['errors'][0]['code'] not in (7000, 10405), (method, path)


# Admin API and request log

def test_request_log_records_requests_without_secrets(sim):
    sim.api('GET')
    sim.api('GET', auth='global_key')
    sim.api('POST', body=simple_body())
    sim.api('GET', headers={'Authorization': 'Bearer not-the-token'}, auth=None)
    sim.api('POST', '/ownership', body={'destination_conf': 'r2://bucket?account-id=1&secret-access-key=BUCKETSECRET'})
    sim.admin('GET', 'captures')
    log = sim.admin('GET', 'requests')
    assert [entry['auth'] for entry in log] == ['bearer', 'global_key', 'bearer', 'bearer', 'bearer']
    assert log[4]['body'] == {'destination_conf': 'r2://bucket?********'}
    assert log[2]['method'] == 'POST' and log[2]['body'] == simple_body() and log[2]['status'] == 200
    assert all(entry['path'].startswith('/client/v4/') for entry in log)
    assert set(log[0]) == {'method', 'path', 'query', 'auth', 'body', 'status', 'fault', 'time'}
    text = json.dumps(log)
    for secret in (TOKEN, KEY, EMAIL, 'not-the-token', 'BUCKETSECRET'):
        assert secret not in text


def test_admin_config_clock_and_reset(sim):
    config = sim.admin('GET', 'config')
    assert config['pending_seconds'] == 1 and config['stop_finished_status'] == 400
    updated = sim.admin('POST', 'config', {'download_packets': 5, 'running_seconds': 3})
    assert updated['download_packets'] == 5 and updated['running_seconds'] == 3
    for bad in ({'no_such_key': 1}, {'fail_captures': 'yes'}, {'stop_finished_status': 500}, {'rate_limit': 0}):
        assert sim.request('POST', '/__sim/config', body=bad, auth=None).status == 400
    before = sim.admin('GET', 'clock')['epoch']
    assert sim.advance(3600)['epoch'] == pytest.approx(before + 3600, abs=1)
    assert sim.request('POST', '/__sim/clock', body={'advance': -1}, auth=None).status == 400

    sim.create(simple_body())
    sim.api('POST', '/ownership', body={'destination_conf': 's3://b'})
    add_fault(sim, kind='empty', path='nothing-matches-this')
    sim.admin('POST', 'reset')
    assert sim.admin('GET', 'captures') == [] and sim.admin('GET', 'buckets') == []
    assert sim.admin('GET', 'faults') == [] and sim.admin('GET', 'requests') == []
    assert sim.admin('GET', 'config')['download_packets'] == 100
    assert sim.request('GET', '/__sim/nothing', auth=None).status == 404


def test_admin_views_show_internal_fields(sim):
    seeded = sim.seed_bucket()
    capture = sim.create(full_body())
    bucket = sim.api('POST', '/ownership', body={'destination_conf': 's3://b'}).json['result']
    internal = sim.admin('GET', 'captures')
    assert internal[0]['id'] == capture['id'] and internal[0]['account_id'] == ACCOUNT
    assert internal[0]['status'] == 'pending' and 'capture_end' in internal[0]
    buckets = sim.admin('GET', 'buckets')
    assert [entry['id'] for entry in buckets] == [seeded['id'], bucket['id']]
    assert buckets[0]['status'] == 'success' and buckets[0]['account_id'] == ACCOUNT
    internal_bucket = buckets[1]
    assert dict((name, internal_bucket[name]) for name in bucket) == bucket
    assert re.match(r'^[0-9a-f]{64}$', internal_bucket['challenge'])
    assert internal_bucket['identity'] == 's3://b' and internal_bucket['challenge_file'] is None


# Process behaviour

def test_command_line_port_file_listening_line_and_sigterm(tmp_path):
    port_file = str(tmp_path / 'port')
    process = subprocess.Popen([sys.executable, SIM_SCRIPT, '--port-file', port_file, '--token', 'custom-token',
                                '--clock-speed', '2'],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        port = wait_for_port_file(port_file, process)
        line = process.stdout.readline().decode('utf-8')
        assert line == 'cfpcap-sim listening on http://127.0.0.1:%d/client/v4\n' % port
        connection = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
        connection.request('GET', '/client/v4/accounts/%s/pcaps' % ACCOUNT,
                           headers={'Authorization': 'Bearer custom-token'})
        assert connection.getresponse().status == 200
        connection.close()
        assert [name for name in os.listdir(str(tmp_path)) if name != 'port'] == []
        process.send_signal(15)
        assert process.wait(timeout=10) == 0
        assert b'GET /client/v4/accounts/' in process.stderr.read()
    finally:
        stop_simulator(process)


def test_refuses_a_non_loopback_host():
    completed = subprocess.run([sys.executable, SIM_SCRIPT, '--host', '0.0.0.0'], capture_output=True, timeout=30,
                               check=False)
    assert completed.returncode == 2
    assert b'loopback' in completed.stderr
