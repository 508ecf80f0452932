# Copyright: contributors to the cloudflare.pcap collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection playbooks cloudflare.pcap.attack_capture and attack_end, run by ansible-playbook as ansible-rulebook
runs them. When Cloudflare (the simulator) refuses the capture, the playbook asks once more a minute later; when that
is refused too, it fails with both reasons and frees the target in the filter's memory, so that the next alert for it
starts a capture."""

import datetime
import json
import os
import runpy
import subprocess

from conftest import ACCOUNT, PAYLOADS, REPO_ROOT, TEST_MINUTE, TOKEN, find_program, http_request

BUCKET = 's3://pcaps-bucket?region=us-east-1'
FILTER = os.path.join(REPO_ROOT, 'extensions', 'eda', 'plugins', 'event_filter', 'attack_alert.py')


def alert():
    with open(os.path.join(PAYLOADS, 'ddos_l4_attack_tcp.json'), encoding='utf-8') as handle:
        return {'payload': json.load(handle), 'meta': {'endpoint': 'cloudflare', 'headers': {}}}


def run_playbook(name, event, simulator, tmp_path):
    """ansible-playbook NAME as ansible-rulebook's run_playbook runs it: the event as ansible_eda.event."""
    collections = tmp_path / 'collections' / 'ansible_collections' / 'cloudflare'
    if not collections.exists():
        collections.mkdir(parents=True)
        os.symlink(REPO_ROOT, str(collections / 'pcap'))
    variables = tmp_path / 'vars.json'
    variables.write_text(json.dumps({'ansible_eda': {'event': event}, 'capture_dest_dir': str(tmp_path / 'captures'),
                                     'capture_time_limit': 60, 'capture_packet_limit': 200}), encoding='utf-8')
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(tmp_path / 'collections'), ANSIBLE_NOCOLOR='1',
               ANSIBLE_LOCAL_TEMP=str(tmp_path / 'ansible-tmp'), CLOUDFLARE_API_TOKEN=TOKEN,
               CLOUDFLARE_ACCOUNT_ID=ACCOUNT, CLOUDFLARE_BASE_URL=simulator.base_url)
    return subprocess.run([find_program('ansible-playbook'), '-i', 'localhost,', '-c', 'local',
                           '-e', 'ansible_python_interpreter={{ ansible_playbook_python }}', '-e', '@' + str(variables),
                           name], cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=300, check=False)


def refuse_capture_requests(simulator, times):
    """The next `times` capture requests answered 429, as Cloudflare answers a request within the account's minute."""
    refusal = {'method': 'POST', 'path': '/pcaps$', 'kind': 'status', 'status': 429, 'times': times}
    status, body = http_request(simulator.port, 'POST', '/__sim/faults', json.dumps({'faults': [refusal]}),
                                {'Content-Type': 'application/json'})
    assert status == 200, body


def capture_requests(simulator):
    """(status, Unix time on the simulator's clock) of each capture request the simulator answered, in order."""
    return [(entry['status'], datetime.datetime.fromisoformat(entry['time'].replace('Z', '+00:00')).timestamp())
            for entry in simulator.admin('GET', 'requests')
            if entry['method'] == 'POST' and entry['path'].endswith('/pcaps')]


def refused_run(simulator, tmp_path, monkeypatch, refusals):
    """The playbook for the filter's event of the alert (with the test's minute, which the second request waits at
    least), its first `refusals` capture requests answered 429. Returns the filter, the run and its output on one line."""
    http_request(simulator.port, 'POST', '/__sim/reset')
    monkeypatch.setenv('XDG_STATE_HOME', str(tmp_path / 'state'))
    monkeypatch.setenv('CLOUDFLARE_PCAP_TEST_MINUTE', str(TEST_MINUTE))
    attack_alert = runpy.run_path(FILTER)
    event = attack_alert['main'](alert())
    assert event['cloudflare_attack']['capture'] is True
    refuse_capture_requests(simulator, refusals)
    run = run_playbook('cloudflare.pcap.attack_capture', event, simulator, tmp_path)
    return attack_alert, run, ' '.join(run.stdout.split())


def test_a_refused_capture_is_asked_for_once_more_a_minute_later(simulator, tmp_path, monkeypatch):
    attack_alert, run, text = refused_run(simulator, tmp_path, monkeypatch, 1)
    assert run.returncode == 0, run.stdout + run.stderr
    assert 'Cloudflare refused the capture of 203.0.113.10 port 443 protocol 6' in text, run.stdout
    assert 'trying once more in 4 seconds, within its limits' in text, run.stdout
    requests = capture_requests(simulator)
    assert [status for status, _time in requests] == [429, 200], requests
    # Cloudflare's minute, on the simulator's clock, between the refused request and the next.
    assert requests[1][1] - requests[0][1] >= 60, requests
    [capture] = simulator.captures()
    assert os.path.exists(tmp_path / 'captures' / (capture['id'] + '.pcap'))
    assert 'captured 203.0.113.10 port 443 protocol 6 in capture %s' % capture['id'] in text, run.stdout
    # The capture exists: the target stays taken.
    assert attack_alert['main'](alert())['cloudflare_attack']['capture'] is False


def test_a_capture_refused_twice_fails_the_playbook_and_frees_its_target(simulator, tmp_path, monkeypatch):
    attack_alert, run, text = refused_run(simulator, tmp_path, monkeypatch, 50)
    assert run.returncode == 2, run.stdout + run.stderr
    assert 'no capture of 203.0.113.10 port 443 protocol 6' in text, run.stdout
    assert '; once more: ' in text and 'the target is free, the next alert for it starts a capture' in text, run.stdout
    assert [status for status, _time in capture_requests(simulator)] == [429, 429]
    assert not simulator.captures(), 'the simulator made a capture it refused'
    assert not os.path.exists(tmp_path / 'captures') or not os.listdir(tmp_path / 'captures')
    # The next alert for the target (the filter in the same rulebook) starts a capture at once.
    assert attack_alert['main'](alert())['cloudflare_attack']['capture'] is True


def api(simulator, method, path, body=None):
    """A call of the simulated Cloudflare API (or its admin API, path /__sim/...), JSON in and out."""
    if not path.startswith('/__sim/'):
        path = '/client/v4/accounts/%s%s' % (ACCOUNT, path)
    status, text = http_request(simulator.port, method, path, json.dumps(body) if body is not None else None,
                                {'Content-Type': 'application/json', 'Authorization': 'Bearer ' + TOKEN})
    assert status in (200, 204), text
    return json.loads(text) if text else None


def test_the_end_of_an_attack_stops_its_full_capture_and_only_that(simulator, tmp_path, monkeypatch):
    monkeypatch.setenv('XDG_STATE_HOME', str(tmp_path / 'state'))
    api(simulator, 'POST', '/__sim/reset')
    api(simulator, 'POST', '/__sim/buckets', {'destination_conf': BUCKET, 'validated': True})
    target = {'destination_address': '203.0.113.10', 'destination_port': 443, 'protocol': 6}
    full = {'type': 'full', 'system': 'magic-transit', 'time_limit': 3600, 'colo_name': 'ord02',
            'destination_conf': BUCKET}
    of_attack = api(simulator, 'POST', '/pcaps', dict(full, filter_v1=target))['result']['id']
    simple = api(simulator, 'POST', '/pcaps', {'type': 'simple', 'system': 'magic-transit', 'time_limit': 300,
                                               'packet_limit': 10000, 'filter_v1': target})['result']['id']
    ended = alert()
    ended['payload']['alert_event'] = 'ALERT_STATE_EVENT_END'
    event = runpy.run_path(FILTER)['main'](ended)
    assert event['cloudflare_attack']['capture'] is False
    # A full capture submitted before the attack started is not the attack's.
    later = dict(event, cloudflare_attack=dict(event['cloudflare_attack'], start_time='2099-01-01T00:00:00Z'))
    run = run_playbook('cloudflare.pcap.attack_end', later, simulator, tmp_path)
    assert 'no full capture of it was pending or running' in ' '.join(run.stdout.split()), run.stdout
    run = run_playbook('cloudflare.pcap.attack_end', event, simulator, tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert ('the attack on 203.0.113.10 port 443 protocol 6 ended; stopped the full capture %s.' % of_attack
            in ' '.join(run.stdout.split())), run.stdout
    captures = dict((capture['id'], capture) for capture in simulator.captures())
    assert captures[of_attack].get('stop_requested'), captures[of_attack]
    assert not captures[simple].get('stop_requested')
    # The full capture of another target (one a minute later, once the first has stopped) is left running.
    api(simulator, 'POST', '/__sim/clock', {'advance': 120})
    other = api(simulator, 'POST', '/pcaps', dict(full, filter_v1={'destination_address': '203.0.113.99'}))['result']['id']
    run = run_playbook('cloudflare.pcap.attack_end', event, simulator, tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert 'no full capture of it was pending or running' in ' '.join(run.stdout.split()), run.stdout
    assert not dict((capture['id'], capture) for capture in simulator.captures())[other].get('stop_requested')
