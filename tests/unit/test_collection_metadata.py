# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Collection metadata that must follow the plugins: the action group, the doc fragment memberships and the
action plugins."""

from __future__ import annotations

import os

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
MODULES_DIR = os.path.join(ROOT, 'plugins', 'modules')


def modules():
    return sorted(name[:-3] for name in os.listdir(MODULES_DIR) if name.endswith('.py') and not name.startswith('_'))


def module_text(name):
    with open(os.path.join(MODULES_DIR, name + '.py'), encoding='utf-8') as source:
        return source.read()


def talks_to_cloudflare(name):
    """A module that takes the connection options (the cloudflare.pcap.common fragment) talks to Cloudflare."""
    return 'cloudflare.pcap.common' in module_text(name)


def test_action_group_all_lists_every_module_that_talks_to_cloudflare():
    # A module without the connection options must stay out: module_defaults of the group would hand it options
    # it does not take ("Unsupported parameters").
    with open(os.path.join(ROOT, 'meta', 'runtime.yml'), encoding='utf-8') as runtime:
        group = yaml.safe_load(runtime)['action_groups']['all']
    assert sorted(group) == [name for name in modules() if talks_to_cloudflare(name)]
    assert len(group) >= 6


def test_every_module_documents_its_action_group_membership():
    for name in modules():
        assert ('cloudflare.pcap.attributes.actiongroup_all' in module_text(name)) == talks_to_cloudflare(name), name


def test_every_module_has_its_action_plugin():
    action_dir = os.path.join(ROOT, 'plugins', 'action')
    actions = sorted(name[:-3] for name in os.listdir(action_dir) if name.endswith('.py'))
    assert actions == modules()
    for name in actions:
        with open(os.path.join(action_dir, name + '.py'), encoding='utf-8') as source:
            assert "MODULE = '%s'" % name in source.read(), name
