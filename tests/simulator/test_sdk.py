# -*- coding: utf-8 -*-
# Copyright: contributors to the cloudflare.pcap collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cloudflare's official Python SDK (cloudflare 5.9.0, tests/requirements.txt) as an independent witness.

Its models are generated from Cloudflare's current OpenAPI spec, newer than the vendored contract. Every object the
simulator returns must parse into the SDK's model for its operation and carry no field that model lacks; and the
SDK, as a second client, runs every operation against the simulator.
"""

import datetime
import struct

import cloudflare
import pydantic
import pytest
from cloudflare.types.magic_transit import PCAP, pcap_create_response, pcap_get_response, pcap_list_response
from cloudflare.types.magic_transit.pcap_filter import PCAPFilter
from cloudflare.types.magic_transit.pcaps import Ownership

from conftest import ACCOUNT, FULL_DESTINATION, TOKEN
from simscenario import CAPTURE, OWNERSHIP, PCAPS, R2_BUCKET, R2_WITH_KEYS, VALIDATE, run_every_operation

# The model of each operation's objects: the union the SDK declares, and the member for each capture type.
CAPTURE_MODELS = {
    ('POST', PCAPS): (pcap_create_response.PCAPCreateResponse, pcap_create_response.MagicVisibilityPCAPsPCAPsResponseFull),
    ('GET', PCAPS): (pcap_list_response.PCAPListResponse, pcap_list_response.MagicVisibilityPCAPsPCAPsResponseFull),
    ('GET', CAPTURE): (pcap_get_response.PCAPGetResponse, pcap_get_response.MagicVisibilityPCAPsPCAPsResponseFull),
}
OWNERSHIP_OPERATIONS = {('GET', OWNERSHIP), ('POST', OWNERSHIP), ('POST', VALIDATE)}


def assert_fits(model, item):
    """item parses into model (validated, not merely constructed) and has no key the model lacks."""
    model.model_validate(item)
    assert set(item) <= set(model.model_fields), (model.__name__, sorted(set(item) - set(model.model_fields)))
    if isinstance(item.get('filter_v1'), dict):
        assert set(item['filter_v1']) <= set(PCAPFilter.model_fields), item['filter_v1']


def test_every_object_fits_the_sdk_models(sim):
    checked = 0
    for answer in run_every_operation(sim):
        reply = answer.reply
        if reply.status >= 300 or reply.header('Content-Type') != 'application/json':
            continue
        result = reply.json['result']
        items = result if isinstance(result, list) else [result]
        operation = (answer.method, answer.template)
        for item in items:
            if operation in OWNERSHIP_OPERATIONS:
                assert_fits(Ownership, item)
            else:
                union, full_model = CAPTURE_MODELS[operation]
                pydantic.TypeAdapter(union).validate_python(item)
                assert_fits(PCAP if item['type'] == 'simple' else full_model, item)
            checked += 1
    assert checked >= 20


def test_sdk_models_refuse_what_the_simulator_must_not_send():
    """The comparison above is not vacuous: the models' field sets lack packet_limit, and PCAP lacks error_message."""
    assert 'packet_limit' not in PCAP.model_fields
    assert 'error_message' not in PCAP.model_fields
    assert 'packet_limit' not in pcap_get_response.MagicVisibilityPCAPsPCAPsResponseFull.model_fields
    with pytest.raises(pydantic.ValidationError):
        PCAP.model_validate({'status': 'finished'})
    with pytest.raises(pydantic.ValidationError):
        Ownership.model_validate({'id': 'x', 'status': 'success'})


@pytest.fixture
def client(sim):
    sdk = cloudflare.Cloudflare(api_token=TOKEN, base_url='http://127.0.0.1:%d/client/v4' % sim.port, max_retries=0)
    yield sdk
    sdk.close()


def no_extra(model):
    assert not model.model_extra, (type(model).__name__, model.model_extra)
    return model


def test_sdk_runs_every_operation(sim, client):
    pcaps = client.magic_transit.pcaps
    # Buckets: add (the answer drops the R2 keys), list, validate (pending, then success), delete.
    bucket = no_extra(pcaps.ownership.create(account_id=ACCOUNT, destination_conf=R2_WITH_KEYS))
    assert isinstance(bucket, Ownership) and bucket.status == 'pending' and bucket.destination_conf == R2_BUCKET
    listed = [no_extra(item) for item in pcaps.ownership.get(account_id=ACCOUNT)]
    assert [item.id for item in listed] == [bucket.id]
    challenge = [item for item in sim.admin('GET', 'buckets') if item['id'] == bucket.id][0]['challenge']
    with pytest.raises(cloudflare.BadRequestError):
        pcaps.ownership.validate(account_id=ACCOUNT, destination_conf=R2_WITH_KEYS, ownership_challenge=challenge)
    pending = no_extra(pcaps.ownership.validate(account_id=ACCOUNT, destination_conf=R2_BUCKET,
                                                ownership_challenge=challenge))
    assert pending.status == 'pending' and pending.validated is None
    sim.advance(300)
    assert [item.status for item in pcaps.ownership.get(account_id=ACCOUNT)] == ['success']

    # Captures: create both types, get, list, stop, download.
    now = datetime.datetime.fromtimestamp(sim.admin('GET', 'clock')['epoch'], datetime.timezone.utc)
    simple = no_extra(pcaps.create(account_id=ACCOUNT, type='simple', system='magic-transit', time_limit=10,
                                   packet_limit=25, offset_time=now - datetime.timedelta(minutes=5),
                                   filter_v1={'protocol': 17, 'destination_port': 53}))
    assert simple.type == 'simple' and simple.status == 'pending'
    assert abs((simple.offset_time - (now - datetime.timedelta(minutes=5))).total_seconds()) < 1
    with pytest.raises(cloudflare.BadRequestError):
        pcaps.create(account_id=ACCOUNT, type='full', system='magic-transit', time_limit=60, colo_name='ord02',
                     destination_conf=FULL_DESTINATION)  # never validated
    full = no_extra(pcaps.create(account_id=ACCOUNT, type='full', system='magic-transit', time_limit=600,
                                 colo_name='ord02', destination_conf=R2_WITH_KEYS, byte_limit=100000))
    assert full.type == 'full' and full.destination_conf == R2_BUCKET and full.packets_captured == 0
    sim.advance(5)
    got = no_extra(pcaps.get(full.id, account_id=ACCOUNT))
    assert got.status == 'running' and got.packets_captured > 0
    assert [no_extra(item).id for item in pcaps.list(account_id=ACCOUNT)] == [full.id, simple.id]
    assert pcaps.stop(full.id, account_id=ACCOUNT) is None
    stopped = pcaps.get(full.id, account_id=ACCOUNT)
    assert stopped.stop_requested is not None
    with pytest.raises(cloudflare.BadRequestError):
        pcaps.stop(simple.id, account_id=ACCOUNT)
    with pytest.raises(cloudflare.NotFoundError):
        pcaps.get('d' * 32, account_id=ACCOUNT)
    with pytest.raises(cloudflare.ConflictError):
        pcaps.download.get(simple.id, account_id=ACCOUNT)
    sim.advance(30)
    assert pcaps.get(simple.id, account_id=ACCOUNT).status == 'success'
    data = pcaps.download.get(simple.id, account_id=ACCOUNT).read()
    assert struct.unpack('<I', data[:4])[0] == 0xa1b2c3d4 and struct.unpack('<I', data[16:20])[0] == 160
    assert len(data) > 24

    assert pcaps.ownership.delete(bucket.id, account_id=ACCOUNT) is None
    with pytest.raises(cloudflare.NotFoundError):
        pcaps.ownership.delete(bucket.id, account_id=ACCOUNT)
    assert list(pcaps.ownership.get(account_id=ACCOUNT)) == []


def test_sdk_sees_the_rate_limit_block(sim, client):
    sim.admin('POST', 'config', {'rate_limit': 1, 'rate_limit_window': 60, 'lockout_seconds': 120})
    page = client.magic_transit.pcaps.with_raw_response.list(account_id=ACCOUNT)
    assert page.headers['Ratelimit'] == '"default";r=0;t=60'
    assert page.headers['Ratelimit-Policy'] == '"default";q=1;w=60'
    with pytest.raises(cloudflare.RateLimitError) as raised:
        client.magic_transit.pcaps.list(account_id=ACCOUNT)
    assert raised.value.response.headers['Retry-After'] == '120'
    assert raised.value.response.headers['Ratelimit'] == '"default";r=0;t=120'
