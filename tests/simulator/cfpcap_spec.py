# -*- coding: utf-8 -*-
# Copyright: contributors to the cloudflare.pcap collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn the OpenAPI 3.0 contract into plain JSON Schema validators.

OpenAPI 3.0 schemas are almost JSON Schema: ``nullable`` has to become a ``null`` type, ``$ref`` pointers are
inlined here (the pcaps contract has no recursive schemas) so that any jsonschema 4.x release works without the
``referencing`` API, and annotations (``example``, ``x-*``) are dropped.
"""

import json

import jsonschema

# Schema keywords that only annotate; dropping them keeps the validator's error messages short.
_ANNOTATION_KEYWORDS = frozenset(('example', 'description', 'readOnly', 'nullable'))
# Keywords whose value maps property names to schemas: their keys are names, not keywords.
_NAME_MAP_KEYWORDS = frozenset(('properties', 'patternProperties', 'definitions'))
# The contract's refs are at most a few levels deep; a bound keeps a broken contract from looping forever.
_MAX_REF_DEPTH = 32

API_PREFIX = '/client/v4'


class SpecError(Exception):
    """The contract file does not have what the simulator needs."""


class OpenApiContract:
    """The parts of the OpenAPI document the simulator and its tests use."""

    def __init__(self, document):
        self.document = document
        self._validators = {}

    @classmethod
    def from_file(cls, path):
        with open(path, encoding='utf-8') as handle:
            return cls(json.load(handle))

    def operation(self, path_template, method):
        try:
            return self.document['paths'][path_template][method.lower()]
        except KeyError:
            raise SpecError('the contract has no operation %s %s' % (method.upper(), path_template)) from None

    def operations(self):
        """Yield (path_template, method, operation) for every operation of the contract."""
        for path_template, path_item in sorted(self.document.get('paths', {}).items()):
            for method, operation in sorted(path_item.items()):
                if isinstance(operation, dict) and 'operationId' in operation:
                    yield path_template, method.upper(), operation

    def request_validator(self, path_template, method):
        """A validator for the JSON request body of an operation, or None when it takes no body."""
        key = ('request', path_template, method.upper())
        if key not in self._validators:
            operation = self.operation(path_template, method)
            schema = operation.get('requestBody', {}).get('content', {}).get('application/json', {}).get('schema')
            self._validators[key] = self._make_validator(schema) if schema is not None else None
        return self._validators[key]

    def response_validator(self, path_template, method, status):
        """A validator for a JSON response body, using the `default` response when the status is not listed."""
        operation = self.operation(path_template, method)
        responses = operation.get('responses', {})
        response_key = str(status) if str(status) in responses else 'default'
        key = ('response', path_template, method.upper(), response_key)
        if key not in self._validators:
            schema = responses.get(response_key, {}).get('content', {}).get('application/json', {}).get('schema')
            self._validators[key] = self._make_validator(schema) if schema is not None else None
        return self._validators[key]

    def component_validator(self, name):
        key = ('component', name)
        if key not in self._validators:
            self._validators[key] = self._make_validator({'$ref': '#/components/schemas/' + name})
        return self._validators[key]

    def _make_validator(self, openapi_schema):
        schema = self.to_json_schema(openapi_schema)
        jsonschema.Draft7Validator.check_schema(schema)
        return jsonschema.Draft7Validator(schema)

    def to_json_schema(self, openapi_schema, depth=0):
        """Return a JSON Schema (draft 7) equivalent of an OpenAPI 3.0 schema object."""
        if depth > _MAX_REF_DEPTH:
            raise SpecError('$ref chain deeper than %d levels' % _MAX_REF_DEPTH)
        if isinstance(openapi_schema, list):
            return [self.to_json_schema(item, depth) for item in openapi_schema]
        if not isinstance(openapi_schema, dict):
            return openapi_schema
        if '$ref' in openapi_schema:
            return self.to_json_schema(self._resolve(openapi_schema['$ref']), depth + 1)

        converted = {}
        for keyword, value in openapi_schema.items():
            if keyword in _ANNOTATION_KEYWORDS or keyword.startswith('x-'):
                continue
            if keyword in _NAME_MAP_KEYWORDS and isinstance(value, dict):
                converted[keyword] = dict((name, self.to_json_schema(sub, depth)) for name, sub in value.items())
            else:
                converted[keyword] = self.to_json_schema(value, depth)

        if openapi_schema.get('nullable') is True:
            converted = _allow_null(converted)
        return converted

    def _resolve(self, pointer):
        if not pointer.startswith('#/'):
            raise SpecError('only local $ref pointers are supported, not %r' % pointer)
        node = self.document
        for part in pointer[2:].split('/'):
            part = part.replace('~1', '/').replace('~0', '~')
            if not isinstance(node, dict) or part not in node:
                raise SpecError('unresolvable $ref %r' % pointer)
            node = node[part]
        return node


def _allow_null(schema):
    schema_type = schema.get('type')
    if isinstance(schema_type, str):
        schema = dict(schema, type=[schema_type, 'null'])
        if 'enum' in schema and None not in schema['enum']:
            schema['enum'] = list(schema['enum']) + [None]
        return schema
    return {'anyOf': [schema, {'type': 'null'}]}


def error_path(error):
    """The JSON path of a validation error as a dotted string ('filter_v1.destination_port')."""
    parts = []
    for part in error.absolute_path:
        if isinstance(part, int):
            parts.append('[%d]' % part)
        else:
            parts.append(('.' if parts else '') + str(part))
    return ''.join(parts)


def describe_error(error):
    """A message that names the field: '<path>: <jsonschema message>', or the bare message at the root."""
    path = error_path(error)
    return '%s: %s' % (path, error.message) if path else error.message


def first_error(validator, instance):
    """The most relevant validation error (deterministic), or None when the instance is valid."""
    errors = list(validator.iter_errors(instance))
    if not errors:
        return None
    return jsonschema.exceptions.best_match(errors)
