# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The schema check every request body goes through, and masking of bucket URIs."""

from __future__ import annotations

import pytest

from ansible_collections.cloudflare.pcap.plugins.module_utils._schema import CAPTURE_REQUEST_SCHEMA
from ansible_collections.cloudflare.pcap.plugins.module_utils._validation import (
    PcapValidationError,
    mask_destination_conf,
    masked,
    validate_schema,
)


def test_schema_check_catches_what_rules_do_not():
    with pytest.raises(PcapValidationError) as caught:
        validate_schema({"type": "simple", "system": "magic-transit", "time_limit": True, "packet_limit": 5}, CAPTURE_REQUEST_SCHEMA)
    assert "does not match Cloudflare's request schema" in str(caught.value)


@pytest.mark.parametrize('uri, shown', [
    ('s3://pcaps-bucket?region=us-east-1', 's3://pcaps-bucket?********'),
    ('r2://bucket?account-id=abc&access-key-id=AKIA&secret-access-key=SECRET', 'r2://bucket?********'),
    ('gs://bucket/prefix', 'gs://bucket/prefix'),
    ('s3://KEY:SECRET@bucket/path?x=1', 's3://bucket/path?********'),
    ('not a uri SECRET', '********'),
])
def test_destination_conf_masking(uri, shown):
    assert mask_destination_conf(uri) == shown


def test_masked_copies_and_masks():
    record = {'id': 'x', 'destination_conf': 'r2://b?secret-access-key=S'}
    assert masked(record) == {'id': 'x', 'destination_conf': 'r2://b?********'}
    assert record['destination_conf'] == 'r2://b?secret-access-key=S'
    assert masked({'id': 'x'}) == {'id': 'x'}
