# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""capture_download run in-process against a real HTTP server on loopback."""

from __future__ import annotations

import hashlib
import os

import pytest

from ansible_collections.cloudflare.pcap.plugins.module_utils._api import waiter as _waiter
from ansible_collections.cloudflare.pcap.plugins.modules import capture_download
from ansible_collections.cloudflare.pcap.tests.unit import pcap_samples as samples
from ansible_collections.cloudflare.pcap.tests.unit.helpers import (
    CAPTURE_ID,
    Reply,
    assert_matches_return_docs,
    envelope,
    run_module,
)
from ansible_collections.cloudflare.pcap.tests.unit.plugins.module_utils._pcap.test_reader import pcap_bytes

PCAP = pcap_bytes(12)
PCAP_HEADERS = {'Content-Type': 'application/vnd.tcpdump.pcap'}


@pytest.fixture(autouse=True)
def fast_polls(monkeypatch):
    monkeypatch.setattr(_waiter, 'FIRST_INTERVAL', 0.01)
    monkeypatch.setattr(_waiter, 'MAX_INTERVAL', 0.01)


def capture(status='success', **fields):
    record = {'id': CAPTURE_ID, 'status': status, 'type': 'simple'}
    record.update(fields)
    return Reply(200, envelope(record))


def pcap_file(data=PCAP):
    return Reply(200, data, kind='raw', headers=PCAP_HEADERS)


def test_downloads_into_a_directory(stub_api, connection_args, capsys, tmp_path):
    stub_api.add(capture(), pcap_file())
    failed, result = run_module(capture_download.main, dict(connection_args, id=CAPTURE_ID, dest=str(tmp_path)), capsys)
    assert not failed and result['changed'] is True
    dest = str(tmp_path / (CAPTURE_ID + '.pcap'))
    assert result['dest'] == dest and result['packets'] == 12 and result['format'] == 'pcap'
    assert result['size'] == len(PCAP) and result['checksum'] == hashlib.sha256(PCAP).hexdigest()
    assert oct(os.stat(dest).st_mode & 0o777) == '0o600'
    assert stub_api.requests[1]['path'].endswith('/pcaps/%s/download' % CAPTURE_ID)
    assert 'application/vnd.tcpdump.pcap' in stub_api.requests[1]['headers']['Accept']
    assert result['summary']['packets'] == 12 and result['summary']['undecoded_packets'] == 12
    assert_matches_return_docs(capture_download, result, 'success')


def test_an_existing_dest_is_kept_without_asking_cloudflare(stub_api, connection_args, capsys, tmp_path):
    dest = tmp_path / 'evidence.pcap'
    dest.write_bytes(PCAP)
    failed, result = run_module(capture_download.main, dict(connection_args, id=CAPTURE_ID, dest=str(dest)), capsys)
    assert not failed and result['changed'] is False and result['packets'] == 12
    assert stub_api.requests == []


def test_an_existing_foreign_file_is_reported(stub_api, connection_args, capsys, tmp_path):
    dest = tmp_path / 'evidence.pcap'
    dest.write_bytes(b'notes')
    failed, result = run_module(capture_download.main, dict(connection_args, id=CAPTURE_ID, dest=str(dest)), capsys)
    assert failed and 'exists but it is not a pcap or pcapng file' in result['msg'] and 'force=true' in result['msg']


def test_force_replaces_the_file(stub_api, connection_args, capsys, tmp_path):
    dest = tmp_path / 'evidence.pcap'
    dest.write_bytes(b'old')
    stub_api.add(capture(), pcap_file())
    failed, result = run_module(capture_download.main, dict(connection_args, id=CAPTURE_ID, dest=str(dest), force=True,
                                                            mode='0640'), capsys)
    assert not failed and result['changed'] is True and dest.read_bytes() == PCAP
    assert oct(os.stat(str(dest)).st_mode & 0o777) == '0o640'


def test_check_mode_downloads_nothing(stub_api, connection_args, capsys, tmp_path):
    stub_api.add(capture())
    failed, result = run_module(capture_download.main, dict(connection_args, id=CAPTURE_ID, dest=str(tmp_path),
                                                            _ansible_check_mode=True), capsys)
    assert not failed and result['changed'] is True
    assert os.listdir(str(tmp_path)) == []
    assert [request['path'].rsplit('/', 1)[-1] for request in stub_api.requests] == [CAPTURE_ID]
    assert_matches_return_docs(capture_download, result, 'success, when the capture was looked up (not when O(dest) exists and O(force=false))')


def test_a_folder_that_cannot_be_written_fails_naming_dest_before_any_request(stub_api, connection_args, capsys):
    # Linux refuses new files in /proc, also to root, so this holds whoever runs the tests.
    failed, result = run_module(capture_download.main, dict(connection_args, id=CAPTURE_ID, dest='/proc/'), capsys)
    assert failed
    assert result['msg'].startswith('dest: cannot write a file into directory /proc (')
    assert result['msg'].endswith('); nothing was downloaded')
    assert stub_api.requests == []


@pytest.mark.parametrize('check_mode', [False, True])
def test_a_folder_without_write_permission_fails_naming_dest_before_any_request(
        stub_api, connection_args, capsys, tmp_path, monkeypatch, check_mode):
    # Permissions do not stop root, who may run these tests: os.access answers as it does for any other user.
    real_access = os.access
    monkeypatch.setattr(os, 'access', lambda path, mode: False if path == str(tmp_path) else real_access(path, mode))
    failed, result = run_module(capture_download.main, dict(connection_args, id=CAPTURE_ID, dest=str(tmp_path) + '/',
                                                            _ansible_check_mode=check_mode), capsys)
    assert failed
    assert result['msg'] == ('dest: cannot write a file into directory %s (no write and search permission for this '
                             'user); nothing was downloaded' % tmp_path)
    assert stub_api.requests == [] and os.listdir(str(tmp_path)) == []


def test_a_read_only_folder_fails_naming_dest_before_any_request(stub_api, connection_args, capsys, tmp_path):
    # Permissions do not stop root, so root gets /proc, where the kernel refuses to create any file.
    folder = tmp_path / 'read-only'
    folder.mkdir(mode=0o500)
    if os.geteuid() == 0:
        folder = '/proc'
    failed, result = run_module(capture_download.main, dict(connection_args, id=CAPTURE_ID, dest=os.path.join(str(folder), 'x.pcap')),
                                capsys)
    assert failed and result['msg'].startswith('dest: cannot write a file into directory %s (' % folder)
    assert stub_api.requests == []


def test_a_writable_folder_keeps_no_trace_of_the_check(stub_api, connection_args, capsys, tmp_path):
    stub_api.add(capture(status='running'))
    failed, result = run_module(capture_download.main, dict(connection_args, id=CAPTURE_ID, dest=str(tmp_path)), capsys)
    assert failed and result['msg'].endswith('not ready for download; set wait=true to wait for it')
    assert os.listdir(str(tmp_path)) == []


def test_a_full_capture_is_read_from_its_bucket_and_its_keys_stay_masked(stub_api, connection_args, capsys, tmp_path,
                                                                         monkeypatch):
    # Nothing listens on the endpoint: the bucket cannot be read, and the message names it masked.
    # (tests/unit/plugins/module_utils/_buckets/test_full_capture_download.py reads a real bucket.)
    monkeypatch.setenv('AWS_EC2_METADATA_DISABLED', 'true')
    stub_api.add(capture(status='complete', type='full', destination_conf='s3://bucket?key=SECRETKEY'))
    failed, result = run_module(capture_download.main, dict(connection_args, id=CAPTURE_ID, dest=str(tmp_path),
                                                            bucket_endpoint_url='http://127.0.0.1:9',
                                                            bucket_access_key_id='AKIDEXAMPLE',
                                                            bucket_secret_access_key='SECRETACCESS'), capsys)
    assert failed
    assert result['msg'].startswith('Download of full capture %s failed: Listing the bucket failed for S3 bucket '
                                    's3://bucket?********' % CAPTURE_ID)
    assert 'SECRETKEY' not in repr(result) and 'SECRETACCESS' not in repr(result)


def test_not_ready_fails_unless_waiting(stub_api, connection_args, capsys, tmp_path):
    stub_api.add(capture(status='running'))
    failed, result = run_module(capture_download.main, dict(connection_args, id=CAPTURE_ID, dest=str(tmp_path)), capsys)
    assert failed and 'is running, not ready for download; set wait=true' in result['msg']
    assert os.listdir(str(tmp_path)) == []


def test_wait_then_download(stub_api, connection_args, capsys, tmp_path):
    stub_api.add(capture(status='running'), capture(status='conversion_running'), capture(), pcap_file())
    failed, result = run_module(capture_download.main, dict(connection_args, id=CAPTURE_ID, dest=str(tmp_path),
                                                            wait=True), capsys)
    assert not failed and result['packets'] == 12 and result['elapsed'] >= 0
    assert_matches_return_docs(capture_download, result, 'success, when O(wait=true) and the capture was looked up')


def test_a_failed_capture_fails_with_its_error_message(stub_api, connection_args, capsys, tmp_path):
    stub_api.add(capture(status='failed', error_message='No packets matched'))
    failed, result = run_module(capture_download.main, dict(connection_args, id=CAPTURE_ID, dest=str(tmp_path)), capsys)
    assert failed and result['msg'] == 'Packet capture %s failed: No packets matched' % CAPTURE_ID


@pytest.mark.parametrize('answer, expected', [
    (Reply(200, b'<html><title>oops</title></html>', kind='raw', headers={'Content-Type': 'text/html'}), 'not a pcap'),
    (Reply(200, pcap_bytes(3)[:-4], kind='raw', headers=PCAP_HEADERS), 'packet 3 is truncated'),
    (Reply(409, envelope(None, False, [{'code': 1006, 'message': 'not ready'}])), 'HTTP 409'),
])
def test_a_bad_download_never_reaches_dest(stub_api, connection_args, capsys, tmp_path, answer, expected):
    stub_api.add(capture(), answer)
    failed, result = run_module(capture_download.main, dict(connection_args, id=CAPTURE_ID, dest=str(tmp_path), retries=0),
                                capsys)
    assert failed and expected in result['msg']
    assert os.listdir(str(tmp_path)) == []


def test_bad_mode_is_refused_before_any_request(stub_api, connection_args, capsys, tmp_path):
    failed, result = run_module(capture_download.main, dict(connection_args, id=CAPTURE_ID, dest=str(tmp_path), mode='rw'),
                                capsys)
    assert failed and result['msg'].startswith('mode: ')
    assert stub_api.requests == []


def test_a_complete_simple_capture_is_downloaded(stub_api, connection_args, capsys, tmp_path):
    stub_api.add(capture(status='complete'), pcap_file())
    failed, result = run_module(capture_download.main, dict(connection_args, id=CAPTURE_ID, dest=str(tmp_path)), capsys)
    assert not failed and result['changed'] is True and result['packets'] == 12


def test_an_unknown_status_is_neither_ready_nor_waited_for_long(stub_api, connection_args, capsys, tmp_path):
    stub_api.add(*[capture(status='unknown')] * 10)
    failed, result = run_module(capture_download.main, dict(connection_args, id=CAPTURE_ID, dest=str(tmp_path),
                                                            wait=True, wait_timeout=600), capsys)
    assert failed and 'as unknown, which is neither finished nor in progress' in result['msg']
    assert len(stub_api.requests) == 3  # the first look, then two more polls that still say unknown
    assert not os.listdir(str(tmp_path))


def test_a_negative_wait_timeout_is_refused_before_any_request(stub_api, connection_args, capsys, tmp_path):
    failed, result = run_module(capture_download.main, dict(connection_args, id=CAPTURE_ID, dest=str(tmp_path),
                                                            wait_timeout=-1), capsys)
    assert failed and result['msg'].startswith('wait_timeout: ')
    assert stub_api.requests == []


SAMPLED = samples.pcap_file([samples.ethernet(samples.ipv4('198.51.100.7', '203.0.113.10', 6, samples.tcp(
    51234 + number % 3, 443, b'x' * 1400))) for number in range(30)])


def test_the_download_is_summarised(stub_api, connection_args, capsys, tmp_path):
    stub_api.add(capture(), pcap_file(SAMPLED))
    failed, result = run_module(capture_download.main, dict(connection_args, id=CAPTURE_ID, dest=str(tmp_path),
                                                            summary_top=2), capsys)
    assert not failed
    summary = result['summary']
    assert (summary['packets'], summary['truncated_packets'], summary['captured_bytes'], summary['wire_bytes']) == (
        30, 30, 30 * 160, 30 * 1454)
    assert summary['flow_count'] == 3 and len(summary['flows']) == 2 and summary['flows'][0]['packets'] == 10
    assert summary['flows'][0]['filter_v1'] == dict(source_address='198.51.100.7', destination_address='203.0.113.10',
                                                    source_port=51234, destination_port=443, protocol=6)
    assert summary['protocols'] == [dict(protocol=6, packets=30, bytes=30 * 1454)]
    assert summary['first_packet'] == '2025-11-27T08:00:00.000000Z'
    assert_matches_return_docs(capture_download, result, 'success')


def test_a_kept_dest_is_summarised_too(stub_api, connection_args, capsys, tmp_path):
    dest = tmp_path / 'evidence.pcap'
    dest.write_bytes(SAMPLED)
    failed, result = run_module(capture_download.main, dict(connection_args, id=CAPTURE_ID, dest=str(dest), summary_top=0),
                                capsys)
    assert not failed and result['changed'] is False and stub_api.requests == []
    assert result['summary']['packets'] == 30 and result['summary']['flows'] == [] and result['summary']['flow_count'] == 3


def test_a_negative_summary_top_is_refused_before_any_request(stub_api, connection_args, capsys, tmp_path):
    failed, result = run_module(capture_download.main, dict(connection_args, id=CAPTURE_ID, dest=str(tmp_path),
                                                            summary_top=-1), capsys)
    assert failed and result['msg'] == 'summary_top: must be 0 or more, got -1' and stub_api.requests == []


def test_a_damaged_download_names_the_offset(stub_api, connection_args, capsys, tmp_path):
    stub_api.add(capture(), pcap_file(SAMPLED[:100]))
    failed, result = run_module(capture_download.main, dict(connection_args, id=CAPTURE_ID, dest=str(tmp_path), retries=0),
                                capsys)
    assert failed and 'packet 1 is truncated: its record header says 160 captured bytes from byte offset 40' in result['msg']
    assert os.listdir(str(tmp_path)) == []
