# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Imports run downwards only: modules -> resources -> shared forms -> the API client (CONTRIBUTING.md, "The layers").

A layer may import from its own layer's package and from the layers below it, never from above and never from a
sibling resource: a resource that needs another resource's code is a sign that code belongs in a lower layer."""

from __future__ import annotations

import ast
import os

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
PACKAGE = 'ansible_collections.cloudflare.pcap.'

# Every file of plugins/ is in exactly one layer; the number is its height (higher layers import lower ones).
RESOURCES = ('plugins.module_utils._captures', 'plugins.module_utils._buckets', 'plugins.module_utils._pcap')
LAYERS = (
    (0, ('plugins.module_utils._api',)),
    (1, ('plugins.module_utils._validation', 'plugins.module_utils._schema')),
    (1, ('plugins.module_utils._atomic_file',)),
    (2, ('plugins.module_utils._normalise',)),
    (3, RESOURCES),
    # Workflows tie resources together, each on its own: a full capture's download needs the capture, its bucket and
    # the pcap files; the custody record ties what they produce (files, bucket copies). They may use the resources,
    # the resources never use them, and they stay below the module helper that every module uses.
    (4, ('plugins.module_utils._full_capture', 'plugins.module_utils._evidence')),
    (5, ('plugins.module_utils._module',)),
    (6, ('plugins.modules',)),
    (7, ('plugins.plugin_utils', 'plugins.test')),
    (8, ('plugins.action',)),
    (0, ('plugins.doc_fragments',)),
)
# In these packages each file stands alone: a module does not import another module.
ONE_UNIT_A_FILE = ('plugins.modules', 'plugins.action')


def layer_of(name):
    """(height, unit) of a dotted name below the collection, unit being the package or file that owns it."""
    for height, units in LAYERS:
        for unit in units:
            if name == unit or name.startswith(unit + '.'):
                if unit in ONE_UNIT_A_FILE:
                    unit = '.'.join(name.split('.')[:3])
                return height, unit
    raise AssertionError('%s is in no layer of tests/unit/test_layers.py: add it where it belongs' % name)


def collection_imports(path):
    """The collection-internal names a file imports (dotted, without the ansible_collections prefix)."""
    with open(path, encoding='utf-8') as handle:
        tree = ast.parse(handle.read(), path)
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PACKAGE + 'plugins'):
            base = node.module[len(PACKAGE):]
            names.extend(base + '.' + alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            names.extend(alias.name[len(PACKAGE):] for alias in node.names if alias.name.startswith(PACKAGE + 'plugins'))
    return names


def plugin_files():
    for folder, _dirs, files in os.walk(os.path.join(ROOT, 'plugins')):
        for name in sorted(files):
            if name.endswith('.py'):
                path = os.path.join(folder, name)
                dotted = os.path.relpath(path, ROOT)[:-3].replace(os.sep, '.')
                yield dotted, path


def violations(importer, imported_names):
    height, unit = layer_of(importer)
    found = []
    for name in imported_names:
        other_height, other_unit = layer_of(name)
        if other_unit == unit:
            continue
        if other_height > height:
            found.append('%s imports %s, from a layer above it' % (importer, name))
        elif other_height == height:
            found.append('%s imports %s, a sibling in its layer' % (importer, name))
    return found


@pytest.mark.parametrize('importer, path', sorted(plugin_files()))
def test_imports_run_downwards(importer, path):
    assert violations(importer, collection_imports(path)) == []


@pytest.mark.parametrize('importer, imported', [
    ('plugins.module_utils._api.client', 'plugins.module_utils._captures.operations.get_capture'),
    ('plugins.module_utils._captures.operations', 'plugins.module_utils._buckets.ownership.bucket_identity'),
    ('plugins.module_utils._normalise', 'plugins.module_utils._captures.body.build_filter'),
    ('plugins.module_utils._module', 'plugins.modules.capture_request.main'),
    ('plugins.modules.capture_info', 'plugins.modules.capture_request.main'),
    ('plugins.modules.capture_info', 'plugins.plugin_utils._action.PcapAction'),
])
def test_an_upward_or_sideways_import_is_found(importer, imported):
    assert violations(importer, [imported])


def test_every_plugin_file_is_in_a_layer():
    for importer, _path in plugin_files():
        layer_of(importer)
