# Copyright: contributors to the cloudflare.pcap collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end under load: a burst of 200 authenticated posts in about 10 seconds, then a restart in the middle.

Against one simulator (Cloudflare's limits on: one simple capture a minute per account, one full capture pending or
running at a time; collect-pcaps.mdx) whose clock runs CLOCK_SPEED times faster, and the test-only
CLOUDFLARE_PCAP_TEST_MINUTE that makes the rulebook's minute the simulator's:

* 20 targets, each with its first alert and 6 repeats (other correlation ids), 30 replays of accepted posts, 25
  alerts of another account, and the end of the attack on 5 targets - one of them with a full capture running;
* once some captures are made and others still wait for their start slot, the rulebook is stopped (with every
  process of its run, as a service manager stops a service) and started again; replays of alerts accepted before
  the restart follow.

Expected: one capture per target, none refused by the simulator, every window (offset_time, time_limit) covering
its alert, no alert lost across the restart, the full capture of the ended attack stopped, no secret in any file.
"""

import concurrent.futures
import datetime
import json
import os
import random
import signal
import threading
import time

import pytest

from conftest import ACCOUNT, PAYLOADS, STEP_TIMEOUT, TEST_MINUTE, RulebookSetup, http_request, stop, wait_until

TARGETS = ['203.0.113.%d' % (100 + number) for number in range(20)]
ENDED = TARGETS[:5]
OTHER_ACCOUNT = 'ffffffffffffffffffffffffffffffff'
BUCKET = 's3://pcaps-bucket?region=us-east-1'
TIME_LIMIT = 60
BURST_SECONDS = 10.0
# The restart comes once this many captures are on the simulator: some done, most still waiting for their slot.
CAPTURES_BEFORE_RESTART = 6


def body(target, correlation_id, ts, event='ALERT_STATE_EVENT_START', account=ACCOUNT):
    with open(os.path.join(PAYLOADS, 'ddos_l4_attack_tcp.json'), encoding='utf-8') as handle:
        payload = json.load(handle)
    payload['data']['target_ip'] = target
    payload.update(alert_correlation_id=correlation_id, ts=ts, alert_event=event, account_id=account)
    return json.dumps(payload).encode('utf-8')


def post(rulebook, data):
    status, _text = http_request(rulebook.port, 'POST', '/cloudflare', body=data,
                                 headers={'Content-Type': 'application/json', 'cf-webhook-auth': rulebook.secret})
    return status


def the_burst():
    """The 200 posts, in order: (kind, target, correlation id). Replays and ends come last: a replay is of an alert
    already accepted, an end of an attack already alerted."""
    rng = random.Random(19)
    queues = [[('start', target, 'start-%d' % number)] + [('repeat', target, 'repeat-%d-%d' % (number, k)) for k in range(6)]
              for number, target in enumerate(TARGETS)]
    queues.append([('other', rng.choice(TARGETS), 'other-%d' % k) for k in range(25)])
    alerts = []
    while any(queues):
        alerts.append(rng.choice([queue for queue in queues if queue]).pop(0))
    replays = [('replay', None, None)] * 30
    ends = [('end', target, 'end-%d' % number) for number, target in enumerate(ENDED)]
    return alerts + replays + ends


def send_the_burst(rulebook, seen):
    """Send the 200 posts within BURST_SECONDS, each at its time, several at once as Cloudflare's senders would, so
    that the rulebook's speed in answering does not stretch the burst. Returns the seconds the sending took."""
    posts = the_burst()
    assert len(posts) == 200
    lock = threading.Lock()
    accepted = []
    rng = random.Random(20)
    started = seen['burst_started'] = time.monotonic()

    def send(index, kind, target, correlation_id):
        time.sleep(max(0.0, started + index * BURST_SECONDS / len(posts) - time.monotonic()))
        sent_at = time.monotonic() - started
        if kind == 'replay':
            wait_until('an accepted post to replay', lambda: accepted, STEP_TIMEOUT)
            with lock:
                data = accepted.pop(rng.randrange(len(accepted)))
        else:
            data = body(target, correlation_id, int(time.time()), 'ALERT_STATE_EVENT_END' if kind == 'end' else
                        'ALERT_STATE_EVENT_START', OTHER_ACCOUNT if kind == 'other' else ACCOUNT)
            if kind in ('start', 'repeat'):
                with lock:
                    seen['first_ts'][target] = min(json.loads(data)['ts'], seen['first_ts'].get(target, float('inf')))
                    seen['posted_at'][target] = min(time.time(), seen['posted_at'].get(target, float('inf')))
        status = post(rulebook, data)
        with lock:
            seen['statuses'].setdefault(kind, []).append(status)
            if status == 200 and kind in ('start', 'repeat'):
                accepted.append(data)
                seen['accepted'].append(data)
        return sent_at

    # One sender per post: a post waiting for its answer never holds back the next one's sending.
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(posts)) as pool:
        sent = list(pool.map(lambda args: send(args[0], *args[1]), enumerate(posts)))
    seen['answered_seconds'] = time.monotonic() - started
    return max(sent)


def full_capture(simulator, target):
    headers = {'Content-Type': 'application/json', 'Authorization': 'Bearer cfsim-token-0000000000000000000000000000000'}
    status, text = http_request(simulator.port, 'POST', '/__sim/buckets',
                                json.dumps({'destination_conf': BUCKET, 'validated': True}), headers)
    assert status == 200, text
    status, text = http_request(simulator.port, 'POST', '/client/v4/accounts/%s/pcaps' % ACCOUNT, json.dumps(
        {'type': 'full', 'system': 'magic-transit', 'time_limit': 86400, 'colo_name': 'ord02', 'destination_conf': BUCKET,
         'filter_v1': {'destination_address': target, 'destination_port': 443, 'protocol': 6}}), headers)
    assert status == 200, text
    return json.loads(text)['result']['id']


def stop_service(setup, rulebook):
    """SIGTERM to ansible-rulebook, then to what is left of its run (its playbooks run in sessions of their own)."""
    stop(rulebook.process)
    for pid in setup.processes_left():
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    wait_until('the processes of the stopped rulebook to end', lambda: not setup.processes_left(), 30)


@pytest.fixture(scope='module')
def burst(prerequisites, simulator, tmp_path_factory):
    setup = RulebookSetup(tmp_path_factory.mktemp('burst'), simulator, time_limit=TIME_LIMIT)
    seen = {'full_id': full_capture(simulator, ENDED[0]), 'statuses': {}, 'first_ts': {}, 'posted_at': {}, 'accepted': []}
    rulebook = setup.start()
    try:
        seen['burst_seconds'] = send_the_burst(rulebook, seen)
        wait_until('%d captures before the restart' % CAPTURES_BEFORE_RESTART,
                   lambda: len(simple_captures(simulator)) >= CAPTURES_BEFORE_RESTART, STEP_TIMEOUT, rulebook.process,
                   rulebook.log_path)
        seen['before_restart'] = len(simple_captures(simulator))
        stop_service(setup, rulebook)
        seen['logs'] = [rulebook.log()]
        rulebook = setup.start()
        seen['replays_after_restart'] = [post(rulebook, data) for data in seen['accepted'][:3]]
        wait_until('a capture of each of the %d targets on disk' % len(TARGETS), lambda: on_disk(setup, simulator),
                   STEP_TIMEOUT * 2, rulebook.process, rulebook.log_path)
        wait_until('the ends of the attacks to be recorded', lambda: rulebook.log().count('ended; ') >= len(ENDED),
                   STEP_TIMEOUT, rulebook.process, rulebook.log_path)
        seen['logs'].append(rulebook.log())
        seen['captures'] = simulator.captures()
        seen['creates'] = [entry for entry in simulator.admin('GET', 'requests')
                           if entry['method'] == 'POST' and entry['path'].endswith('/pcaps')]
        seen['setup'] = setup
        seen['seconds'] = time.monotonic() - seen['burst_started']
        write_timings(seen, setup)
        print('EDA burst: 200 posts sent in %.1f s, answered in %.1f s; %.0f s to the last capture on disk; %d captures '
              'before the restart' % (seen['burst_seconds'], seen['answered_seconds'], seen['seconds'],
                                      seen['before_restart']))
        yield seen
    finally:
        stop_service(setup, rulebook)


def write_timings(seen, setup):
    """For `make benchmark` (section 7): per target, the seconds from its first post to its capture on disk (the
    .pcap file's time), into the file EDA_BURST_TIMINGS names, when it names one."""
    path = os.environ.get('EDA_BURST_TIMINGS')
    if not path:
        return
    on_disk = {}
    for capture in seen['captures']:
        if capture['request']['type'] == 'simple':
            pcap = os.path.join(setup.dest_dir, capture['id'] + '.pcap')
            target = capture['request']['filter_v1']['destination_address']
            on_disk[target] = os.path.getmtime(pcap) - seen['posted_at'][target]
    with open(path, 'w', encoding='utf-8') as handle:
        json.dump({'seconds_to_disk': on_disk, 'test_minute': TEST_MINUTE, 'restart_after': seen['before_restart']}, handle)


def simple_captures(simulator):
    return [capture for capture in simulator.captures() if capture['request']['type'] == 'simple']


def on_disk(setup, simulator):
    captures = simple_captures(simulator)
    targets = set(capture['request']['filter_v1']['destination_address'] for capture in captures)
    return targets == set(TARGETS) and all(
        os.path.exists(os.path.join(setup.dest_dir, capture['id'] + suffix)) for capture in captures
        for suffix in ('.pcap', '.summary.json'))


def test_the_posts_are_answered_for_what_they_are(burst):
    statuses = burst['statuses']
    assert set(statuses['start']) == {200} and set(statuses['repeat']) == {200} and set(statuses['end']) == {200}
    assert set(statuses['replay']) == {409}, statuses['replay']
    assert set(statuses['other']) == {403}
    # Sent within the burst's 10 s, whatever the rulebook's speed in answering (printed, not judged).
    assert burst['burst_seconds'] < BURST_SECONDS + 2
    # The replay memory survives the restart (the source's spool).
    assert burst['replays_after_restart'] == [409, 409, 409]


def test_one_capture_per_target_and_none_refused(burst):
    simple = [capture for capture in burst['captures'] if capture['request']['type'] == 'simple']
    targets = sorted(capture['request']['filter_v1']['destination_address'] for capture in simple)
    assert targets == sorted(TARGETS), targets
    refused = [entry for entry in burst['creates'] if entry['status'] != 200]
    assert not refused, refused
    assert 0 < burst['before_restart'] < len(TARGETS)


def test_captures_are_a_minute_apart_on_the_simulators_clock(burst):
    submitted = sorted(datetime.datetime.fromisoformat(capture['submitted'].replace('Z', '+00:00'))
                       for capture in burst['captures'] if capture['request']['type'] == 'simple')
    gaps = [(later - earlier).total_seconds() for earlier, later in zip(submitted, submitted[1:])]
    assert min(gaps) >= 60, gaps


def test_every_window_covers_its_alert(burst):
    for capture in burst['captures']:
        if capture['request']['type'] != 'simple':
            continue
        target = capture['request']['filter_v1']['destination_address']
        offset = datetime.datetime.fromisoformat(capture['request']['offset_time'].replace('Z', '+00:00')).timestamp()
        assert offset - capture['request']['time_limit'] <= burst['first_ts'][target] <= offset, (target, capture)


def test_no_alert_lost_across_the_restart(burst):
    before, after = burst['logs']
    assert 'Sending again the' in after and 'alerts accepted within the replay window before the restart' in after
    assert 'was handled before the rulebook restarted' in after
    # Every target has its files: the capture and its summary.
    for capture in burst['captures']:
        if capture['request']['type'] == 'simple':
            assert os.path.exists(os.path.join(burst['setup'].dest_dir, capture['id'] + '.summary.json'))
    assert 'failed=1' not in after, after[-3000:]
    assert before


def test_the_ended_attacks_are_recorded_and_the_full_capture_stopped(burst):
    full = [capture for capture in burst['captures'] if capture['id'] == burst['full_id']]
    assert full and full[0].get('stop_requested'), full
    text = ' '.join(' '.join(burst['logs']).split())
    assert 'the attack on %s port 443 protocol 6 ended; stopped the full capture %s' % (ENDED[0], burst['full_id']) in text
    for target in ENDED[1:]:
        assert 'the attack on %s port 443 protocol 6 ended;' % target in text


def test_no_secret_in_any_file(burst):
    secret = burst['setup'].secret.encode('ascii')
    for directory, _dirs, files in os.walk(str(burst['setup'].work)):
        # The collection's symlink, and the secret files of the guide's setup (where the secret belongs).
        if os.sep + 'collections' in directory or os.sep + 'secrets' in directory:
            continue
        for name in files:
            path = os.path.join(directory, name)
            if os.path.islink(path):
                continue
            try:
                with open(path, 'rb') as handle:
                    assert secret not in handle.read(), path
            except FileNotFoundError:
                continue  # a temporary file of a playbook still writing its custody record
