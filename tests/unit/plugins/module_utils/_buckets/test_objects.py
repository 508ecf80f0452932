# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Finding and fetching a full capture's files (plugins/module_utils/_buckets/objects.py) against moto's S3 server
on loopback (fixture moto_s3, conftest.py beside this file)."""

from __future__ import annotations

import hashlib
import os
import stat
import threading

import pytest

from ansible_collections.cloudflare.pcap.plugins.module_utils._buckets import objects
from ansible_collections.cloudflare.pcap.plugins.module_utils._buckets.objects import (
    BucketError,
    BucketLocation,
    bucket_client,
    is_capture_file,
)

ACCOUNT_ID = '023e105f4ecef8ad9ca31a8372d0c353'
CAPTURE_ID = '66802ca5668e47a2b82c2e6746e45037'
OTHER_ID = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'


def content(label, size=3000):
    """Distinct bytes per file, so that a mix-up shows in the hashes."""
    return (label.encode() * (size // len(label) + 1))[:size]


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def s3_client(moto_s3, destination_conf, credentials=None):
    keys = credentials or (moto_s3.admin['aws_access_key_id'], moto_s3.admin['aws_secret_access_key'])
    return bucket_client(BucketLocation(destination_conf, ACCOUNT_ID), endpoint_url=moto_s3.url,
                         access_key_id=keys[0], secret_access_key=keys[1])


def fetch(moto_s3, destination_conf, dest, credentials=None, **options):
    return s3_client(moto_s3, destination_conf, credentials).fetch_capture_files(CAPTURE_ID, str(dest), **options)


def saved(result):
    return dict((item['key'], item) for item in result['files'])


# The file name rule

@pytest.mark.parametrize('key', [
    'pcap_%s.pcap' % CAPTURE_ID,
    'dir/pcap_%s.pcap' % CAPTURE_ID,
    'dir/srv7/pcap_%s.pcap' % CAPTURE_ID,
    'pcap_%s_2.pcap' % CAPTURE_ID,
    'pcap_%s-ord02-srv12.pcap' % CAPTURE_ID,
    'ord02-pcap_%s.pcap' % CAPTURE_ID,
    'pcap_%s' % CAPTURE_ID,
    'pcap_%s.pcap' % CAPTURE_ID.upper(),
])
def test_a_name_with_pcap_and_the_id_is_the_captures(key):
    assert is_capture_file(key, CAPTURE_ID)


@pytest.mark.parametrize('key', [
    'pcap_%s.pcap' % OTHER_ID,
    'pcap_%s0.pcap' % CAPTURE_ID,
    'pcap_%sx.pcap' % CAPTURE_ID,
    'pcap_%s.pcap' % CAPTURE_ID[:-1],
    'pcap-%s.pcap' % CAPTURE_ID,
    '%s.pcap' % CAPTURE_ID,
    'pcap_%s/' % CAPTURE_ID,
    'pcap_%s/other.pcap' % CAPTURE_ID,
])
def test_a_name_of_another_capture_or_a_folder_is_not(key):
    assert not is_capture_file(key, CAPTURE_ID)


# Reading the URI

def test_an_s3_uri_gives_bucket_prefix_and_region():
    location = BucketLocation('s3://pcaps/captures/ord02?region=eu-west-1')
    assert (location.bucket, location.prefix, location.region, location.endpoint) == ('pcaps', 'captures/ord02/', 'eu-west-1', None)


def test_an_r2_uri_gives_the_account_endpoint_and_keeps_its_keys_out_of_repr():
    location = BucketLocation('r2://pcaps?account-id=%s&access-key-id=KEYID&secret-access-key=SE%%2BCRET' % OTHER_ID, ACCOUNT_ID)
    assert location.endpoint == 'https://%s.r2.cloudflarestorage.com' % OTHER_ID
    assert (location.bucket, location.prefix, location.region) == ('pcaps', '', 'auto')
    assert location.uri_keys() == ('KEYID', 'SE+CRET')
    assert 'KEYID' not in repr(location) and 'CRET' not in repr(location) and 'CRET' not in location.where()


def test_an_r2_uri_without_account_id_uses_the_captures_account():
    assert BucketLocation('r2://pcaps/dir/', ACCOUNT_ID).endpoint == 'https://%s.r2.cloudflarestorage.com' % ACCOUNT_ID


def test_an_r2_uri_without_any_account_cannot_be_reached():
    with pytest.raises(BucketError, match='R2 endpoint is unknown'):
        bucket_client(BucketLocation('r2://pcaps'))


def test_a_gcs_uri_goes_to_googles_xml_api():
    location = BucketLocation('gs://pcaps/dir')
    assert (location.endpoint, location.region, location.prefix) == ('https://storage.googleapis.com', 'auto', 'dir/')


@pytest.mark.parametrize('uri', ['https://pcaps.example/dir', 'pcaps', '', 's3://?region=us-east-1'])
def test_a_uri_that_is_no_bucket_is_refused_masked(uri):
    with pytest.raises(BucketError, match='^destination_conf: '):
        BucketLocation(uri + '?secret-access-key=HIDDEN')
    try:
        BucketLocation(uri + '?secret-access-key=HIDDEN')
    except BucketError as exc:
        assert 'HIDDEN' not in str(exc)


def test_without_boto3_the_message_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(objects, 'HAS_BOTO3', False)
    with pytest.raises(BucketError, match='pip install boto3'):
        bucket_client(BucketLocation('s3://pcaps?region=us-east-1'))


# Against the S3 API

def test_one_file_at_the_top_level_is_saved_private_with_its_hash_and_a_foreign_one_is_left(moto_s3, tmp_path):
    bucket = moto_s3.new_bucket()
    ours, theirs = content('ours'), content('theirs')
    moto_s3.put(bucket, 'pcap_%s.pcap' % CAPTURE_ID, ours)
    moto_s3.put(bucket, 'pcap_%s.pcap' % OTHER_ID, theirs)
    moto_s3.put(bucket, 'pcap_%s0.pcap' % CAPTURE_ID, theirs)

    result = fetch(moto_s3, 's3://%s?region=us-east-1' % bucket, tmp_path)

    dest = str(tmp_path / ('pcap_%s.pcap' % CAPTURE_ID))
    assert result == {'changed': True, 'files': [
        {'key': 'pcap_%s.pcap' % CAPTURE_ID, 'dest': dest, 'size': len(ours), 'sha256': sha256(ours), 'changed': True}]}
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o600
    assert sorted(os.listdir(str(tmp_path))) == ['pcap_%s.pcap' % CAPTURE_ID]


def test_several_files_in_sub_folders_keep_their_folders_and_nothing_outside_the_prefix_is_taken(moto_s3, tmp_path):
    bucket = moto_s3.new_bucket()
    layout = {
        'captures/srv1/pcap_%s.pcap' % CAPTURE_ID: content('one'),
        'captures/srv2/pcap_%s.pcap' % CAPTURE_ID: content('two', 5000),
        'captures/pcap_%s_3.pcap' % CAPTURE_ID: content('three', 10),
    }
    for key, body in layout.items():
        moto_s3.put(bucket, key, body)
    moto_s3.put(bucket, 'captures/srv1/pcap_%s.pcap' % OTHER_ID, content('other'))
    moto_s3.put(bucket, 'captures2/pcap_%s.pcap' % CAPTURE_ID, content('beside the prefix'))
    moto_s3.put(bucket, 'pcap_%s.pcap' % CAPTURE_ID, content('above the prefix'))

    result = fetch(moto_s3, 's3://%s/captures?region=us-east-1' % bucket, tmp_path)

    files = saved(result)
    assert sorted(files) == sorted(layout)
    for key, body in layout.items():
        local = str(tmp_path.joinpath(*key.split('/')[1:]))
        assert files[key]['dest'] == local and files[key]['sha256'] == sha256(body)
        with open(local, 'rb') as handle:
            assert handle.read() == body
    assert stat.S_IMODE(os.stat(str(tmp_path / 'srv1')).st_mode) == 0o700
    assert not os.path.exists(str(tmp_path / 'srv1' / ('pcap_%s.pcap' % OTHER_ID)))


def test_a_listing_of_many_pages_finds_every_file(moto_s3, tmp_path):
    bucket = moto_s3.new_bucket()
    keys = ['dir/pcap_%s_%02d.pcap' % (CAPTURE_ID, number) for number in range(7)]
    for number, key in enumerate(keys):
        moto_s3.put(bucket, key, content('file %d' % number, 100))
        moto_s3.put(bucket, 'dir/pcap_%s_%02d.pcap' % (OTHER_ID, number), b'x')

    result = fetch(moto_s3, 's3://%s/dir/?region=us-east-1' % bucket, tmp_path, page_size=2)

    assert sorted(saved(result)) == keys


def test_an_r2_uri_reads_with_its_own_keys(moto_s3, tmp_path):
    bucket = moto_s3.new_bucket()
    moto_s3.put(bucket, 'pcap_%s.pcap' % CAPTURE_ID, content('r2'))
    key_id, secret = moto_s3.user_allowed('s3:ListBucket', 's3:GetObject')
    uri = 'r2://%s?account-id=%s&access-key-id=%s&secret-access-key=%s' % (bucket, ACCOUNT_ID, key_id, secret)

    client = bucket_client(BucketLocation(uri, ACCOUNT_ID), endpoint_url=moto_s3.url)
    result = client.fetch_capture_files(CAPTURE_ID, str(tmp_path))

    assert [item['sha256'] for item in result['files']] == [sha256(content('r2'))]


def test_an_s3_uri_takes_credentials_and_endpoint_from_the_aws_environment(moto_s3, tmp_path, monkeypatch):
    bucket = moto_s3.new_bucket()
    moto_s3.put(bucket, 'eu/pcap_%s.pcap' % CAPTURE_ID, content('s3'))
    key_id, secret = moto_s3.user_allowed('s3:ListBucket', 's3:GetObject')
    monkeypatch.setenv('AWS_ACCESS_KEY_ID', key_id)
    monkeypatch.setenv('AWS_SECRET_ACCESS_KEY', secret)
    monkeypatch.setenv('AWS_ENDPOINT_URL', moto_s3.url)

    client = bucket_client(BucketLocation('s3://%s/eu?region=eu-central-1' % bucket, ACCOUNT_ID))
    result = client.fetch_capture_files(CAPTURE_ID, str(tmp_path))

    assert client.client.meta.region_name == 'eu-central-1'
    assert [item['key'] for item in result['files']] == ['eu/pcap_%s.pcap' % CAPTURE_ID]


def refusal(callable_, *args, **kwargs):
    with pytest.raises(BucketError) as raised:
        callable_(*args, **kwargs)
    return raised.value


def test_a_user_who_cannot_list_is_told_it_needs_list_bucket(moto_s3, tmp_path):
    bucket = moto_s3.new_bucket()
    moto_s3.put(bucket, 'pcap_%s.pcap' % CAPTURE_ID, content('x'))
    key_id, secret = moto_s3.user_allowed('s3:GetObject')
    uri = 'r2://%s/dir?access-key-id=%s&secret-access-key=%s' % (bucket, key_id, secret)

    error = refusal(bucket_client(BucketLocation(uri, ACCOUNT_ID), endpoint_url=moto_s3.url).fetch_capture_files,
                    CAPTURE_ID, str(tmp_path))

    assert str(error) == ("Listing the bucket failed for R2 bucket r2://%s/dir?********, prefix 'dir/': access denied "
                          "(HTTP 403 AccessDenied): the credentials need Object Read (s3:ListBucket)" % bucket)
    assert key_id not in repr(error) and secret not in repr(error)


def test_a_user_who_cannot_read_is_told_it_needs_get_object_and_nothing_is_left(moto_s3, tmp_path):
    bucket = moto_s3.new_bucket()
    moto_s3.put(bucket, 'pcap_%s.pcap' % CAPTURE_ID, content('x'))

    error = refusal(fetch, moto_s3, 's3://%s?region=us-east-1' % bucket, tmp_path, moto_s3.user_allowed('s3:ListBucket'))

    assert "access denied (HTTP 403 AccessDenied): the credentials need s3:GetObject" in str(error)
    assert str(error).startswith('1 of 1 files of capture %s could not be fetched' % CAPTURE_ID)
    assert os.listdir(str(tmp_path)) == []


def test_unknown_keys_are_refused_without_showing_them(moto_s3, tmp_path):
    bucket = moto_s3.new_bucket()
    error = refusal(fetch, moto_s3, 's3://%s?region=us-east-1' % bucket, tmp_path, ('AKIAUNKNOWN0000000', 'not-the-secret'))
    assert 'the access key is not accepted (InvalidAccessKeyId)' in str(error)
    assert 'AKIAUNKNOWN' not in str(error) and 'not-the-secret' not in str(error)


def test_no_file_of_the_capture_says_where_it_looked(moto_s3, tmp_path):
    bucket = moto_s3.new_bucket()
    moto_s3.put(bucket, 'dir/pcap_%s.pcap' % OTHER_ID, b'x')
    key_id, secret = moto_s3.admin['aws_access_key_id'], moto_s3.admin['aws_secret_access_key']
    uri = 'r2://%s/dir?account-id=%s&access-key-id=%s&secret-access-key=%s' % (bucket, ACCOUNT_ID, key_id, secret)

    error = refusal(fetch, moto_s3, uri, tmp_path)

    assert str(error) == ("No file of capture %s (a name containing pcap_%s) in R2 bucket r2://%s/dir?********, "
                          "prefix 'dir/', sub-folders included: 1 object(s) listed, none of them this capture's"
                          % (CAPTURE_ID, CAPTURE_ID, bucket))


def test_objects_gone_or_changed_after_the_listing_are_named_and_the_others_are_saved(moto_s3, tmp_path):
    bucket = moto_s3.new_bucket()
    keys = ['pcap_%s_%d.pcap' % (CAPTURE_ID, number) for number in range(3)]
    for key in keys:
        moto_s3.put(bucket, key, content(key))
    client = s3_client(moto_s3, 's3://%s?region=us-east-1' % bucket)
    listed = client.list_capture_objects(CAPTURE_ID)
    moto_s3.client('s3').delete_object(Bucket=bucket, Key=keys[0])
    moto_s3.put(bucket, keys[2], content('replaced'))

    error = refusal(client.fetch_objects, CAPTURE_ID, listed, str(tmp_path))

    where = "S3 bucket s3://%s?********, prefix ''" % bucket
    assert str(error) == ('2 of 3 files of capture %s could not be fetched (the others are saved): '
                          '%s: the object is gone from %s since it was listed; '
                          '%s: the object changed in %s since it was listed (its ETag differs)'
                          % (CAPTURE_ID, keys[0], where, keys[2], where))
    assert [(item['key'], item['sha256']) for item in error.files] == [(keys[1], sha256(content(keys[1])))]
    assert os.listdir(str(tmp_path)) == [keys[1]]


def test_a_second_run_fetches_nothing_and_reports_unchanged(moto_s3, tmp_path):
    bucket = moto_s3.new_bucket()
    moto_s3.put(bucket, 'd/pcap_%s.pcap' % CAPTURE_ID, content('again'))
    uri = 's3://%s/d?region=us-east-1' % bucket
    first = fetch(moto_s3, uri, tmp_path)
    before = os.stat(first['files'][0]['dest'])

    # A user who may only list: any download would be refused.
    second = fetch(moto_s3, uri, tmp_path, moto_s3.user_allowed('s3:ListBucket'))

    assert second == {'changed': False, 'files': [dict(first['files'][0], changed=False)]}
    assert os.stat(second['files'][0]['dest']).st_ino == before.st_ino


def test_a_file_whose_etag_is_no_md5_is_compared_by_content_and_kept(moto_s3, tmp_path):
    bucket, key = moto_s3.new_bucket(), 'pcap_%s.pcap' % CAPTURE_ID
    s3 = moto_s3.client('s3')
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key)['UploadId']
    part = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=1, Body=content('multi'))
    s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload,
                                 MultipartUpload={'Parts': [{'ETag': part['ETag'], 'PartNumber': 1}]})
    uri = 's3://%s?region=us-east-1' % bucket
    first = fetch(moto_s3, uri, tmp_path)
    inode = os.stat(first['files'][0]['dest']).st_ino

    second = fetch(moto_s3, uri, tmp_path)

    assert second['changed'] is False and second['files'][0]['sha256'] == sha256(content('multi'))
    assert os.stat(second['files'][0]['dest']).st_ino == inode


def test_a_local_file_of_the_same_size_but_other_content_is_replaced(moto_s3, tmp_path):
    bucket = moto_s3.new_bucket()
    moto_s3.put(bucket, 'pcap_%s.pcap' % CAPTURE_ID, content('right'))
    (tmp_path / ('pcap_%s.pcap' % CAPTURE_ID)).write_bytes(content('wrong'))

    result = fetch(moto_s3, 's3://%s?region=us-east-1' % bucket, tmp_path)

    assert result['changed'] is True
    assert (tmp_path / ('pcap_%s.pcap' % CAPTURE_ID)).read_bytes() == content('right')


def test_check_mode_lists_and_writes_nothing(moto_s3, tmp_path):
    bucket = moto_s3.new_bucket()
    moto_s3.put(bucket, 'sub/pcap_%s.pcap' % CAPTURE_ID, content('check'))

    result = fetch(moto_s3, 's3://%s?region=us-east-1' % bucket, tmp_path, check_mode=True)

    assert result == {'changed': True, 'files': [{'key': 'sub/pcap_%s.pcap' % CAPTURE_ID, 'dest': str(tmp_path / 'sub' / ('pcap_%s.pcap' % CAPTURE_ID)),
                                                  'size': len(content('check')), 'sha256': None, 'changed': True}]}
    assert os.listdir(str(tmp_path)) == []


def test_a_dest_that_is_no_directory_is_found_before_anything_is_listed(moto_s3, tmp_path):
    error = refusal(fetch, moto_s3, 's3://no-such-bucket?region=us-east-1', tmp_path / 'missing')
    assert str(error) == 'dest: %s is not a directory' % (tmp_path / 'missing')


def test_a_missing_bucket_is_named(moto_s3, tmp_path):
    error = refusal(fetch, moto_s3, 's3://no-such-bucket-here/dir?region=us-east-1', tmp_path)
    assert str(error) == ("Listing the bucket failed for S3 bucket s3://no-such-bucket-here/dir?********, prefix 'dir/': "
                          "the bucket does not exist (NoSuchBucket)")


def test_an_object_shorter_or_longer_than_listed_is_damaged_and_not_saved(moto_s3, tmp_path):
    bucket, key = moto_s3.new_bucket(), 'pcap_%s.pcap' % CAPTURE_ID
    moto_s3.put(bucket, key, content('short', 100))
    client = s3_client(moto_s3, 's3://%s?region=us-east-1' % bucket)
    # A listing that promised one byte more, and no ETag to hold the download to.
    damaged = dict(client.list_capture_objects(CAPTURE_ID)[0], size=101, etag=None)

    error = refusal(client.fetch_object, damaged, str(tmp_path))

    assert str(error) == '%s: 100 bytes read, 101 listed: the object is damaged or changed since the listing' % key
    assert os.listdir(str(tmp_path)) == []


def test_objects_are_fetched_side_by_side_and_a_damaged_one_is_named_while_the_others_are_saved(
        moto_s3, tmp_path, monkeypatch):
    bucket = moto_s3.new_bucket()
    keys = ['srv%d/pcap_%s.pcap' % (number, CAPTURE_ID) for number in range(2 * objects.FETCH_WORKERS)]
    for key in keys:
        moto_s3.put(bucket, key, content(key))
    client = s3_client(moto_s3, 's3://%s?region=us-east-1' % bucket)
    listed = client.list_capture_objects(CAPTURE_ID)
    # The third object's listing promised a byte more than it holds (and no ETag to hold the download to).
    listed[2] = dict(listed[2], size=listed[2]['size'] + 1, etag=None)
    # Each fetch waits until FETCH_WORKERS of them run at once: fetched one after the other, none would go on.
    together = threading.Barrier(objects.FETCH_WORKERS, timeout=30)
    fetch_object = objects.BucketClient.fetch_object

    def fetch_alongside_the_others(self, item, dest_dir, check_mode=False):
        together.wait()
        return fetch_object(self, item, dest_dir, check_mode)
    monkeypatch.setattr(objects.BucketClient, 'fetch_object', fetch_alongside_the_others)

    error = refusal(client.fetch_objects, CAPTURE_ID, listed, str(tmp_path))

    assert str(error) == ('1 of %d files of capture %s could not be fetched (the others are saved): %s: 3000 bytes '
                          'read, 3001 listed: the object is damaged or changed since the listing'
                          % (len(keys), CAPTURE_ID, keys[2]))
    others = keys[:2] + keys[3:]
    assert [(item['key'], item['sha256'], item['changed']) for item in error.files] == [
        (key, sha256(content(key)), True) for key in others]
    for key in others:
        path = tmp_path / key
        assert path.read_bytes() == content(key) and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert os.listdir(str(tmp_path / 'srv2')) == []  # nothing half-written
