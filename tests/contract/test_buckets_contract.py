# Copyright: cloudflare.pcap maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Contract tests: bucket_ownership and bucket_ownership_info against Stoplight Prism, through the recording proxy
of conftest.py, which shows which requests each module sent and that Prism accepted every one.

Prism lists one bucket, EXAMPLE_BUCKET (id EXAMPLE_BUCKET_ID), `pending`; adding or validating any bucket answers
that same bucket, and deleting answers 204. A bucket the module looks for is therefore either EXAMPLE_BUCKET
(listed) or any other URI (not listed). Prism's `pending` bucket is what the validate flow starts from; only the
tests of wait=true (Prism never reports a bucket validated) and of an R2 bucket listed without its keys have the
proxy change a listed bucket's status or destination_conf.
"""

from __future__ import annotations

import pytest

from conftest import ACCOUNT_ID, EXAMPLE_BUCKET, EXAMPLE_BUCKET_ID, EXAMPLE_CHALLENGE_FILENAME, failed_cleanly, run_module, set_result_fields, succeeded

OTHER_BUCKET = 's3://other-pcaps-bucket?region=eu-west-1'
CHALLENGE = 'challenge-file-contents-0123456789'
R2_BUCKET = 'r2://pcaps-r2?account-id=%s' % ACCOUNT_ID
R2_KEYS = '&access-key-id=contract-access-key&secret-access-key=contract-secret-key'
LIST = ('GET', '/pcaps/ownership')
ADD = ('POST', '/pcaps/ownership')
VALIDATE = ('POST', '/pcaps/ownership/validate')
DELETE = ('DELETE', '/pcaps/ownership/' + EXAMPLE_BUCKET_ID)


def bucket_ownership(proxy, module_args: dict, check_mode: bool = False) -> dict:
    result = succeeded(run_module(proxy.url, 'bucket_ownership', module_args, check_mode=check_mode))
    if proxy.requests:
        proxy.assert_prism_accepted_all()
    return result


def test_present_finds_the_listed_bucket(proxy) -> None:
    result = bucket_ownership(proxy, {'destination_conf': EXAMPLE_BUCKET, 'state': 'present'})
    assert proxy.calls() == [LIST]
    assert result['changed'] is False
    assert result['bucket']['id'] == EXAMPLE_BUCKET_ID
    assert result['bucket']['filename'] == EXAMPLE_CHALLENGE_FILENAME


def test_present_adds_a_bucket_not_listed(proxy) -> None:
    """Prism answers its example bucket to the add, whatever was sent; the module returns it as the new bucket."""
    result = bucket_ownership(proxy, {'destination_conf': OTHER_BUCKET, 'state': 'present'})
    assert proxy.calls() == [LIST, ADD]
    assert proxy.bodies(*ADD) == [{'destination_conf': OTHER_BUCKET}]
    assert result['changed'] is True
    assert result['bucket']['id'] == EXAMPLE_BUCKET_ID
    assert result['bucket']['status'] == 'pending'


def test_validated_validates_the_listed_pending_bucket(proxy) -> None:
    result = bucket_ownership(proxy, {'destination_conf': EXAMPLE_BUCKET, 'state': 'validated', 'ownership_challenge': CHALLENGE})
    assert proxy.calls() == [LIST, VALIDATE]
    assert proxy.bodies(*VALIDATE) == [{'destination_conf': EXAMPLE_BUCKET, 'ownership_challenge': CHALLENGE}]
    assert result['changed'] is True
    # Prism answers the bucket still pending: Cloudflare checks a challenge in 5 to 10 minutes, and wait is off.
    assert result['bucket']['status'] == 'pending'


def test_validated_adds_then_validates_a_bucket_not_listed(proxy) -> None:
    result = bucket_ownership(proxy, {'destination_conf': OTHER_BUCKET, 'state': 'validated', 'ownership_challenge': CHALLENGE})
    assert proxy.calls() == [LIST, ADD, VALIDATE]
    assert proxy.bodies(*ADD) == [{'destination_conf': OTHER_BUCKET}]
    assert proxy.bodies(*VALIDATE) == [{'destination_conf': OTHER_BUCKET, 'ownership_challenge': CHALLENGE}]
    assert result['changed'] is True


def test_validated_without_challenge_fails_cleanly_on_the_pending_bucket(proxy) -> None:
    """Prism's bucket is pending, so a challenge is needed: the task names the file Cloudflare wrote, sends nothing."""
    result = failed_cleanly(run_module(proxy.url, 'bucket_ownership', {'destination_conf': EXAMPLE_BUCKET, 'state': 'validated'}))
    assert proxy.calls() == [LIST]
    proxy.assert_prism_accepted_all()
    assert result['msg'].startswith('ownership_challenge:')
    assert EXAMPLE_CHALLENGE_FILENAME in result['msg']
    assert result['changed'] is False


def test_absent_deletes_the_listed_bucket_by_its_id(proxy) -> None:
    result = bucket_ownership(proxy, {'destination_conf': EXAMPLE_BUCKET, 'state': 'absent'})
    assert proxy.calls() == [LIST, DELETE]
    assert [recorded.status for recorded in proxy.requests] == [200, 204]
    assert result['changed'] is True


def test_absent_leaves_alone_a_bucket_not_listed(proxy) -> None:
    result = bucket_ownership(proxy, {'destination_conf': OTHER_BUCKET, 'state': 'absent'})
    assert proxy.calls() == [LIST]
    assert result['changed'] is False


def test_validated_reads_the_challenge_file(proxy, tmp_path) -> None:
    """ownership_challenge_file: its contents, without surrounding whitespace, are the challenge sent to Prism."""
    challenge_file = tmp_path / EXAMPLE_CHALLENGE_FILENAME
    challenge_file.write_text('\n  %s \n' % CHALLENGE)
    result = bucket_ownership(proxy, {'destination_conf': EXAMPLE_BUCKET, 'state': 'validated', 'ownership_challenge_file': str(challenge_file)})
    assert proxy.calls() == [LIST, VALIDATE]
    assert proxy.bodies(*VALIDATE) == [{'destination_conf': EXAMPLE_BUCKET, 'ownership_challenge': CHALLENGE}]
    assert result['changed'] is True


def test_validated_r2_bucket_is_added_with_its_keys_and_validated_without(proxy) -> None:
    result = bucket_ownership(proxy, {'destination_conf': R2_BUCKET + R2_KEYS, 'state': 'validated', 'ownership_challenge': CHALLENGE})
    assert proxy.calls() == [LIST, ADD, VALIDATE]
    assert proxy.bodies(*ADD) == [{'destination_conf': R2_BUCKET + R2_KEYS}]
    assert proxy.bodies(*VALIDATE) == [{'destination_conf': R2_BUCKET, 'ownership_challenge': CHALLENGE}]
    assert result['changed'] is True


def test_r2_bucket_listed_without_its_keys_is_found(proxy) -> None:
    """Cloudflare lists an R2 bucket without the keys it was added with (the proxy makes Prism's bucket that one)."""
    proxy.rewrite = set_result_fields('/pcaps/ownership', destination_conf=R2_BUCKET)
    result = bucket_ownership(proxy, {'destination_conf': R2_BUCKET + R2_KEYS, 'state': 'absent'})
    assert proxy.calls() == [LIST, DELETE]
    assert result['changed'] is True


def test_validated_wait_polls_the_list_until_the_bucket_is_validated(proxy) -> None:
    """Prism's bucket stays pending; the proxy reports it `success` from the second listing on, after the validate."""
    listings = []

    def validated_after_first_listing(method: str, path: str, envelope: dict) -> dict:
        if (method, path) == LIST:
            listings.append(path)
            if len(listings) > 1:
                envelope['result'][0]['status'] = 'success'
        return envelope

    proxy.rewrite = validated_after_first_listing
    result = bucket_ownership(proxy, {'destination_conf': EXAMPLE_BUCKET, 'state': 'validated', 'ownership_challenge': CHALLENGE,
                                      'wait': True, 'wait_timeout': 60})
    assert proxy.calls() == [LIST, VALIDATE, LIST]
    assert result['changed'] is True
    assert result['bucket']['status'] == 'success'


def test_validated_wait_times_out_cleanly_on_prism_pending_bucket(proxy) -> None:
    arguments = {'destination_conf': EXAMPLE_BUCKET, 'state': 'validated', 'ownership_challenge': CHALLENGE, 'wait': True, 'wait_timeout': 3}
    result = failed_cleanly(run_module(proxy.url, 'bucket_ownership', arguments))
    proxy.assert_prism_accepted_all()
    assert proxy.calls()[:2] == [LIST, VALIDATE] and set(proxy.calls()[2:]) == {LIST}
    assert 'still pending after waiting' in result['msg']
    assert result['changed'] is True
    assert result['bucket']['status'] == 'pending'


@pytest.mark.parametrize('module_args, changed', [
    ({'destination_conf': OTHER_BUCKET, 'state': 'present'}, True),
    ({'destination_conf': EXAMPLE_BUCKET, 'state': 'present'}, False),
    ({'destination_conf': OTHER_BUCKET, 'state': 'validated', 'ownership_challenge': CHALLENGE}, True),
    ({'destination_conf': EXAMPLE_BUCKET, 'state': 'validated', 'ownership_challenge': CHALLENGE}, True),
    ({'destination_conf': EXAMPLE_BUCKET, 'state': 'absent'}, True),
    ({'destination_conf': OTHER_BUCKET, 'state': 'absent'}, False),
], ids=['present-new', 'present-listed', 'validated-new', 'validated-pending', 'absent-listed', 'absent-new'])
def test_check_mode_only_lists(proxy, module_args: dict, changed: bool) -> None:
    result = bucket_ownership(proxy, module_args, check_mode=True)
    assert proxy.calls() == [LIST]
    assert result['changed'] is changed


def test_info_lists_prism_buckets(proxy) -> None:
    result = succeeded(run_module(proxy.url, 'bucket_ownership_info', {}))
    assert proxy.calls() == [LIST]
    proxy.assert_prism_accepted_all()
    assert result['changed'] is False
    assert [bucket['id'] for bucket in result['buckets']] == [EXAMPLE_BUCKET_ID]
    bucket = result['buckets'][0]
    assert bucket['status'] == 'pending'
    # Masked: scheme and bucket name only.
    assert bucket['destination_conf'].startswith('s3://pcaps-bucket') and 'region' not in bucket['destination_conf']


@pytest.mark.parametrize('destination_conf, listed', [(EXAMPLE_BUCKET, 1), (OTHER_BUCKET, 0)])
def test_info_finds_one_bucket(proxy, destination_conf: str, listed: int) -> None:
    result = succeeded(run_module(proxy.url, 'bucket_ownership_info', {'destination_conf': destination_conf}))
    assert proxy.calls() == [LIST]
    proxy.assert_prism_accepted_all()
    assert len(result['buckets']) == listed
