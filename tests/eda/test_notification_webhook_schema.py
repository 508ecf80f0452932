# Copyright: contributors to the cloudflare.pcap collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The event source's argument schema (schemas/notification_webhook.json, as ansible.eda's sources ship one) says
what the source reads: the same options, the same defaults, the same required ones as its code and DOCUMENTATION."""

import json
import os
import re
import runpy

import jsonschema
import yaml

from conftest import ACCOUNT, REPO_ROOT

SOURCE = os.path.join(REPO_ROOT, 'extensions', 'eda', 'plugins', 'event_source', 'notification_webhook.py')
SCHEMA = os.path.join(os.path.dirname(SOURCE), 'schemas', 'notification_webhook.json')
TYPES = {'str': 'string', 'int': 'integer', 'list': 'array'}


class RecordingArguments(dict):
    """The source's arguments, noting every name the source asks for."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.read = set()

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self.read.add(key)
        return super().__contains__(key)


def load_schema():
    with open(SCHEMA, encoding='utf-8') as handle:
        return json.load(handle)


def load_source_text():
    with open(SOURCE, encoding='utf-8') as handle:
        return handle.read()


def test_the_schema_is_draft_2020_12_and_every_option_is_described():
    schema = load_schema()
    assert schema['$schema'] == 'https://json-schema.org/draft/2020-12/schema'
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema['type'] == 'object' and schema['additionalProperties'] is False
    for name, option in schema['properties'].items():
        assert option['title'] and option['description'] and option['type'], name


def test_the_schema_has_exactly_the_options_the_source_reads():
    schema, source, text = load_schema(), runpy.run_path(SOURCE), load_source_text()
    arguments = RecordingArguments(secret='s3cret', port=5000, account_id=ACCOUNT)
    source['settings'](arguments)
    source['ssl_context'](arguments)
    # main() reads the address and port when it binds; those reads are found in the text.
    read = arguments.read | set(re.findall(r"args(?:\.get\(|\[)'([a-z_]+)'", text))
    assert set(schema['properties']) == read
    documented = yaml.safe_load(source['DOCUMENTATION'])['options']
    assert set(schema['properties']) == set(documented)


def test_the_schema_has_the_source_defaults_types_and_required_options():
    schema, source = load_schema(), runpy.run_path(SOURCE)
    documented = yaml.safe_load(source['DOCUMENTATION'])['options']
    assert sorted(schema['required']) == sorted(name for name, option in documented.items() if option.get('required'))
    for name, option in documented.items():
        prop = schema['properties'][name]
        assert prop.get('default') == option.get('default'), name
        assert TYPES[option['type']] in (prop['type'] if isinstance(prop['type'], list) else [prop['type']]), name
    # The defaults the code applies when an option is left out are the schema's.
    settings = source['settings']({'secret': 's3cret', 'port': 5000, 'account_id': ACCOUNT})
    for name in ('replay_window', 'max_queued_events', 'trusted_proxies', 'client_address_header'):
        assert settings[name] == schema['properties'][name]['default'], name
    assert re.search(r"args\.get\('host'\) or '%s'" % re.escape(schema['properties']['host']['default']),
                     load_source_text())


def test_the_schema_accepts_what_the_rulebooks_pass_and_refuses_unknown_options():
    schema = load_schema()
    validator = jsonschema.Draft202012Validator(schema)
    assert not list(validator.iter_errors({'port': '5000', 'secret': 's', 'account_id': ACCOUNT, 'host': '127.0.0.1',
                                           'replay_window': '300', 'trusted_proxies': [], 'max_queued_events': 1000,
                                           'client_address_header': 'X-Forwarded-For', 'certfile': '', 'keyfile': ''}))
    assert list(validator.iter_errors({'port': 5000, 'secret': 's', 'account_id': ACCOUNT, 'token': 'x'}))
    assert list(validator.iter_errors({'port': 5000, 'secret': 's'}))
