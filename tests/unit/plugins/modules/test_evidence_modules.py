# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""evidence_manifest and evidence_verify_info: the custody record written and checked through the modules, without
credentials; their results match RETURN. (evidence_copy runs against moto in module_utils/_buckets/test_evidence.py.)"""

from __future__ import annotations

import json

import pytest

from ansible_collections.cloudflare.pcap.plugins.modules import evidence_manifest, evidence_verify_info
from ansible_collections.cloudflare.pcap.tests.unit.evidence_case import (
    CAPTURE,
    CAPTURE_ID,
    FILES,
    REQUEST,
    SECRET,
    flip_a_byte,
    sha256sum_check,
    write_case,
)
from ansible_collections.cloudflare.pcap.tests.unit.helpers import assert_matches_return_docs, run_module


def manifest_args(folder, **extra):
    args = dict(path=str(folder), capture_id=CAPTURE_ID, capture=CAPTURE, request=REQUEST, files=list(FILES),
                steps=[dict(step='requested', at=CAPTURE['submitted']), dict(step='downloaded')],
                run_context=dict(awx_job_id='42', awx_user_name='alice', tower_job_id='42', awx_job_template_name=''))
    args.update(extra)
    return args


def test_the_manifest_module_writes_the_record_and_a_second_run_without_steps_changes_nothing(capsys, tmp_path):
    write_case(tmp_path)
    failed, result = run_module(evidence_manifest.main, manifest_args(tmp_path), capsys)
    assert not failed and result['changed']
    assert_matches_return_docs(evidence_manifest, result, 'success')
    manifest = result['manifest']
    assert manifest['custody_log'][0] == dict(step='requested', at='2026-12-05T13:00:00.000000Z', by=manifest['custody_log'][0]['by'])
    assert manifest['custody_log'][0]['by']['awx_job_id'] == '42' and 'awx_job_template_name' not in manifest['custody_log'][0]['by']
    # (The invocation echoes the options as given: the role passes capture_request's request, masked already.)
    assert SECRET not in json.dumps(result['manifest']) and SECRET not in (tmp_path / ('%s.manifest.json' % CAPTURE_ID)).read_text()
    assert sha256sum_check(tmp_path)[0] == 0
    failed, again = run_module(evidence_manifest.main, manifest_args(tmp_path, steps=[]), capsys)
    assert not failed and not again['changed']


def test_the_manifest_module_in_check_mode_writes_nothing(capsys, tmp_path):
    write_case(tmp_path)
    failed, result = run_module(evidence_manifest.main, manifest_args(tmp_path, _ansible_check_mode=True), capsys)
    assert not failed and result['changed'] and not (tmp_path / 'SHA256SUMS').exists()


def test_the_manifest_module_fails_naming_a_changed_file(capsys, tmp_path):
    write_case(tmp_path)
    run_module(evidence_manifest.main, manifest_args(tmp_path), capsys)
    flip_a_byte(tmp_path / FILES[2])
    failed, result = run_module(evidence_manifest.main, manifest_args(tmp_path, steps=[dict(step='summarised')]), capsys)
    assert failed and FILES[2] in result['msg'] and result['changed_files'] == [FILES[2]]
    assert_matches_return_docs(evidence_manifest, result, 'failure')


@pytest.mark.parametrize('steps, message', [
    ([dict(step='eaten')], 'steps'),
    ([dict(step='copied', at='yesterday')], 'steps.at'),
])
def test_the_manifest_module_refuses_bad_steps(capsys, tmp_path, steps, message):
    write_case(tmp_path)
    failed, result = run_module(evidence_manifest.main, manifest_args(tmp_path, steps=steps), capsys)
    assert failed and message in result['msg']
    assert not (tmp_path / 'SHA256SUMS').exists()


def test_the_verify_module_passes_a_good_folder(capsys, tmp_path):
    write_case(tmp_path)
    run_module(evidence_manifest.main, manifest_args(tmp_path), capsys)
    failed, result = run_module(evidence_verify_info.main, dict(path=str(tmp_path)), capsys)
    assert not failed and result['verified'] and not result['changed']
    assert (result['capture_id'], result['checked'], result['changed_files'], result['missing_files']) == (CAPTURE_ID, 4, [], [])
    assert_matches_return_docs(evidence_verify_info, result, 'success')


@pytest.mark.parametrize('fail_on_mismatch', [True, False])
def test_the_verify_module_names_every_changed_and_missing_file(capsys, tmp_path, fail_on_mismatch):
    write_case(tmp_path)
    run_module(evidence_manifest.main, manifest_args(tmp_path), capsys)
    flip_a_byte(tmp_path / FILES[0])
    flip_a_byte(tmp_path / FILES[3])
    (tmp_path / FILES[1]).unlink()
    failed, result = run_module(evidence_verify_info.main, dict(path=str(tmp_path), capture_id=CAPTURE_ID,
                                                                fail_on_mismatch=fail_on_mismatch), capsys)
    assert failed == fail_on_mismatch and not result['verified']
    assert result['changed_files'] == sorted([FILES[0], FILES[3]]) and result['missing_files'] == [FILES[1]]
    if failed:
        assert all(name in result['msg'] for name in (FILES[0], FILES[1], FILES[3]))
    assert_matches_return_docs(evidence_verify_info, result, 'failure' if failed else 'success')


def test_the_verify_module_asks_for_the_capture_when_the_folder_has_no_manifest(capsys, tmp_path):
    failed, result = run_module(evidence_verify_info.main, dict(path=str(tmp_path)), capsys)
    assert failed and 'give capture_id' in result['msg']
