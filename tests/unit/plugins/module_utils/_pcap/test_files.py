# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where a download goes, with which mode, and that dest never holds a partial or foreign file."""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile

import pytest

from ansible_collections.cloudflare.pcap.plugins.module_utils._pcap.files import (
    DownloadError,
    parse_mode,
    resolve_dest,
    save_atomically,
)
from ansible_collections.cloudflare.pcap.tests.unit.plugins.module_utils._pcap.test_reader import pcap_bytes

CAPTURE_ID = '66802ca5668e47a2b82c2e6746e45037'


def test_a_directory_dest_gets_the_capture_id_as_name(tmp_path):
    assert resolve_dest(str(tmp_path), CAPTURE_ID, '0600') == (str(tmp_path / (CAPTURE_ID + '.pcap')), 0o600)
    assert resolve_dest(str(tmp_path) + os.sep, CAPTURE_ID, '0600')[0] == str(tmp_path / (CAPTURE_ID + '.pcap'))
    with pytest.raises(DownloadError, match='does not exist'):
        resolve_dest(str(tmp_path / 'new') + os.sep, CAPTURE_ID, '0600')


def test_a_missing_directory_is_refused(tmp_path):
    with pytest.raises(DownloadError, match='^dest: directory .* does not exist'):
        resolve_dest(str(tmp_path / 'missing' / 'x.pcap'), CAPTURE_ID, '0600')


@pytest.mark.parametrize('mode, expected', [('0600', 0o600), ('640', 0o640), ('0o644', None), (0o640, 0o640),
                                            ('u+rw', None), (True, None), ('99999', None), (0o10000, None),
                                            (-1, None), (0, 0), ('0000', 0)])
def test_modes(mode, expected):
    if expected is None:
        with pytest.raises(DownloadError, match='^mode: '):
            parse_mode(mode)
    else:
        assert parse_mode(mode) == expected


def test_a_valid_file_is_renamed_into_place_with_its_mode(tmp_path):
    dest = str(tmp_path / 'c.pcap')
    data = pcap_bytes(5)
    described = save_atomically(dest, 0o600, lambda write: write(data))
    assert described == dict(dest=dest, size=len(data), checksum=hashlib.sha256(data).hexdigest(), format='pcap',
                             packets=5)
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o600
    assert os.listdir(str(tmp_path)) == ['c.pcap']


def test_a_foreign_file_never_reaches_dest(tmp_path):
    dest = tmp_path / 'c.pcap'
    dest.write_bytes(b'previous evidence')
    with pytest.raises(DownloadError, match='not a pcap or pcapng file'):
        save_atomically(str(dest), 0o600, lambda write: write(b'<html>oops</html>'))
    assert dest.read_bytes() == b'previous evidence'
    assert os.listdir(str(tmp_path)) == ['c.pcap']


def test_an_interrupted_stream_leaves_nothing_behind(tmp_path):
    def broken(write):
        write(pcap_bytes(2)[:30])
        raise IOError('connection lost')

    with pytest.raises(IOError):
        save_atomically(str(tmp_path / 'c.pcap'), 0o600, broken)
    assert os.listdir(str(tmp_path)) == []


def test_the_partial_file_is_written_beside_dest_and_renamed_into_place(tmp_path, monkeypatch):
    # A temporary file anywhere else (the system's temp folder, say) makes the final rename a copy across
    # filesystems, or a failure: no longer atomic. The temp folder is pointed elsewhere to catch that.
    dest_dir, elsewhere = tmp_path / 'incident', tmp_path / 'tmp'
    dest_dir.mkdir()
    elsewhere.mkdir()
    monkeypatch.setenv('TMPDIR', str(elsewhere))
    monkeypatch.setattr(tempfile, 'tempdir', str(elsewhere))
    data = pcap_bytes(3)
    seen = []

    def fill(write):
        write(data[:30])
        partials = os.listdir(str(dest_dir))
        seen.append((partials, os.listdir(str(elsewhere))))
        if len(partials) == 1:
            partial = os.stat(str(dest_dir / partials[0]))
            seen.append((partial.st_ino, stat.S_IMODE(partial.st_mode)))
        write(data[30:])

    dest = dest_dir / 'c.pcap'
    save_atomically(str(dest), 0o640, fill)
    (partials, elsewhere_entries) = seen[0]
    assert elsewhere_entries == [], 'the partial file was created outside dest\'s folder'
    assert len(partials) == 1 and partials[0] != 'c.pcap', 'no partial file beside dest while writing: %r' % partials
    inode, mode = seen[1]
    assert mode == 0o640, 'the partial file was readable by others while being written'
    assert os.stat(str(dest)).st_ino == inode, 'dest is not the partial file renamed'
    assert dest.read_bytes() == data and os.listdir(str(dest_dir)) == ['c.pcap']
