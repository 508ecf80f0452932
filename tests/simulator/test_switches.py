# -*- coding: utf-8 -*-
# Copyright: contributors to the cloudflare.pcap collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tests of the config switches that bring the simulator close to Cloudflare's documented behaviour.

The session simulator's clock is frozen (conftest `sim`); time moves only with /__sim/clock.
"""

import datetime
import io
import ipaddress
import json
import os
import threading
import time

import pytest

from conftest import (ACCOUNT, FULL_DESTINATION, SECOND_ACCOUNT, assert_failure, full_body, parse_pcap_records,
                      simple_body, start_simulator, stop_simulator, SimClient)
from cfpcap_rules import parse_rfc3339

R2_BUCKET = 'r2://pcaps?account-id=%s' % ACCOUNT
R2_WITH_KEYS = R2_BUCKET + '&access-key-id=AKIDEXAMPLE&secret-access-key=SECRETEXAMPLE'


def sim_now(sim):
    return sim.admin('GET', 'clock')['epoch']


def stamp(epoch, offset_hours=0):
    zone = datetime.timezone(datetime.timedelta(hours=offset_hours))
    return datetime.datetime.fromtimestamp(int(epoch), zone).isoformat()


def internal_bucket(sim, bucket_id):
    return [bucket for bucket in sim.admin('GET', 'buckets') if bucket['id'] == bucket_id][0]


def add_bucket(sim, destination_conf):
    reply = sim.api('POST', '/ownership', body={'destination_conf': destination_conf})
    assert reply.status == 200, reply.body
    return reply.json['result']


def validate(sim, destination_conf, challenge):
    return sim.api('POST', '/ownership/validate',
                   body={'destination_conf': destination_conf, 'ownership_challenge': challenge})


def test_defaults_of_the_switches(sim):
    config = sim.admin('GET', 'config')
    assert {name: config[name] for name in (
        'simple_finishes_at_once', 'echo_in_cloudflare_form', 'strip_bucket_credentials', 'validation_pending_seconds',
        'challenge_dir', 'require_validated_bucket', 'lockout_seconds', 'sample_snaplen', 'list_limit',
        'unknown_status', 'rate_limit', 'rate_limit_window')} == {
        'simple_finishes_at_once': False, 'echo_in_cloudflare_form': False, 'strip_bucket_credentials': True,
        'validation_pending_seconds': 300, 'challenge_dir': None, 'require_validated_bucket': True,
        'lockout_seconds': 300, 'sample_snaplen': 160, 'list_limit': 50, 'unknown_status': False,
        'rate_limit': 1200, 'rate_limit_window': 300}


@pytest.mark.parametrize('change', [
    {'simple_finishes_at_once': 1}, {'echo_in_cloudflare_form': 'yes'}, {'strip_bucket_credentials': None},
    {'unknown_status': 0}, {'validation_pending_seconds': -1}, {'validation_pending_seconds': True},
    {'lockout_seconds': -5}, {'challenge_dir': ''}, {'challenge_dir': 5}, {'sample_snaplen': 0},
    {'sample_snaplen': 160.5}, {'list_limit': 0}, {'list_limit': 'all'},
])
def test_bad_switch_values_are_refused(sim, change):
    before = sim.admin('GET', 'config')
    reply = sim.request('POST', '/__sim/config', body=change, auth=None)
    assert reply.status == 400 and reply.json['ok'] is False
    assert sim.admin('GET', 'config') == before


# simple_finishes_at_once

def test_simple_finishes_at_once(sim):
    sim.seed_bucket()
    sim.admin('POST', 'config', {'simple_finishes_at_once': True, 'simple_per_minute': False})
    offset = int(sim_now(sim)) - 600
    created = sim.create(simple_body(time_limit=30, offset_time=stamp(offset)))
    assert created['status'] == 'success'
    assert sim.api('GET', '/' + created['id']).json['result']['status'] == 'success'
    download = sim.api('GET', '/%s/download' % created['id'])
    assert download.status == 200
    # The packets come from the stored traffic before offset_time.
    times = list(pcap_record_times(download.body))
    assert times and all(offset - 30 <= moment <= offset for moment in times)
    # Full captures are not affected.
    assert sim.create(full_body())['status'] == 'pending'
    # With fail_captures a sampled capture fails at once, without error_message (its schema has none).
    sim.admin('POST', 'config', {'fail_captures': True})
    failed = sim.create(simple_body())
    assert failed['status'] == 'failed' and 'error_message' not in failed


def pcap_record_times(data):
    offset = 24
    while offset < len(data):
        seconds = int.from_bytes(data[offset:offset + 4], 'little')
        included = int.from_bytes(data[offset + 8:offset + 12], 'little')
        yield seconds
        offset += 16 + included


# echo_in_cloudflare_form

def test_echo_in_cloudflare_form(sim):
    sim.seed_bucket()
    sim.admin('POST', 'config', {'echo_in_cloudflare_form': True})
    offset = sim_now(sim) - 3600
    body = simple_body(time_limit=30, offset_time=stamp(offset, offset_hours=2),
                       filter_v1={'source_address': '2001:db8::1', 'destination_address': '2001:DB8:0:0::53',
                                  'source_port': 40000, 'destination_port': 443, 'protocol': 6})
    reply = sim.api('POST', body=body)
    result = reply.json['result']
    assert result['filter_v1'] == {
        'source_address': '2001:0DB8:0000:0000:0000:0000:0000:0001',
        'destination_address': '2001:0DB8:0000:0000:0000:0000:0000:0053',
        'source_port': 40000.0, 'destination_port': 443.0, 'protocol': 6.0}
    assert b'"destination_port": 443.0' in reply.body and b'"time_limit": 30.0' in reply.body
    assert result['offset_time'] == stamp(offset).replace('+00:00', '.000+00:00')
    assert result['offset_time'].endswith('.000+00:00')
    # Equivalent to what was sent.
    assert parse_rfc3339(result['offset_time']) == parse_rfc3339(body['offset_time'])
    for name in ('source_address', 'destination_address'):
        assert ipaddress.ip_address(result['filter_v1'][name]) == ipaddress.ip_address(body['filter_v1'][name])
    full = sim.create(full_body(byte_limit=500000, filter_v1={'destination_address': '192.0.2.1'}))
    assert full['byte_limit'] == 500000.0 and isinstance(full['byte_limit'], float)
    assert full['time_limit'] == 60.0 and isinstance(full['time_limit'], float)
    assert full['filter_v1'] == {'destination_address': '192.0.2.1'}  # IPv4 has one form


def test_echo_as_sent_by_default(sim):
    body = simple_body(offset_time=stamp(sim_now(sim) - 60, offset_hours=2),
                       filter_v1={'source_address': '2001:db8::1', 'destination_port': 443})
    reply = sim.api('POST', body=body)
    assert reply.json['result']['filter_v1'] == body['filter_v1']
    assert reply.json['result']['offset_time'] == body['offset_time']
    assert b'"destination_port": 443,' in reply.body or b'"destination_port": 443}' in reply.body


# strip_bucket_credentials, bucket identity and the validate call

def test_bucket_answers_carry_no_credentials(sim):
    added = add_bucket(sim, R2_WITH_KEYS)
    assert added['destination_conf'] == R2_BUCKET
    assert sim.api('GET', '/ownership').json['result'][0]['destination_conf'] == R2_BUCKET
    assert internal_bucket(sim, added['id'])['identity'] == R2_BUCKET
    # The same bucket, with or without (other) credentials, is already registered.
    for again in (R2_BUCKET, R2_BUCKET + '&secret-access-key=OTHER&access-key-id=OTHER'):
        assert_failure(sim.api('POST', '/ownership', body={'destination_conf': again}), 400, 1010)
    # Full captures echo the stripped URI too, and match the bucket by identity.
    sim.seed_bucket(R2_BUCKET.replace('pcaps', 'other'), validated=True)
    capture = sim.create(full_body(destination_conf=R2_BUCKET.replace('pcaps', 'other') + '&access-key-id=K'))
    assert capture['destination_conf'] == R2_BUCKET.replace('pcaps', 'other')
    text = json.dumps([sim.api('GET').json, sim.api('GET', '/ownership').json])
    assert 'SECRETEXAMPLE' not in text and 'AKIDEXAMPLE' not in text


def test_credentials_echoed_when_stripping_is_off(sim):
    sim.admin('POST', 'config', {'strip_bucket_credentials': False})
    added = add_bucket(sim, R2_WITH_KEYS)
    assert added['destination_conf'] == R2_WITH_KEYS
    # Identity still ignores the credentials.
    assert_failure(sim.api('POST', '/ownership', body={'destination_conf': R2_BUCKET}), 400, 1010)
    sim.admin('POST', 'config', {'require_validated_bucket': False})
    assert sim.create(full_body(destination_conf=R2_WITH_KEYS))['destination_conf'] == R2_WITH_KEYS


@pytest.mark.parametrize('strip', [True, False])
def test_validate_refuses_credentials_in_the_uri(sim, strip):
    sim.admin('POST', 'config', {'strip_bucket_credentials': strip})
    added = add_bucket(sim, R2_WITH_KEYS)
    challenge = internal_bucket(sim, added['id'])['challenge']
    for uri in (R2_WITH_KEYS, R2_BUCKET + '&access-key-id=AKIDEXAMPLE', R2_BUCKET + '&Secret-Access-Key=S'):
        message = assert_failure(validate(sim, uri, challenge), 400, 1014)
        assert 'destination_conf' in message
    assert internal_bucket(sim, added['id'])['validates_at'] is None
    # Without them the bucket is found by identity.
    assert validate(sim, R2_BUCKET, challenge).json['result']['id'] == added['id']


# validation_pending_seconds

def test_validation_stays_pending_for_the_configured_time(sim):
    sim.admin('POST', 'config', {'validation_pending_seconds': 60})
    added = add_bucket(sim, FULL_DESTINATION)
    challenge = internal_bucket(sim, added['id'])['challenge']
    validated_at = sim_now(sim)
    answer = validate(sim, FULL_DESTINATION, challenge).json['result']
    assert answer['status'] == 'pending' and 'validated' not in answer
    sim.advance(30)
    # Validating again does not restart the wait.
    assert validate(sim, FULL_DESTINATION, challenge).json['result']['status'] == 'pending'
    sim.advance(29)
    assert sim.api('GET', '/ownership').json['result'][0]['status'] == 'pending'
    assert_failure(sim.api('POST', body=full_body()), 400, 1013)
    sim.advance(1)
    bucket = sim.api('GET', '/ownership').json['result'][0]
    assert bucket['status'] == 'success'
    assert parse_rfc3339(bucket['validated']) == int(validated_at + 60)
    sim.create(full_body())


def test_validation_at_once_when_the_wait_is_zero(sim):
    sim.admin('POST', 'config', {'validation_pending_seconds': 0})
    added = add_bucket(sim, FULL_DESTINATION)
    answer = validate(sim, FULL_DESTINATION, internal_bucket(sim, added['id'])['challenge']).json['result']
    assert answer['status'] == 'success' and 'validated' in answer


def test_validation_wait_follows_the_clock_speed(sim):
    sim.admin('POST', 'config', {'validation_pending_seconds': 300, 'clock_speed': 100000})
    added = add_bucket(sim, FULL_DESTINATION)
    validate(sim, FULL_DESTINATION, internal_bucket(sim, added['id'])['challenge'])
    sim.advance(300)  # whatever the clock speed did in between, 300 more simulated seconds settle it
    assert sim.api('GET', '/ownership').json['result'][0]['status'] == 'success'


# The challenge file

def test_challenge_file_is_written_to_the_bucket_directory(sim, tmp_path):
    sim.admin('POST', 'config', {'challenge_dir': str(tmp_path)})
    r2 = add_bucket(sim, R2_WITH_KEYS)
    s3 = add_bucket(sim, 's3://pcaps-bucket/some/dir?region=us-east-1')
    gcs = add_bucket(sim, 'gs://gcs-bucket')
    for bucket, name in ((r2, 'pcaps'), (s3, 'pcaps-bucket'), (gcs, 'gcs-bucket')):
        path = tmp_path / name / bucket['filename']
        internal = internal_bucket(sim, bucket['id'])
        assert internal['challenge_file'] == str(path)
        contents = path.read_text(encoding='utf-8')
        assert contents == internal['challenge']
    # A user reads the file and sends its contents.
    contents = (tmp_path / 'pcaps' / r2['filename']).read_text(encoding='utf-8')
    assert validate(sim, R2_BUCKET, contents).status == 200
    # Challenges differ between buckets, so one bucket's file does not validate another.
    other = (tmp_path / 'gcs-bucket' / gcs['filename']).read_text(encoding='utf-8')
    assert other != contents
    assert_failure(validate(sim, 'gs://gcs-bucket', contents), 400, 1012)


def test_no_challenge_file_without_a_bucket_name(sim, tmp_path):
    sim.admin('POST', 'config', {'challenge_dir': str(tmp_path)})
    added = add_bucket(sim, 'not-a-uri')
    assert internal_bucket(sim, added['id'])['challenge_file'] is None
    assert os.listdir(str(tmp_path)) == []


def test_challenge_dir_command_line_option(tmp_path):
    challenges = tmp_path / 'challenges'
    process, port = start_simulator(tmp_path, ['--challenge-dir', str(challenges)])
    try:
        client = SimClient(port)
        assert client.admin('GET', 'config')['challenge_dir'] == str(challenges)
        client.admin('POST', 'reset')
        assert client.admin('GET', 'config')['challenge_dir'] == str(challenges)  # the option is the default
        added = add_bucket(client, 'r2://pcaps?account-id=%s' % ACCOUNT)
        assert (challenges / 'pcaps' / added['filename']).is_file()
    finally:
        stop_simulator(process)


# require_validated_bucket and the admin bucket endpoint

def test_admin_bucket_seeding(sim):
    pending = sim.seed_bucket('gs://pending-bucket', validated=False)
    assert pending['status'] == 'pending' and pending['account_id'] == ACCOUNT and 'challenge' in pending
    assert_failure(sim.api('POST', body=full_body(destination_conf='gs://pending-bucket')), 400, 1013)
    seeded = sim.seed_bucket(R2_WITH_KEYS)
    assert seeded['status'] == 'success' and seeded['validated'] and seeded['destination_conf'] == R2_BUCKET
    assert sim.api('GET', '/ownership').json['result'][1] == dict(
        (name, seeded[name]) for name in ('id', 'status', 'submitted', 'destination_conf', 'filename', 'validated'))
    sim.create(full_body(destination_conf=R2_BUCKET))
    # Another account's bucket does not count.
    sim.seed_bucket('gs://second', account_id=SECOND_ACCOUNT)
    sim.admin('POST', 'config', {'full_one_at_a_time': False})
    assert_failure(sim.api('POST', body=full_body(destination_conf='gs://second')), 400, 1013)
    for bad in ({}, {'destination_conf': 5}, {'destination_conf': 'gs://x', 'validated': 'yes'},
                {'destination_conf': 'gs://x', 'extra': 1}, {'destination_conf': 'gs://x', 'account_id': 'f' * 32},
                {'destination_conf': R2_BUCKET}):
        reply = sim.request('POST', '/__sim/buckets', body=bad, auth=None)
        assert reply.status == 400 and reply.json['ok'] is False, bad


# sample_snaplen

def test_downloads_keep_only_the_first_bytes_of_each_packet(sim):
    capture_id = sim.create(simple_body(packet_limit=60))['id']
    sim.advance(20)
    sampled = parse_pcap_records(sim.api('GET', '/%s/download' % capture_id).body, 160)
    sim.admin('POST', 'config', {'sample_snaplen': 65535})
    whole = parse_pcap_records(sim.api('GET', '/%s/download' % capture_id).body, 65535)
    assert len(sampled) == len(whole) == 60
    truncated = 0
    for (kept, original), (frame, whole_length) in zip(sampled, whole):
        assert original == whole_length == len(frame)
        assert kept == frame[:160] and len(kept) == min(160, original)
        truncated += original > 160
    assert truncated >= 30  # generated packets are often larger than a sample keeps
    sim.admin('POST', 'config', {'sample_snaplen': 64})
    assert all(len(kept) <= 64 for kept, _original in
               parse_pcap_records(sim.api('GET', '/%s/download' % capture_id).body, 64))


def test_truncated_download_parses_with_a_pcap_reader(sim):
    """dpkt, an independent pcap reader, reads the sampled file: snaplen 160, short records, real lengths."""
    import dpkt  # pylint: disable=import-outside-toplevel  # a test dependency (tests/requirements.txt)
    capture_id = sim.create(simple_body(packet_limit=20, filter_v1={'protocol': 17, 'destination_port': 53}))['id']
    sim.advance(20)
    reader = dpkt.pcap.Reader(io.BytesIO(sim.api('GET', '/%s/download' % capture_id).body))
    assert reader.snaplen == 160 and reader.datalink() == dpkt.pcap.DLT_EN10MB
    records = list(reader)
    assert len(records) == 20
    for _timestamp, frame in records:
        assert len(frame) <= 160
        packet = dpkt.ethernet.Ethernet(frame).data
        assert isinstance(packet, dpkt.ip.IP) and packet.p == 17
        assert packet.len >= len(frame) - 14  # the IP header tells the real length, beyond what was kept


# list_limit

def test_list_returns_the_newest_fifty(sim):
    sim.admin('POST', 'config', {'simple_per_minute': False})
    ids = [sim.create(simple_body())['id'] for _index in range(53)]
    reply = sim.api('GET').json
    assert [capture['id'] for capture in reply['result']] == ids[::-1][:50]
    assert reply['result_info'] == {'count': 50, 'page': 1, 'per_page': 50, 'total_count': 50}
    sim.admin('POST', 'config', {'list_limit': 2})
    assert [capture['id'] for capture in sim.api('GET').json['result']] == ids[::-1][:2]
    sim.admin('POST', 'config', {'list_limit': None})
    reply = sim.api('GET').json
    assert len(reply['result']) == 53 and reply['result_info']['count'] == 53


# unknown_status

def test_unknown_status(sim):
    sim.seed_bucket()
    sim.admin('POST', 'config', {'unknown_status': True})
    simple = sim.create(simple_body())
    full = sim.create(full_body())
    assert simple['status'] == full['status'] == 'unknown'
    sim.advance(100000)
    for capture in (simple, full):
        assert sim.api('GET', '/' + capture['id']).json['result']['status'] == 'unknown'
    assert_failure(sim.api('GET', '/%s/download' % simple['id']), 409, 1006)
    # Read when a capture is created: switching it off leaves earlier captures unknown.
    sim.admin('POST', 'config', {'unknown_status': False})
    later = sim.create(simple_body())
    assert later['status'] == 'pending'
    assert sim.api('GET', '/' + simple['id']).json['result']['status'] == 'unknown'


# Reset and requests in flight

def test_reset_waits_for_requests_in_flight(sim):
    """A request held by a slow fault finishes before a reset clears the state, never after it."""
    sim.admin('POST', 'faults', {'faults': [{'kind': 'slow', 'delay': 60, 'method': 'POST', 'path': r'/pcaps$'}]})
    outcome = {}

    def slow_create():
        outcome['reply'] = sim.api('POST', body=simple_body(), timeout=120)

    worker = threading.Thread(target=slow_create)
    worker.start()
    try:
        # The fault is consumed when the request is in flight.
        for _attempt in range(2000):
            if not sim.admin('GET', 'faults'):
                break
            time.sleep(0.005)
        assert sim.admin('GET', 'faults') == []
        sim.admin('POST', 'reset')
        # The reset cut the delay short and waited: the request has been answered, and left nothing behind.
        worker.join(30)
        assert not worker.is_alive()
        assert outcome['reply'].status == 200
        assert sim.admin('GET', 'requests') == []
        assert sim.admin('GET', 'captures') == []
    finally:
        worker.join(120)
