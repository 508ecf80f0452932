# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Runs cloudflare.pcap.evidence_copy in-process on the controller when that is where it would run (see _action.py)."""

from __future__ import annotations

from ansible_collections.cloudflare.pcap.plugins.plugin_utils._action import PcapAction


class ActionModule(PcapAction):
    MODULE = 'evidence_copy'
