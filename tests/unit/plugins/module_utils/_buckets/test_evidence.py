# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Copying a case folder to an evidence bucket: moto's S3 server on loopback checks each object's SHA-256, keeps an
Object Lock bucket's retention, refuses a user without s3:PutObject; the custody record names the objects copied
and the ones that were not, and no secret reaches a message or the manifest."""

from __future__ import annotations

import base64
import hashlib
import json
import os

from ansible_collections.cloudflare.pcap.plugins.module_utils._buckets.evidence import copy_files, evidence_client
from ansible_collections.cloudflare.pcap.plugins.module_utils._evidence.copy import copy_case
from ansible_collections.cloudflare.pcap.plugins.module_utils._evidence.manifest import (
    EvidenceError,
    read_manifest,
    update_manifest,
)
from ansible_collections.cloudflare.pcap.tests.unit.evidence_case import ACCOUNT_ID, CAPTURE_ID, FILES, flip_a_byte, write_case

MANIFEST = '%s.manifest.json' % CAPTURE_ID


def case(tmp_path):
    update_manifest(str(tmp_path), CAPTURE_ID, steps=['downloaded', 'summarised'], files=write_case(tmp_path))
    return tmp_path


def client(moto_s3, uri, keys=None):
    keys = keys or (moto_s3.admin['aws_access_key_id'], moto_s3.admin['aws_secret_access_key'])
    return evidence_client(uri, ACCOUNT_ID, endpoint_url=moto_s3.url, access_key_id=keys[0], secret_access_key=keys[1])


def stored(moto_s3, bucket, key):
    return moto_s3.client('s3').get_object(Bucket=bucket, Key=key)['Body'].read()


def test_a_case_is_copied_under_prefix_and_capture_id_with_checksums_and_recorded(moto_s3, tmp_path):
    folder = case(tmp_path)
    bucket = moto_s3.new_bucket()
    result = copy_case(str(folder), CAPTURE_ID, client(moto_s3, 's3://%s/evidence?region=us-east-1' % bucket))
    assert result['changed'] and result['failed'] == []
    assert result['prefix'] == 's3://%s/evidence/%s/' % (bucket, CAPTURE_ID)
    expected = ['evidence/%s/%s' % (CAPTURE_ID, name) for name in list(FILES) + [MANIFEST, 'SHA256SUMS']]
    assert [entry['key'] for entry in result['copied']] == expected
    for name in FILES:
        key = 'evidence/%s/%s' % (CAPTURE_ID, name)
        assert stored(moto_s3, bucket, key) == (folder / name).read_bytes()
        head = moto_s3.client('s3').head_object(Bucket=bucket, Key=key, ChecksumMode='ENABLED')
        assert head['ChecksumSHA256'] == base64.b64encode(hashlib.sha256((folder / name).read_bytes()).digest()).decode()
    # The bucket's manifest is the final one: it names every file's object and the copied step.
    manifest = json.loads(stored(moto_s3, bucket, 'evidence/%s/%s' % (CAPTURE_ID, MANIFEST)))
    assert manifest == read_manifest(str(folder), CAPTURE_ID)
    assert [entry['key'] for entry in manifest['copies']] == expected[:4]
    assert manifest['custody_log'][-1]['step'] == 'copied' and manifest['custody_log'][-1]['objects'] == expected[:4]
    assert stored(moto_s3, bucket, 'evidence/%s/SHA256SUMS' % CAPTURE_ID) == (folder / 'SHA256SUMS').read_bytes()


def test_a_rerun_sends_nothing_again(moto_s3, tmp_path):
    folder = case(tmp_path)
    bucket = moto_s3.new_bucket()
    uri = 's3://%s?region=us-east-1' % bucket
    copy_case(str(folder), CAPTURE_ID, client(moto_s3, uri))
    before = (folder / MANIFEST).read_bytes()
    again = copy_case(str(folder), CAPTURE_ID, client(moto_s3, uri))
    assert not again['changed'] and all(not entry['changed'] for entry in again['copied'])
    assert (folder / MANIFEST).read_bytes() == before


def test_an_object_lock_bucket_keeps_its_default_retention(moto_s3, tmp_path):
    folder = case(tmp_path)
    bucket = 'locked-%s' % os.urandom(4).hex()
    admin = moto_s3.client('s3')
    admin.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    admin.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration=dict(
        ObjectLockEnabled='Enabled', Rule=dict(DefaultRetention=dict(Mode='COMPLIANCE', Days=30))))
    result = copy_case(str(folder), CAPTURE_ID, client(moto_s3, 's3://%s?region=us-east-1' % bucket))
    assert result['failed'] == []
    for entry in result['copied']:
        assert entry['version_id']
        head = admin.head_object(Bucket=bucket, Key=entry['key'], VersionId=entry['version_id'])
        assert head['ObjectLockMode'] == 'COMPLIANCE' and head['ObjectLockRetainUntilDate']


def test_a_file_changed_after_it_was_hashed_is_taken_away_again_and_the_others_are_copied(moto_s3, tmp_path):
    # S3 refuses an object whose ChecksumSHA256 it computes otherwise (BadDigest); moto 5 stores it as sent, so this
    # shows the collection's own guard: it hashes the bytes as they are sent and removes an object that differs.
    folder = case(tmp_path)
    bucket = moto_s3.new_bucket()
    evidence = client(moto_s3, 's3://%s?region=us-east-1' % bucket)
    files = [dict(name=name, path=str(folder / name), sha256=hashlib.sha256((folder / name).read_bytes()).hexdigest())
             for name in FILES]
    flip_a_byte(folder / FILES[1])  # after hashing, as if it changed between the check and the upload
    result = copy_files(evidence, CAPTURE_ID, files)
    assert [entry['name'] for entry in result['copied']] == [FILES[0], FILES[2], FILES[3]]
    assert [entry['name'] for entry in result['failed']] == [FILES[1]]
    assert 'not the recorded file' in result['failed'][0]['error'] and 'not copied' in result['failed'][0]['error']
    listed = moto_s3.client('s3').list_objects_v2(Bucket=bucket).get('Contents', [])
    assert '%s/%s' % (CAPTURE_ID, FILES[1]) not in [item['Key'] for item in listed]


def test_a_changed_case_folder_is_not_copied(moto_s3, tmp_path):
    folder = case(tmp_path)
    bucket = moto_s3.new_bucket()
    flip_a_byte(folder / FILES[2])
    try:
        copy_case(str(folder), CAPTURE_ID, client(moto_s3, 's3://%s?region=us-east-1' % bucket))
    except EvidenceError as exc:
        assert FILES[2] in str(exc) and exc.changed == [FILES[2]]
    else:
        raise AssertionError('a changed folder was copied')
    assert moto_s3.client('s3').list_objects_v2(Bucket=bucket).get('KeyCount') == 0


def test_a_user_who_may_not_write_gets_every_object_reported_and_nothing_recorded_as_copied(moto_s3, tmp_path):
    folder = case(tmp_path)
    bucket = moto_s3.new_bucket()
    keys = moto_s3.user_allowed('s3:GetObject', 's3:ListBucket')
    uri = 's3://%s/evidence?region=us-east-1&access-key-id=%s&secret-access-key=%s' % (bucket, keys[0], keys[1])
    result = copy_case(str(folder), CAPTURE_ID, evidence_client(uri, ACCOUNT_ID, endpoint_url=moto_s3.url))
    assert result['copied'] == []
    assert [entry['name'] for entry in result['failed']] == list(FILES) + [MANIFEST, 'SHA256SUMS']
    assert all('HTTP 403' in entry['error'] and 's3:PutObject' in entry['error'] for entry in result['failed'])
    manifest = read_manifest(str(folder), CAPTURE_ID)
    assert manifest.get('copies', []) == []
    assert [entry['name'] for entry in manifest['copy_failures']] == list(FILES) + [MANIFEST, 'SHA256SUMS']
    assert manifest['custody_log'][-1]['objects'] == [] and len(manifest['custody_log'][-1]['not_copied']) == 4
    text = json.dumps(result) + (folder / MANIFEST).read_text()
    assert keys[1] not in text and keys[0] not in text


def test_a_user_who_may_only_write_copies_the_case(moto_s3, tmp_path):
    folder = case(tmp_path)
    bucket = moto_s3.new_bucket()
    keys = moto_s3.user_allowed('s3:PutObject')
    result = copy_case(str(folder), CAPTURE_ID, client(moto_s3, 's3://%s?region=us-east-1' % bucket, keys))
    assert result['failed'] == [] and len(result['copied']) == 6


def test_check_mode_sends_and_writes_nothing(moto_s3, tmp_path):
    folder = case(tmp_path)
    before = (folder / MANIFEST).read_bytes()
    bucket = moto_s3.new_bucket()
    result = copy_case(str(folder), CAPTURE_ID, client(moto_s3, 's3://%s?region=us-east-1' % bucket), check_mode=True)
    assert result['changed'] and len(result['copied']) == 4
    assert moto_s3.client('s3').list_objects_v2(Bucket=bucket).get('KeyCount') == 0
    assert (folder / MANIFEST).read_bytes() == before


# ---- the module ------------------------------------------------------------------------------------------------

def test_the_copy_module_copies_and_keeps_the_keys_out_of_its_result(moto_s3, tmp_path, capsys):
    from ansible_collections.cloudflare.pcap.plugins.modules import evidence_copy
    from ansible_collections.cloudflare.pcap.tests.unit.helpers import assert_matches_return_docs, run_module
    folder = case(tmp_path)
    bucket = moto_s3.new_bucket()
    key_id, secret = moto_s3.admin['aws_access_key_id'], moto_s3.admin['aws_secret_access_key']
    args = dict(path=str(folder), capture_id=CAPTURE_ID, endpoint_url=moto_s3.url,
                bucket='r2://%s/cases?account-id=%s&access-key-id=%s&secret-access-key=%s' % (bucket, ACCOUNT_ID, key_id, secret),
                run_context=dict(awx_job_id='42'))
    failed, result = run_module(evidence_copy.main, args, capsys)
    assert not failed, result
    assert_matches_return_docs(evidence_copy, result, 'success')
    assert (result['bucket_name'], result['key_prefix']) == (bucket, 'cases/%s/' % CAPTURE_ID)
    assert len(result['copied']) == 6 and result['failed_objects'] == []
    text = json.dumps(result) + (folder / MANIFEST).read_text()
    assert secret not in text and key_id not in text
    assert read_manifest(str(folder), CAPTURE_ID)['custody_log'][-1]['by']['awx_job_id'] == '42'
    failed, again = run_module(evidence_copy.main, args, capsys)
    assert not failed and not again['changed']


def test_the_copy_module_fails_naming_each_object_not_copied(moto_s3, tmp_path, capsys):
    from ansible_collections.cloudflare.pcap.plugins.modules import evidence_copy
    from ansible_collections.cloudflare.pcap.tests.unit.helpers import assert_matches_return_docs, run_module
    folder = case(tmp_path)
    bucket = moto_s3.new_bucket()
    key_id, secret = moto_s3.user_allowed('s3:GetObject')
    failed, result = run_module(evidence_copy.main, dict(
        path=str(folder), capture_id=CAPTURE_ID, bucket='s3://%s?region=us-east-1' % bucket, endpoint_url=moto_s3.url,
        access_key_id=key_id, secret_access_key=secret), capsys)
    assert failed and result['copied'] == [] and len(result['failed_objects']) == 6
    assert all(name in result['msg'] for name in FILES)
    assert secret not in json.dumps(result)
    assert_matches_return_docs(evidence_copy, result, 'failure')
