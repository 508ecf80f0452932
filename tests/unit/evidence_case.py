# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A case folder as the role writes it (capture, merged capture, summaries), for the custody record's tests, and
the real sha256sum as the witness of SHA256SUMS."""

from __future__ import annotations

import json
import shutil
import subprocess

from ansible_collections.cloudflare.pcap.tests.unit import pcap_samples as samples

CAPTURE_ID = '0123456789abcdef0123456789abcdef'
ACCOUNT_ID = 'a' * 32
SECRET = 'Sup3rSecretAccessKey/xyz'
REQUEST = dict(type='full', system='magic-transit', time_limit=60, packet_limit=1000, colo_name='ord02',
               destination_conf='s3://cf-pcaps/incidents?region=us-east-1&access-key-id=AKIAEXAMPLE&secret-access-key=' + SECRET)
CAPTURE = dict(REQUEST, id=CAPTURE_ID, status='success', submitted='2026-12-05T13:00:00Z')
FILES = ('pcaps/pcap_%s.pcap' % CAPTURE_ID, '%s.pcap' % CAPTURE_ID, '%s.summary.json' % CAPTURE_ID,
         '%s.summary.md' % CAPTURE_ID)


def write_case(folder):
    """The case files under folder (a pathlib.Path); returns their names."""
    (folder / 'pcaps').mkdir()
    (folder / FILES[0]).write_bytes(samples.random_pcap(7, 50))
    (folder / FILES[1]).write_bytes(samples.random_pcap(8, 60))
    (folder / FILES[2]).write_text(json.dumps(dict(capture_id=CAPTURE_ID, packets=60)))
    (folder / FILES[3]).write_text('# Capture %s\n\n60 packets\n' % CAPTURE_ID)
    return list(FILES)


def sha256sum_check(folder):
    """(exit status, output) of the real `sha256sum -c SHA256SUMS` in folder."""
    found = shutil.which('sha256sum')
    assert found, 'sha256sum (coreutils) is missing: it is the witness of SHA256SUMS'
    answer = subprocess.run([found, '-c', 'SHA256SUMS'], cwd=str(folder), stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, check=False)
    return answer.returncode, answer.stdout + answer.stderr


def flip_a_byte(path, offset=None):
    data = bytearray(path.read_bytes())
    position = len(data) // 2 if offset is None else offset
    data[position] ^= 0x01
    path.write_bytes(bytes(data))
