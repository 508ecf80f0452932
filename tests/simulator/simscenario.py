# -*- coding: utf-8 -*-
# Copyright: contributors to the cloudflare.pcap collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One scenario that calls every operation of the contract, with success and failure answers, and records them.

test_contract_strict.py holds every recorded answer to the contract's response schemas made strict, and
test_sdk.py parses every object in them into the official SDK's models.
"""

import datetime

from conftest import ACCOUNT, SECOND_ACCOUNT, full_body, simple_body

PCAPS = '/accounts/{account_id}/pcaps'
CAPTURE = PCAPS + '/{pcap_id}'
DOWNLOAD = CAPTURE + '/download'
STOP = CAPTURE + '/stop'
OWNERSHIP = PCAPS + '/ownership'
VALIDATE = OWNERSHIP + '/validate'
OWNERSHIP_ITEM = OWNERSHIP + '/{ownership_id}'

R2_BUCKET = 'r2://pcaps?account-id=%s' % ACCOUNT
R2_WITH_KEYS = R2_BUCKET + '&access-key-id=AKIDEXAMPLE&secret-access-key=SECRETEXAMPLE'


class Recorded:
    """One answer: the contract operation (path template, method) it belongs to, and the reply."""

    def __init__(self, template, method, reply, label):
        self.template = template
        self.method = method
        self.reply = reply
        self.label = label

    def __repr__(self):
        return '<%s %s %s: %s>' % (self.method, self.template, self.reply.status, self.label)


def run_every_operation(sim):
    """Run the scenario against a reset simulator (frozen clock); return the list of Recorded answers."""
    answers = []

    def call(template, method, label, subpath=None, body=None, **kwargs):
        if subpath is None:
            subpath = template[len(PCAPS):]  # the templates without identifiers below /pcaps
        reply = sim.api(method, subpath, body=body, **kwargs)
        answers.append(Recorded(template, method, reply, label))
        return reply

    def challenge(bucket_id):
        return [bucket for bucket in sim.admin('GET', 'buckets') if bucket['id'] == bucket_id][0]['challenge']

    now = sim.admin('GET', 'clock')['epoch']
    offset_time = datetime.datetime.fromtimestamp(int(now) - 120, datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')

    call(PCAPS, 'GET', 'empty list')
    simple = call(PCAPS, 'POST', 'create simple', body=simple_body(
        packet_limit=20, offset_time=offset_time,
        filter_v1={'source_address': '2001:db8::1', 'destination_port': 443, 'protocol': 6, 'vlan': 1})).json
    simple_id = simple['result']['id']
    call(PCAPS, 'POST', 'second simple within a minute', body=simple_body())
    call(PCAPS, 'POST', 'invalid body', body=simple_body(time_limit=0))
    call(PCAPS, 'POST', 'full without a validated bucket', body=full_body(destination_conf=R2_BUCKET))

    added = call(OWNERSHIP, 'POST', 'add bucket with R2 keys', body={'destination_conf': R2_WITH_KEYS}).json
    bucket_id = added['result']['id']
    call(OWNERSHIP, 'POST', 'add the same bucket again', body={'destination_conf': R2_BUCKET})
    call(OWNERSHIP, 'POST', 'add without destination_conf', body={})
    call(OWNERSHIP, 'GET', 'bucket list, pending')
    call(VALIDATE, 'POST', 'validate with keys', body={'destination_conf': R2_WITH_KEYS,
                                                       'ownership_challenge': challenge(bucket_id)})
    call(VALIDATE, 'POST', 'validate with the file name', body={'destination_conf': R2_BUCKET,
                                                                'ownership_challenge': added['result']['filename']})
    call(VALIDATE, 'POST', 'validate an unknown bucket', body={'destination_conf': 'gs://nobody',
                                                               'ownership_challenge': 'x'})
    call(VALIDATE, 'POST', 'validate', body={'destination_conf': R2_BUCKET,
                                             'ownership_challenge': challenge(bucket_id)})
    sim.advance(300)
    call(OWNERSHIP, 'GET', 'bucket list, validated')

    full = call(PCAPS, 'POST', 'create full', body=full_body(
        destination_conf=R2_WITH_KEYS, byte_limit=100000, packet_limit=500, time_limit=600,
        filter_v1={'destination_address': '192.0.2.1'})).json
    full_id = full['result']['id']
    call(PCAPS, 'POST', 'second full while one runs', body=full_body(destination_conf=R2_BUCKET))
    call(CAPTURE, 'GET', 'get simple', '/' + simple_id)
    sim.advance(5)
    call(CAPTURE, 'GET', 'get running full', '/' + full_id)
    call(CAPTURE, 'GET', 'get unknown', '/' + 'd' * 32)
    call(CAPTURE, 'GET', 'get malformed id', '/NOT-AN-ID')
    call(DOWNLOAD, 'GET', 'download a full capture', '/%s/download' % full_id)
    call(DOWNLOAD, 'GET', 'download unknown', '/%s/download' % ('d' * 32))
    call(STOP, 'PUT', 'stop simple', '/%s/stop' % simple_id)
    call(STOP, 'PUT', 'stop full', '/%s/stop' % full_id)
    call(STOP, 'PUT', 'stop a stopped full', '/%s/stop' % full_id)
    call(STOP, 'PUT', 'stop unknown', '/%s/stop' % ('d' * 32))
    sim.advance(60)
    call(DOWNLOAD, 'GET', 'download simple', '/%s/download' % simple_id)
    call(CAPTURE, 'GET', 'get stopped full', '/' + full_id)

    sim.admin('POST', 'config', {'fail_captures': True})
    failed_simple = call(PCAPS, 'POST', 'create a simple that fails', body=simple_body()).json['result']['id']
    call(DOWNLOAD, 'GET', 'download before success', '/%s/download' % failed_simple)
    failed_full = call(PCAPS, 'POST', 'create a full that fails', body=full_body(
        destination_conf=R2_BUCKET, time_limit=5)).json['result']['id']
    sim.advance(61)
    call(CAPTURE, 'GET', 'get failed simple', '/' + failed_simple)
    call(CAPTURE, 'GET', 'get failed full', '/' + failed_full)
    sim.admin('POST', 'config', {'fail_captures': False, 'echo_in_cloudflare_form': True,
                                 'simple_finishes_at_once': True})
    call(PCAPS, 'POST', 'create simple, Cloudflare form, at once', body=simple_body(
        offset_time=offset_time, filter_v1={'destination_address': '2001:db8::53', 'source_port': 53}))
    call(PCAPS, 'POST', 'create full, Cloudflare form', body=full_body(destination_conf=R2_BUCKET, byte_limit=1000))
    sim.admin('POST', 'config', {'echo_in_cloudflare_form': False, 'simple_finishes_at_once': False,
                                 'unknown_status': True, 'simple_per_minute': False})
    unknown = call(PCAPS, 'POST', 'create simple, unknown status', body=simple_body()).json['result']['id']
    call(CAPTURE, 'GET', 'get unknown status', '/' + unknown)
    call(PCAPS, 'GET', 'list of everything')

    call(OWNERSHIP_ITEM, 'DELETE', 'delete bucket', '/ownership/' + bucket_id)
    call(OWNERSHIP_ITEM, 'DELETE', 'delete it again', '/ownership/' + bucket_id)
    call(OWNERSHIP, 'GET', 'bucket list, empty')

    call(PCAPS, 'GET', 'no credentials', auth=None)
    call(PCAPS, 'GET', 'bad token', auth=None, headers={'Authorization': 'Bearer wrong'})
    answers.append(Recorded(PCAPS, 'GET', sim.request('GET', '/client/v4/accounts/%s/pcaps' % ('f' * 32)),
                            'unknown account'))

    sim.admin('POST', 'config', {'rate_limit': 2, 'rate_limit_window': 60})
    call(PCAPS, 'GET', 'within the rate limit')
    call(OWNERSHIP, 'GET', 'within the rate limit')
    call(PCAPS, 'GET', 'over the rate limit')
    call(OWNERSHIP, 'POST', 'during the block', body={'destination_conf': 'gs://x'})
    call(STOP, 'PUT', 'during the block', '/%s/stop' % full_id)
    answers.append(Recorded(PCAPS, 'GET', sim.request('GET', '/client/v4/accounts/%s/pcaps' % SECOND_ACCOUNT),
                            'other account during the block'))
    return answers
