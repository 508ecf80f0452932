# -*- coding: utf-8 -*-
# Copyright: contributors to the cloudflare.pcap collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every answer of a scenario that calls every operation, held to the contract's response schemas made strict.

The contract's object schemas leave additionalProperties open, so an answer with a field the schema lacks (say
packet_limit on a capture) would pass them. Here every object schema that lists its properties is closed
(additionalProperties: false), after merging each allOf of objects into one object (otherwise each allOf branch
would refuse the other branches' properties). Open, property-less schemas ({"type": "object"}) stay open.
"""

import jsonschema
import pytest

from simscenario import (CAPTURE, DOWNLOAD, OWNERSHIP, OWNERSHIP_ITEM, PCAPS, STOP, VALIDATE,
                         run_every_operation)

FAILURE = 'magic-visibility-pcaps_api-response-common-failure'
COMPONENTS = {
    'simple': 'magic-visibility-pcaps_pcaps_response_simple',
    'full': 'magic-visibility-pcaps_pcaps_response_full',
    'bucket': 'magic-visibility-pcaps_pcaps_ownership_response',
}


def _merge_object_branches(branches):
    merged = {'type': 'object', 'properties': {}}
    required = []
    for branch in branches:
        for name, schema in branch.get('properties', {}).items():
            if name in merged['properties']:
                merged['properties'][name] = {'allOf': [merged['properties'][name], schema]}
            else:
                merged['properties'][name] = schema
        required.extend(name for name in branch.get('required', ()) if name not in required)
    if required:
        merged['required'] = required
    return merged


def _is_object_schema(schema):
    return isinstance(schema, dict) and ('properties' in schema or 'allOf' in schema) and \
        schema.get('type', 'object') == 'object'


def strict(schema):
    """The JSON Schema with allOf-of-objects merged and every object that lists properties closed."""
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    schema = dict(schema)
    if 'allOf' in schema and all(_is_object_schema(branch) for branch in schema['allOf']):
        branches = [strict(branch) for branch in schema.pop('allOf')]
        own = dict((key, value) for key, value in schema.items() if key in ('properties', 'required'))
        merged = _merge_object_branches(branches + [own])
        schema = dict((key, value) for key, value in schema.items() if key not in ('properties', 'required', 'type'))
        schema.update(merged)
    result = {}
    for keyword, value in schema.items():
        if keyword == 'properties':
            result[keyword] = dict((name, strict(sub)) for name, sub in value.items())
        else:
            result[keyword] = strict(value)
    if 'properties' in result:
        result['additionalProperties'] = False
    return result


class StrictContract:
    def __init__(self, contract):
        self.contract = contract
        self._validators = {}

    def _validator(self, key, openapi_schema):
        if key not in self._validators:
            schema = strict(self.contract.to_json_schema(openapi_schema))
            jsonschema.Draft7Validator.check_schema(schema)
            self._validators[key] = jsonschema.Draft7Validator(schema)
        return self._validators[key]

    def response(self, template, method, status):
        """The strict validator of an operation's JSON answer, or None when the contract gives it no schema."""
        responses = self.contract.operation(template, method)['responses']
        key = str(status) if str(status) in responses else 'default'
        schema = responses[key].get('content', {}).get('application/json', {}).get('schema')
        return None if schema is None else self._validator((template, method, key), schema)

    def component(self, name):
        return self._validator(name, {'$ref': '#/components/schemas/' + name})


@pytest.fixture(scope='module')
def strict_contract(contract):
    return StrictContract(contract)


def errors_of(validator, document):
    return [error.message for error in validator.iter_errors(document)]


def test_strict_schemas_refuse_extra_fields(strict_contract):
    """The strict schemas are not vacuous: each refuses one field more than its object has."""
    simple = {'id': 'a' * 32, 'status': 'success', 'type': 'simple', 'system': 'magic-transit', 'time_limit': 10}
    envelope = {'success': True, 'errors': [], 'messages': [], 'result': simple}
    create = strict_contract.response(PCAPS, 'POST', 200)
    assert errors_of(create, envelope) == []
    assert errors_of(create, dict(envelope, result=dict(simple, packet_limit=10)))
    assert errors_of(create, dict(envelope, extra=1))
    assert errors_of(create, dict(envelope, result=dict(simple, filter_v1={'vlan': 1})))
    assert errors_of(strict_contract.component(COMPONENTS['simple']), dict(simple, error_message='x'))
    assert errors_of(strict_contract.component(COMPONENTS['full']), dict(simple, type='full', packet_limit=1))
    bucket = {'id': 'b' * 32, 'status': 'pending', 'submitted': '2026-01-01T00:00:00Z', 'destination_conf': 'gs://b',
              'filename': 'f.txt'}
    listing = {'success': True, 'errors': [], 'messages': [], 'result': [bucket],
               'result_info': {'count': 1, 'page': 1, 'per_page': 1, 'total_count': 1}}
    assert errors_of(strict_contract.response(OWNERSHIP, 'GET', 200), listing) == []
    assert errors_of(strict_contract.response(OWNERSHIP, 'GET', 200), dict(listing, result=[dict(bucket, x=1)]))
    failure = {'success': False, 'errors': [{'code': 1000, 'message': 'm'}], 'messages': [], 'result': None}
    assert errors_of(strict_contract.component(FAILURE), failure) == []
    assert errors_of(strict_contract.component(FAILURE), dict(failure, result_info={}))


def test_every_answer_fits_the_strict_response_schemas(sim, strict_contract):
    answers = run_every_operation(sim)
    covered = set()
    for answer in answers:
        reply = answer.reply
        covered.add((answer.method, answer.template, reply.status < 400))
        if reply.status == 204:
            assert reply.body == b'', answer
            continue
        if answer.template == DOWNLOAD and reply.status == 200:
            assert reply.header('Content-Type') == 'application/vnd.tcpdump.pcap', answer
            continue
        assert reply.header('Content-Type') == 'application/json', answer
        document = reply.json
        validator = strict_contract.response(answer.template, answer.method, reply.status)
        if validator is None or reply.status >= 400:
            # Failures: the common failure envelope (download's failure has no schema in the contract).
            validator = strict_contract.component(FAILURE)
        assert errors_of(validator, document) == [], (answer, document)
        # Objects by their own type: a simple capture must not pass as a full one.
        result = document['result']
        items = result if isinstance(result, list) else [result] if isinstance(result, dict) else []
        for item in items:
            name = COMPONENTS['bucket'] if answer.template.startswith(OWNERSHIP) else COMPONENTS[item['type']]
            assert errors_of(strict_contract.component(name), item) == [], (answer, item)
    expected = {
        ('GET', PCAPS, True), ('GET', PCAPS, False), ('POST', PCAPS, True), ('POST', PCAPS, False),
        ('GET', CAPTURE, True), ('GET', CAPTURE, False), ('GET', DOWNLOAD, True), ('GET', DOWNLOAD, False),
        ('PUT', STOP, True), ('PUT', STOP, False), ('GET', OWNERSHIP, True), ('GET', OWNERSHIP, False),
        ('POST', OWNERSHIP, True), ('POST', OWNERSHIP, False), ('POST', VALIDATE, True), ('POST', VALIDATE, False),
        ('DELETE', OWNERSHIP_ITEM, True), ('DELETE', OWNERSHIP_ITEM, False),
    }
    assert expected <= covered, expected - covered
    statuses = set(answer.reply.status for answer in answers)
    assert {200, 204, 400, 403, 404, 409, 429} <= statuses


def test_the_scenario_exercises_the_switches(sim):
    """The scenario's answers show the behaviours it is meant to cover, so the schema test covers them too."""
    answers = dict((answer.label, answer.reply) for answer in run_every_operation(sim))
    assert answers['create simple'].json['result']['filter_v1'] == {
        'source_address': '2001:db8::1', 'destination_port': 443, 'protocol': 6}
    assert answers['add bucket with R2 keys'].json['result']['destination_conf'].find('secret') == -1
    assert answers['validate'].json['result']['status'] == 'pending'
    assert answers['get failed full'].json['result']['error_message']
    assert 'error_message' not in answers['get failed simple'].json['result']
    assert answers['create simple, Cloudflare form, at once'].json['result']['status'] == 'success'
    assert answers['get unknown status'].json['result']['status'] == 'unknown'
    assert answers['over the rate limit'].header('Retry-After') == '300'
    assert answers['during the block'].status == 429
    assert answers['other account during the block'].status == 200
