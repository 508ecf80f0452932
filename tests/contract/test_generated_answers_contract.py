# Copyright: cloudflare.pcap maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Contract tests: every module run against data that Prism generates from the response schemas (`Prefer:
dynamic=true`, added by the recording proxy), a few times each.

The generated answers are random and mostly make no sense (see conftest.py): a module may fail on them, but only with
its own message, never with a traceback, and Prism must still accept every request it sent. A module that succeeds
returns what it documents. Being random, a run can pass where another finds a crash: a failure here is a real bug
with the answer that caused it in the message.
"""

from __future__ import annotations

import json

import pytest

from conftest import failed_cleanly, run_module

RUNS = 3
CAPTURE_ID = '0123456789abcdef0123456789abcdef'

CASES = [
    ('capture_request', {'packet_limit': 10, 'time_limit': 10}, 'id'),
    ('capture_info', {}, 'captures'),
    ('capture_info', {'id': CAPTURE_ID}, 'found'),
    ('capture_stop', {'id': CAPTURE_ID}, 'capture'),
    ('bucket_ownership', {'destination_conf': 's3://pcaps-bucket?region=us-east-1', 'state': 'validated', 'ownership_challenge': 'c'}, 'bucket'),
    ('bucket_ownership_info', {}, 'buckets'),
]


@pytest.mark.parametrize('module, module_args, documented', CASES, ids=['%s-%d' % (case[0], number) for number, case in enumerate(CASES)])
def test_module_never_crashes_on_generated_answers(proxy, module: str, module_args: dict, documented: str) -> None:
    proxy.dynamic = True
    for _run in range(RUNS):
        run = run_module(proxy.url, module, module_args)
        if run.failed:
            failed_cleanly(run)
        else:
            assert documented in run.result, json.dumps(run.result)
    proxy.assert_prism_accepted_all()
