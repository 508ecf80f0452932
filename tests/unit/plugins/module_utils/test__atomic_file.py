# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Atomic writes and file digests (plugins/module_utils/_atomic_file.py)."""

from __future__ import annotations

import hashlib
import os
import stat

import pytest

from ansible_collections.cloudflare.pcap.plugins.module_utils._atomic_file import file_digests, write_atomically


def fill_with(*chunks):
    def fill(write):
        for chunk in chunks:
            write(chunk)
    return fill


def test_the_file_is_written_with_its_mode_size_and_sha256(tmp_path):
    dest = str(tmp_path / 'out')
    assert write_atomically(dest, 0o600, fill_with(b'abc', b'def')) == (6, hashlib.sha256(b'abcdef').hexdigest(), True)
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o600
    expected = {'sha256': hashlib.sha256(b'abcdef').hexdigest(), 'md5': hashlib.md5(b'abcdef').hexdigest()}
    assert file_digests(dest, ('sha256', 'md5')) == (6, expected)


@pytest.mark.parametrize('refusal', ['fill', 'check'])
def test_a_refused_write_leaves_dest_as_it_was_and_no_temporary_file(tmp_path, refusal):
    dest = tmp_path / 'out'
    dest.write_bytes(b'old')

    def fill(write):
        write(b'new')
        if refusal == 'fill':
            raise OSError('connection lost')

    def check(temporary, size, sha256):
        with open(temporary, 'rb') as handle:
            assert handle.read() == b'new' and size == 3
        raise ValueError('damaged')

    with pytest.raises((OSError, ValueError)):
        write_atomically(str(dest), 0o600, fill, check)
    assert os.listdir(str(tmp_path)) == ['out'] and dest.read_bytes() == b'old'


def test_a_check_that_answers_false_keeps_dest(tmp_path):
    dest = tmp_path / 'out'
    dest.write_bytes(b'same')
    assert write_atomically(str(dest), 0o600, fill_with(b'same'), lambda *_: False)[2] is False
    assert os.listdir(str(tmp_path)) == ['out']
