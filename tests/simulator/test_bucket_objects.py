# -*- coding: utf-8 -*-
# Copyright: contributors to the cloudflare.pcap collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A finished full capture's files, written by the simulator into its bucket over the S3 API (cfpcap_objects.py),
read back from moto's S3 server on loopback (tests/unit/moto_server.py, IAM enforced).

The session simulator's clock is frozen (conftest `sim`); time moves only with /__sim/clock.
"""

import importlib.util
import os
import uuid

import pytest

from conftest import ACCOUNT, full_body, parse_pcap_records

MOTO_SERVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'unit', 'moto_server.py')
# full_body(): time_limit 60; the default config: 1 s pending, 2 x 1 s conversion.
PAST_THE_END = 70


def load_moto_server():
    spec = importlib.util.spec_from_file_location('moto_server', MOTO_SERVER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def moto_s3():
    with load_moto_server().MotoServer() as server:
        yield server


@pytest.fixture
def bucket(moto_s3):
    return moto_s3.new_bucket()


def write_to(sim, moto_s3, **switches):
    config = dict(bucket_endpoint=moto_s3.url, bucket_credentials={
        'access_key_id': moto_s3.admin['aws_access_key_id'], 'secret_access_key': moto_s3.admin['aws_secret_access_key']})
    config.update(switches)
    sim.admin('POST', 'config', config)


def finished_capture(sim, destination_conf):
    sim.seed_bucket(destination_conf)
    capture = sim.create(full_body(destination_conf=destination_conf))
    sim.advance(PAST_THE_END)
    return sim.api('GET', '/' + capture['id']).json['result']


def objects(moto_s3, bucket):
    listing = moto_s3.client('s3').list_objects_v2(Bucket=bucket).get('Contents', [])
    return dict((item['Key'], moto_s3.client('s3').get_object(Bucket=bucket, Key=item['Key'])['Body'].read()) for item in listing)


def internal(sim, capture_id):
    return [capture for capture in sim.admin('GET', 'captures') if capture['id'] == capture_id][0]


def test_without_an_endpoint_nothing_is_written(sim, moto_s3, bucket):
    capture = finished_capture(sim, 's3://%s?region=us-east-1' % bucket)
    assert capture['status'] == 'complete'
    assert objects(moto_s3, bucket) == {}
    assert internal(sim, capture['id'])['bucket_objects'] is None


def test_one_file_at_the_top_level_holds_every_byte_of_its_packets(sim, moto_s3, bucket):
    write_to(sim, moto_s3)
    capture = finished_capture(sim, 's3://%s/captures/ord02?region=us-east-1' % bucket)

    written = objects(moto_s3, bucket)

    key = 'captures/ord02/pcap_%s.pcap' % capture['id']
    assert sorted(written) == [key]
    records = parse_pcap_records(written[key], 65535)
    # 60 s at 50 packets a second, capped by download_packets (100).
    assert len(records) == 100 and all(len(frame) == original for frame, original in records)
    assert internal(sim, capture['id'])['bucket_objects'] == [key]


def test_nothing_is_written_before_the_capture_finishes(sim, moto_s3, bucket):
    write_to(sim, moto_s3)
    destination_conf = 's3://%s?region=us-east-1' % bucket
    sim.seed_bucket(destination_conf)
    capture = sim.create(full_body(destination_conf=destination_conf))
    sim.advance(30)

    assert sim.api('GET', '/' + capture['id']).json['result']['status'] == 'running'
    assert objects(moto_s3, bucket) == {}


def test_several_files_at_the_top_level_are_numbered(sim, moto_s3, bucket):
    write_to(sim, moto_s3, bucket_files=3)
    capture = finished_capture(sim, 's3://%s?region=us-east-1' % bucket)

    written = objects(moto_s3, bucket)

    assert sorted(written) == ['pcap_%s_%d.pcap' % (capture['id'], number) for number in (1, 2, 3)]
    assert sorted(len(parse_pcap_records(body, 65535)) for body in written.values()) == [33, 33, 34]
    assert len(set(written.values())) == 3


def test_sub_folders_hold_files_of_the_same_name_and_a_foreign_capture_sits_beside_them(sim, moto_s3, bucket):
    write_to(sim, moto_s3, bucket_layout='sub_folders', bucket_files=2, bucket_foreign_file=True)
    # A listing through a client, not the admin view, makes the simulator write the files.
    destination_conf = 's3://%s/dir?region=us-east-1' % bucket
    sim.seed_bucket(destination_conf)
    capture = sim.create(full_body(destination_conf=destination_conf))
    sim.advance(PAST_THE_END)
    assert [item['status'] for item in sim.api('GET').json['result']] == ['complete']

    keys = sorted(objects(moto_s3, bucket))

    ours = ['dir/srv1/pcap_%s.pcap' % capture['id'], 'dir/srv2/pcap_%s.pcap' % capture['id']]
    foreign = [key for key in keys if key not in ours]
    assert sorted(set(keys) - set(foreign)) == ours
    assert len(foreign) == 1 and foreign[0].startswith('dir/srv1/pcap_') and capture['id'] not in foreign[0]


def test_an_r2_bucket_is_written_with_the_keys_of_its_uri(sim, moto_s3, bucket):
    write_to(sim, moto_s3, bucket_credentials=None)
    key_id, secret = moto_s3.user_allowed('s3:PutObject')
    destination_conf = 'r2://%s?account-id=%s&access-key-id=%s&secret-access-key=%s' % (bucket, ACCOUNT, key_id, secret)

    capture = finished_capture(sim, destination_conf)

    assert capture['destination_conf'] == 'r2://%s?account-id=%s' % (bucket, ACCOUNT)
    assert sorted(objects(moto_s3, bucket)) == ['pcap_%s.pcap' % capture['id']]


def test_a_bucket_that_refuses_the_write_is_reported_in_the_admin_view(sim, moto_s3):
    write_to(sim, moto_s3)
    capture = finished_capture(sim, 's3://missing-%s?region=us-east-1' % uuid.uuid4().hex[:8])

    assert capture['status'] == 'complete'
    view = internal(sim, capture['id'])
    assert view['bucket_objects'] == [] and 'NoSuchBucket' in view['bucket_error']


@pytest.mark.parametrize('switch', [
    {'bucket_endpoint': 'ftp://127.0.0.1'}, {'bucket_layout': 'nested'}, {'bucket_files': 0},
    {'bucket_credentials': {'access_key_id': 'only'}}, {'bucket_foreign_file': 'yes'},
])
def test_bad_bucket_switches_are_refused(sim, switch):
    reply = sim.request('POST', '/__sim/config', body=switch, auth=None)
    assert reply.status == 400 and reply.json['ok'] is False
