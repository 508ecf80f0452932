# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""capture_download with a full capture, run in-process: the capture record from a stub of Cloudflare's API on
loopback, the files from moto's S3 server on loopback (fixture moto_s3, conftest.py beside this file: that is why
these module tests live here). Wireshark's mergecap and capinfos witness the merged file."""

from __future__ import annotations

import hashlib
import os
import stat

import pytest

from ansible_collections.cloudflare.pcap.plugins.module_utils import _full_capture
from ansible_collections.cloudflare.pcap.plugins.module_utils._api import waiter as _waiter
from ansible_collections.cloudflare.pcap.plugins.module_utils._buckets import objects
from ansible_collections.cloudflare.pcap.plugins.module_utils._pcap.summary import summarise_file
from ansible_collections.cloudflare.pcap.plugins.modules import capture_download
from ansible_collections.cloudflare.pcap.tests.unit import pcap_samples as samples
from ansible_collections.cloudflare.pcap.tests.unit.helpers import (
    CAPTURE_ID,
    Reply,
    assert_matches_return_docs,
    envelope,
    run_module,
    warning_texts,
)
from ansible_collections.cloudflare.pcap.tests.unit.plugins.module_utils._pcap.test_merge import (
    assert_mergecap_agrees,
    capinfos,
)

SERVERS = 3
PACKETS_EACH = 25


@pytest.fixture(autouse=True)
def fast_polls(monkeypatch):
    monkeypatch.setattr(_waiter, 'FIRST_INTERVAL', 0.01)
    monkeypatch.setattr(_waiter, 'MAX_INTERVAL', 0.01)


def server_file(number, packets=PACKETS_EACH):
    """One server's file: full-size frames, its times interleaved with the other servers'."""
    rng = samples.random.Random(number)
    frames = [samples.frame(rng, samples.ETHERNET) for _index in range(packets)]
    return samples.pcap_file(frames, snaplen=65535, start_ns=samples.EPOCH_NS + number * 1000, step_ns=10 ** 6)


def full_capture(destination_conf, status='success'):
    return Reply(200, envelope({'id': CAPTURE_ID, 'status': status, 'type': 'full', 'system': 'magic-transit',
                                'destination_conf': destination_conf}))


def bucket_with_files(moto_s3, layout='sub_folders', files=SERVERS, foreign=True):
    bucket = moto_s3.new_bucket()
    keys = []
    for number in range(1, files + 1):
        key = ('evidence/srv%d/pcap_%s.pcap' % (number, CAPTURE_ID) if layout == 'sub_folders'
               else 'evidence/pcap_%s_%d.pcap' % (CAPTURE_ID, number))
        moto_s3.put(bucket, key, server_file(number))
        keys.append(key)
    if foreign:
        moto_s3.put(bucket, 'evidence/pcap_%s.pcap' % ('b' * 32), server_file(9))
    return bucket, keys


def args(connection_args, moto_s3, dest, credentials=None, **extra):
    access_key_id, secret = credentials or (moto_s3.admin['aws_access_key_id'], moto_s3.admin['aws_secret_access_key'])
    return dict(connection_args, id=CAPTURE_ID, dest=str(dest), bucket_endpoint_url=moto_s3.url,
                bucket_access_key_id=access_key_id, bucket_secret_access_key=secret, **extra)


def run(stub_api, capsys, arguments, destination_conf, check_mode=False, status='success'):
    stub_api.add(full_capture(destination_conf, status))
    if check_mode:
        arguments = dict(arguments, _ansible_check_mode=True)
    return run_module(capture_download.main, arguments, capsys)


def listing(path):
    return sorted(os.path.relpath(os.path.join(folder, name), str(path))
                  for folder, _dirs, names in os.walk(str(path)) for name in names)


def test_every_file_is_fetched_hashed_merged_and_summarised(stub_api, connection_args, moto_s3, capsys, tmp_path):
    bucket, keys = bucket_with_files(moto_s3)
    uri = 's3://%s/evidence?region=us-east-1' % bucket

    failed, result = run(stub_api, capsys, args(connection_args, moto_s3, tmp_path), uri)

    assert not failed, result
    assert result['changed'] is True
    merged = str(tmp_path / (CAPTURE_ID + '-merged.pcap'))
    assert listing(tmp_path) == sorted(['srv%d/pcap_%s.pcap' % (number, CAPTURE_ID) for number in (1, 2, 3)]
                                       + [CAPTURE_ID + '-merged.pcap'])
    assert [item['key'] for item in result['files']] == keys
    for number, item in enumerate(result['files'], 1):
        data = server_file(number)
        assert item['sha256'] == hashlib.sha256(data).hexdigest() and item['size'] == len(data)
        assert item['packets'] == PACKETS_EACH and item['format'] == 'pcap'
        assert stat.S_IMODE(os.stat(item['dest']).st_mode) == 0o600
    assert result['dest'] == merged and result['format'] == 'pcap' and result['packets'] == SERVERS * PACKETS_EACH
    with open(merged, 'rb') as handle:
        assert result['checksum'] == hashlib.sha256(handle.read()).hexdigest()
    assert stat.S_IMODE(os.stat(merged).st_mode) == 0o600
    assert result['summary']['packets'] == SERVERS * PACKETS_EACH and 'empty_reasons' not in result['summary']
    # Tallied while merging, in the same pass: the summary of the merged file as it lies on disk.
    assert result['summary'] == summarise_file(merged)[1]
    witness = tmp_path / 'witness'
    witness.mkdir()
    merged_file = dict(dest=merged, packets=result['packets'], link_types=[1])
    assert_mergecap_agrees([item['dest'] for item in result['files']], merged_file, witness)
    assert_matches_return_docs(capture_download, result, 'success')


def test_a_rerun_fetches_nothing_and_reports_unchanged(stub_api, connection_args, moto_s3, capsys, tmp_path):
    bucket, _keys = bucket_with_files(moto_s3, layout='top_level')
    uri = 's3://%s/evidence?region=us-east-1' % bucket
    first = run(stub_api, capsys, args(connection_args, moto_s3, tmp_path), uri)[1]
    inodes = dict((name, os.stat(str(tmp_path / name)).st_ino) for name in listing(tmp_path))

    # A user who may only list: a download would be refused.
    failed, second = run(stub_api, capsys, args(connection_args, moto_s3, tmp_path, moto_s3.user_allowed('s3:ListBucket')), uri)

    assert not failed, second
    assert second['changed'] is False and not any(item['changed'] for item in second['files'])
    assert second['checksum'] == first['checksum'] and second['summary'] == first['summary']
    assert dict((name, os.stat(str(tmp_path / name)).st_ino) for name in listing(tmp_path)) == inodes


def test_check_mode_lists_what_would_be_fetched_and_writes_nothing(stub_api, connection_args, moto_s3, capsys, tmp_path):
    bucket, keys = bucket_with_files(moto_s3)
    uri = 's3://%s/evidence?region=us-east-1' % bucket

    failed, result = run(stub_api, capsys, args(connection_args, moto_s3, tmp_path), uri, check_mode=True)

    assert not failed, result
    assert result['changed'] is True and listing(tmp_path) == []
    assert [(item['key'], item['changed'], item['sha256']) for item in result['files']] == [(key, True, None) for key in keys]
    assert 'summary' not in result
    assert_matches_return_docs(capture_download, result, 'check mode')

    run(stub_api, capsys, args(connection_args, moto_s3, tmp_path), uri)
    failed, again = run(stub_api, capsys, args(connection_args, moto_s3, tmp_path), uri, check_mode=True)
    assert not failed and again['changed'] is False and not any(item['changed'] for item in again['files'])


def test_a_file_gone_after_the_listing_is_named_and_the_others_are_saved(stub_api, connection_args, moto_s3, capsys,
                                                                         tmp_path, monkeypatch):
    bucket, keys = bucket_with_files(moto_s3)
    listed = objects.BucketClient.list_capture_objects

    def list_then_lose_one(self, capture_id, page_size=None):
        found = listed(self, capture_id, page_size)
        moto_s3.client('s3').delete_object(Bucket=bucket, Key=keys[1])
        return found
    monkeypatch.setattr(objects.BucketClient, 'list_capture_objects', list_then_lose_one)

    failed, result = run(stub_api, capsys, args(connection_args, moto_s3, tmp_path), 's3://%s/evidence?region=us-east-1' % bucket)

    assert failed
    assert result['msg'].startswith('Download of full capture %s failed: 1 of 3 files' % CAPTURE_ID)
    assert '%s: the object is gone' % keys[1] in result['msg'] and '\n' not in result['msg']
    assert [item['key'] for item in result['files']] == [keys[0], keys[2]]
    assert all(item['sha256'] and item['packets'] == PACKETS_EACH for item in result['files'])
    assert listing(tmp_path) == ['srv1/pcap_%s.pcap' % CAPTURE_ID, 'srv3/pcap_%s.pcap' % CAPTURE_ID]


def test_a_damaged_file_is_named_kept_and_hashed_and_nothing_is_merged(stub_api, connection_args, moto_s3, capsys, tmp_path):
    bucket, keys = bucket_with_files(moto_s3)
    moto_s3.put(bucket, keys[2], server_file(3)[:-7])

    failed, result = run(stub_api, capsys, args(connection_args, moto_s3, tmp_path), 's3://%s/evidence?region=us-east-1' % bucket)

    assert failed and 'damaged' in result['msg'] and keys[2] in result['msg'] and keys[0] not in result['msg']
    assert [item['key'] for item in result['files']] == keys and all(item['sha256'] for item in result['files'])
    assert not any(name.endswith('-merged.pcap') for name in listing(tmp_path))


def test_a_bucket_that_refuses_the_listing_is_named_masked_with_the_permission(stub_api, connection_args, moto_s3,
                                                                               capsys, tmp_path):
    bucket, _keys = bucket_with_files(moto_s3)
    credentials = moto_s3.user_allowed('s3:GetObject')

    failed, result = run(stub_api, capsys, args(connection_args, moto_s3, tmp_path, credentials),
                         's3://%s/evidence?region=us-east-1' % bucket)

    assert failed
    assert result['msg'] == ("Download of full capture %s failed: Listing the bucket failed for S3 bucket "
                             "s3://%s/evidence?********, prefix 'evidence/': access denied (HTTP 403 AccessDenied): the "
                             "credentials need s3:ListBucket" % (CAPTURE_ID, bucket))
    assert listing(tmp_path) == []
    assert credentials[1] not in capsys.readouterr().out + str(result)


def test_r2_keys_in_the_uri_never_reach_the_result(stub_api, connection_args, moto_s3, capsys, tmp_path):
    bucket, _keys = bucket_with_files(moto_s3, files=1, layout='top_level')
    key_id, secret = moto_s3.user_allowed('s3:ListBucket', 's3:GetObject')
    uri = 'r2://%s/evidence?account-id=%s&access-key-id=%s&secret-access-key=%s' % (bucket, 'a' * 32, key_id, secret)
    arguments = dict(connection_args, id=CAPTURE_ID, dest=str(tmp_path), bucket_endpoint_url=moto_s3.url)

    failed, result = run(stub_api, capsys, arguments, uri)

    assert not failed, result
    assert result['packets'] == PACKETS_EACH
    assert secret not in str(result) and key_id not in str(result)


def test_no_file_after_success_says_where_it_looked_and_why_a_capture_can_be_empty(stub_api, connection_args, moto_s3,
                                                                                   capsys, tmp_path):
    bucket = moto_s3.new_bucket()
    moto_s3.put(bucket, 'evidence/pcap_%s.pcap' % ('b' * 32), server_file(9))

    failed, result = run(stub_api, capsys, args(connection_args, moto_s3, tmp_path), 's3://%s/evidence?region=us-east-1' % bucket)

    assert failed
    assert "No file of capture %s" % CAPTURE_ID in result['msg'] and "s3://%s/evidence?********, prefix 'evidence/'" % bucket in result['msg']
    assert 'packets were dropped' in result['msg'] and 'matched no traffic' in result['msg']
    assert result['summary']['packets'] == 0 and len(result['summary']['empty_reasons']) == 3


def test_files_without_packets_give_an_empty_merged_capture_that_says_why(stub_api, connection_args, moto_s3, capsys,
                                                                          tmp_path):
    bucket = moto_s3.new_bucket()
    for number in (1, 2):
        moto_s3.put(bucket, 'srv%d/pcap_%s.pcap' % (number, CAPTURE_ID), server_file(number, packets=0))

    failed, result = run(stub_api, capsys, args(connection_args, moto_s3, tmp_path), 's3://%s?region=us-east-1' % bucket)

    assert not failed, result
    assert result['packets'] == 0 and result['summary']['flows'] == []
    assert any('packets were dropped' in reason for reason in result['summary']['empty_reasons'])
    assert any(text.startswith('The capture holds no packets') for text in warning_texts(result))
    assert capinfos(result['dest'])['Number of packets'] == '0'


def test_a_capture_not_finished_says_its_status_and_wait_waits(stub_api, connection_args, moto_s3, capsys, tmp_path):
    bucket, _keys = bucket_with_files(moto_s3, files=1)
    uri = 's3://%s/evidence?region=us-east-1' % bucket

    failed, result = run(stub_api, capsys, args(connection_args, moto_s3, tmp_path), uri, status='conversion_running')
    assert failed and result['msg'] == ('Packet capture %s is conversion_running, not ready for download; set wait=true '
                                        'to wait for it' % CAPTURE_ID)
    assert listing(tmp_path) == []

    stub_api.add(full_capture(uri, 'running'), full_capture(uri, 'conversion_pending'), full_capture(uri))
    failed, result = run_module(capture_download.main, args(connection_args, moto_s3, tmp_path, wait=True), capsys)
    assert not failed, result
    assert result['packets'] == PACKETS_EACH


def test_a_dest_that_cannot_be_written_is_found_before_the_bucket_is_read(stub_api, connection_args, moto_s3, capsys,
                                                                          monkeypatch):
    # /proc refuses new files even to root, whom permissions do not stop.
    monkeypatch.setattr(_full_capture, 'bucket_client', lambda *_args, **_kwargs: pytest.fail('the bucket was read'))

    failed, result = run(stub_api, capsys, args(connection_args, moto_s3, '/proc'), 's3://b/evidence?region=us-east-1')

    assert failed and result['msg'].startswith('dest: cannot write a file into directory /proc')


def test_a_full_capture_needs_a_directory(stub_api, connection_args, moto_s3, capsys, tmp_path):
    bucket, _keys = bucket_with_files(moto_s3, files=1)

    failed, result = run(stub_api, capsys, args(connection_args, moto_s3, tmp_path / 'one.pcap'),
                         's3://%s/evidence?region=us-east-1' % bucket)

    assert failed and result['msg'].startswith('dest: %s is not an existing directory' % (tmp_path / 'one.pcap'))


def test_without_boto3_the_message_names_pip_install_boto3(stub_api, connection_args, moto_s3, capsys, tmp_path,
                                                           monkeypatch):
    monkeypatch.setattr(objects, 'HAS_BOTO3', False)
    failed, result = run(stub_api, capsys, args(connection_args, moto_s3, tmp_path), 's3://b?region=us-east-1')
    assert failed and 'pip install boto3' in result['msg'] and 'Traceback' not in str(result)


def test_a_merged_file_that_cannot_be_put_in_place_fails_with_the_files_kept(stub_api, connection_args, moto_s3, capsys,
                                                                             tmp_path):
    bucket, keys = bucket_with_files(moto_s3, files=2)
    (tmp_path / (CAPTURE_ID + '-merged.pcap')).mkdir()

    failed, result = run(stub_api, capsys, args(connection_args, moto_s3, tmp_path), 's3://%s/evidence?region=us-east-1' % bucket)

    assert failed and 'Putting the merged capture of %s in place' % CAPTURE_ID in result['msg']
    assert [item['key'] for item in result['files']] == keys and all(item['sha256'] for item in result['files'])
    assert not any(name.endswith('.new') for name in listing(tmp_path))
