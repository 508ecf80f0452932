# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The custody record: what it holds, that a re-run appends and never rewrites a hash, that an older manifest is
kept, and that a changed byte in any kind of file is named both by the real `sha256sum -c` and by verify_folder."""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat

import pytest

from ansible_collections.cloudflare.pcap.plugins.module_utils._evidence.manifest import (
    MANIFEST_VERSION,
    EvidenceError,
    parse_time,
    read_manifest,
    update_manifest,
    verify_folder,
)
from ansible_collections.cloudflare.pcap.tests.unit.evidence_case import (
    ACCOUNT_ID,
    CAPTURE,
    CAPTURE_ID,
    FILES,
    REQUEST,
    SECRET,
    flip_a_byte,
    sha256sum_check,
    write_case,
)

MANIFEST = '%s.manifest.json' % CAPTURE_ID
AWX = dict(awx_job_id='42', awx_job_template_name='Incident capture', awx_user_name='alice', tower_job_id='42',
           tower_job_template_name='Incident capture', tower_user_name='alice')
RULEBOOK = dict(rulebook_correlation_id='corr-7', rulebook_event_uuid='3f2c1e4a-0000-4000-8000-000000000001')
UTC = re.compile(r'^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$')


def record(folder, **options):
    options.setdefault('steps', ['requested', 'finished', 'downloaded', 'merged', 'summarised'])
    options.setdefault('files', write_case(folder))
    return update_manifest(str(folder), CAPTURE_ID, capture=CAPTURE, request=REQUEST, account_id=ACCOUNT_ID,
                           run_context=dict(AWX, **RULEBOOK), **options)


def test_the_manifest_holds_the_capture_files_versions_handlers_and_log(tmp_path):
    result = record(tmp_path)
    path = tmp_path / MANIFEST
    assert result['changed'] and result['path'] == str(path)
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(str(tmp_path / 'SHA256SUMS')).st_mode) == 0o600
    manifest = json.loads(path.read_text())
    assert manifest['manifest_version'] == MANIFEST_VERSION
    assert manifest['capture'] == dict(id=CAPTURE_ID, type='full', account_id=ACCOUNT_ID)
    assert manifest['request']['destination_conf'] == 's3://cf-pcaps/incidents?********'
    assert manifest['cloudflare_record']['status'] == 'success'
    assert SECRET not in path.read_text() and 'AKIAEXAMPLE' not in path.read_text()
    assert [entry['name'] for entry in manifest['files']] == list(FILES)
    for entry in manifest['files']:
        data = (tmp_path / entry['name']).read_bytes()
        assert (entry['size'], entry['sha256'], entry['sha1']) == (len(data), hashlib.sha256(data).hexdigest(),
                                                                   hashlib.sha1(data).hexdigest())
    assert set(manifest['tools']) == {'cloudflare.pcap', 'ansible-core'}
    assert [entry['step'] for entry in manifest['custody_log']] == ['requested', 'finished', 'downloaded', 'merged', 'summarised']
    for entry in manifest['custody_log']:
        assert UTC.match(entry['at'])
        assert entry['by']['user'] and entry['by']['host']
        assert {key: entry['by'][key] for key in AWX} == AWX
        assert entry['by']['rulebook_correlation_id'] == 'corr-7' and entry['by']['rulebook_event_uuid'] == RULEBOOK['rulebook_event_uuid']


def test_sha256sum_checks_the_folder(tmp_path):
    record(tmp_path)
    status, output = sha256sum_check(tmp_path)
    assert status == 0, output
    assert sorted(line.rsplit(': ', 1)[0] for line in output.splitlines()) == sorted(list(FILES) + [MANIFEST])
    assert verify_folder(str(tmp_path), CAPTURE_ID)['verified']
    assert verify_folder(str(tmp_path))['capture_id'] == CAPTURE_ID  # the only manifest of the folder


def test_a_rerun_appends_to_the_log_and_keeps_the_hashes(tmp_path):
    record(tmp_path)
    first = read_manifest(str(tmp_path), CAPTURE_ID)
    (tmp_path / 'notes.txt').write_text('handed to the SOC')
    update_manifest(str(tmp_path), CAPTURE_ID, steps=[dict(step='copied', at='2026-12-05T15:30:00+01:00', note='by hand')],
                    files=list(FILES) + ['notes.txt'])
    second = read_manifest(str(tmp_path), CAPTURE_ID)
    assert second['custody_log'][:5] == first['custody_log']
    assert second['custody_log'][5]['step'] == 'copied' and second['custody_log'][5]['at'] == '2026-12-05T14:30:00.000000Z'
    assert second['files'][:4] == first['files'] and second['files'][4]['name'] == 'notes.txt'
    assert sha256sum_check(tmp_path)[0] == 0


def test_a_rerun_on_a_changed_file_names_it_and_writes_nothing(tmp_path):
    record(tmp_path)
    before = (tmp_path / MANIFEST).read_bytes(), (tmp_path / 'SHA256SUMS').read_bytes()
    flip_a_byte(tmp_path / FILES[1])
    os.unlink(str(tmp_path / FILES[3]))
    with pytest.raises(EvidenceError) as caught:
        update_manifest(str(tmp_path), CAPTURE_ID, steps=['summarised'], files=[FILES[1]])
    assert caught.value.changed == [FILES[1]] and caught.value.missing == [FILES[3]]
    assert FILES[1] in str(caught.value) and FILES[3] in str(caught.value)
    assert ((tmp_path / MANIFEST).read_bytes(), (tmp_path / 'SHA256SUMS').read_bytes()) == before


@pytest.mark.parametrize('kind', ['pcap in a sub-folder', 'merged pcap', 'summary json', 'summary md', 'manifest', 'SHA256SUMS'])
def test_one_changed_byte_of_each_kind_of_file_is_named_by_sha256sum_and_by_the_check(tmp_path, kind):
    record(tmp_path)
    name = dict(zip(['pcap in a sub-folder', 'merged pcap', 'summary json', 'summary md'], FILES)).get(kind)
    if kind == 'manifest':
        name = MANIFEST
    if kind == 'SHA256SUMS':
        # A byte of the hash of the merged capture's line: sha256sum names that file, the check names SHA256SUMS.
        sums = (tmp_path / 'SHA256SUMS').read_text()
        line_start = sums.index('  %s\n' % FILES[1]) - 64
        flip_a_byte(tmp_path / 'SHA256SUMS', line_start + 10)
        expected_sha256sum, expected_ours = FILES[1], 'SHA256SUMS'
    else:
        flip_a_byte(tmp_path / name)
        expected_sha256sum = expected_ours = name
    status, output = sha256sum_check(tmp_path)
    assert status != 0
    assert [line.rsplit(': ', 1)[0] for line in output.splitlines() if line.endswith(': FAILED')] == [expected_sha256sum]
    state = verify_folder(str(tmp_path), CAPTURE_ID)
    assert not state['verified'] and state['changed'] == [expected_ours] and state['missing'] == []


def test_missing_files_are_named(tmp_path):
    record(tmp_path)
    os.unlink(str(tmp_path / FILES[0]))
    os.unlink(str(tmp_path / FILES[2]))
    state = verify_folder(str(tmp_path), CAPTURE_ID)
    assert state['missing'] == sorted([FILES[0], FILES[2]]) and state['changed'] == [] and not state['verified']
    status, output = sha256sum_check(tmp_path)
    assert status != 0 and FILES[0] in output and FILES[2] in output
    os.unlink(str(tmp_path / 'SHA256SUMS'))
    assert 'SHA256SUMS' in verify_folder(str(tmp_path), CAPTURE_ID)['missing']


def test_an_unrecorded_file_is_listed_not_failed(tmp_path):
    record(tmp_path)
    (tmp_path / 'stray.txt').write_text('x')
    state = verify_folder(str(tmp_path), CAPTURE_ID)
    assert state['verified'] and state['unrecorded'] == ['stray.txt']


def test_an_older_manifest_is_kept_and_read_not_overwritten(tmp_path):
    names = write_case(tmp_path)
    old = json.dumps(dict(capture_id=CAPTURE_ID, sha256={FILES[1]: 'abc'})).encode()  # no manifest_version: version 0
    (tmp_path / MANIFEST).write_bytes(old)
    result = update_manifest(str(tmp_path), CAPTURE_ID, steps=['summarised'], files=names)
    assert result['previous_version'] == 0
    kept = tmp_path / ('%s.manifest.v0.json' % CAPTURE_ID)
    assert kept.read_bytes() == old and stat.S_IMODE(os.stat(str(kept)).st_mode) == 0o600
    manifest = read_manifest(str(tmp_path), CAPTURE_ID)
    assert manifest['manifest_version'] == MANIFEST_VERSION
    assert kept.name in [entry['name'] for entry in manifest['files']]
    assert sha256sum_check(tmp_path)[0] == 0


def test_a_newer_manifest_stops_the_update(tmp_path):
    write_case(tmp_path)
    newer = json.dumps(dict(manifest_version=MANIFEST_VERSION + 1)).encode()
    (tmp_path / MANIFEST).write_bytes(newer)
    with pytest.raises(EvidenceError, match='newer'):
        update_manifest(str(tmp_path), CAPTURE_ID, steps=['summarised'], files=list(FILES))
    assert (tmp_path / MANIFEST).read_bytes() == newer


def test_check_mode_writes_nothing(tmp_path):
    result = record(tmp_path, check_mode=True)
    assert result['changed'] and not (tmp_path / MANIFEST).exists() and not (tmp_path / 'SHA256SUMS').exists()


@pytest.mark.parametrize('options, message', [
    (dict(steps=['eaten']), 'steps: each must be one of'),
    (dict(steps=[dict(step='copied', at='2026-12-05 13:00:00')]), 'steps.at'),
    (dict(files=['../etc/passwd']), 'files:'),
    (dict(files=['/etc/passwd']), 'files:'),
    (dict(files=['absent.pcap']), 'absent.pcap is not a file'),
    (dict(files=['SHA256SUMS']), 'written by the custody record'),
])
def test_bad_input_is_refused_before_anything_is_written(tmp_path, options, message):
    write_case(tmp_path)
    options.setdefault('steps', ['requested'])
    options.setdefault('files', [])
    with pytest.raises(EvidenceError, match=message):
        update_manifest(str(tmp_path), CAPTURE_ID, **options)
    assert not (tmp_path / MANIFEST).exists()


def test_a_bad_capture_id_is_refused(tmp_path):
    with pytest.raises(EvidenceError, match='capture_id'):
        update_manifest(str(tmp_path), '../x', steps=['requested'])


@pytest.mark.parametrize('text, utc', [
    ('2026-12-05T13:00:00Z', '2026-12-05T13:00:00.000000Z'),
    ('2026-12-05T13:00:00.5-02:30', '2026-12-05T15:30:00.500000Z'),
])
def test_times_are_kept_in_utc(text, utc):
    assert parse_time(text) == utc
