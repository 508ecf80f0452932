# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The embedded schemas are exactly what the generator makes from the vendored OpenAPI contract."""

from __future__ import annotations

import hashlib
import importlib.util
import os

from ansible_collections.cloudflare.pcap.plugins.module_utils import _schema

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))
SPEC = os.path.join(ROOT, 'docs', 'openapi', 'pcaps.openapi.json')


def load_generator():
    spec = importlib.util.spec_from_file_location('generate_schema', os.path.join(ROOT, 'tests', 'tools', 'generate_schema.py'))
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    return generator


def read(path):
    with open(path, encoding='utf-8') as handle:
        return handle.read()


def test_embedded_schema_module_is_generated_from_the_vendored_spec():
    expected = load_generator().generate_source(read(SPEC))
    assert read(os.path.join(ROOT, 'plugins', 'module_utils', '_schema.py')) == expected, \
        'plugins/module_utils/_schema.py is stale: run python tests/tools/generate_schema.py'


def test_spec_digest_matches():
    with open(SPEC, 'rb') as handle:
        assert _schema.SPEC_SHA256 == hashlib.sha256(handle.read()).hexdigest()


def test_request_schema_keeps_the_spec_bounds():
    simple, full = _schema.CAPTURE_REQUEST_SCHEMA['anyOf']
    assert simple['properties']['time_limit']['maximum'] == 300
    assert full['properties']['time_limit']['maximum'] == 86400
    assert set(full['required']) == {'time_limit', 'type', 'system', 'colo_name', 'destination_conf'}
