# Copyright: contributors to the cloudflare.pcap collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection playbook cloudflare.pcap.attack_capture, run by ansible-playbook as ansible-rulebook runs it, when
Cloudflare (the simulator) refuses the capture: the playbook fails with the reason and frees the target in the
filter's memory, so that the next alert for it starts a capture."""

import json
import os
import runpy
import subprocess

from conftest import ACCOUNT, PAYLOADS, REPO_ROOT, TOKEN, find_program, http_request

FILTER = os.path.join(REPO_ROOT, 'extensions', 'eda', 'plugins', 'event_filter', 'attack_alert.py')


def alert():
    with open(os.path.join(PAYLOADS, 'ddos_l4_attack_tcp.json'), encoding='utf-8') as handle:
        return {'payload': json.load(handle), 'meta': {'endpoint': 'cloudflare', 'headers': {}}}


def test_a_refused_capture_fails_the_playbook_and_frees_its_target(simulator, tmp_path, monkeypatch):
    monkeypatch.setenv('XDG_STATE_HOME', str(tmp_path / 'state'))
    attack_alert = runpy.run_path(FILTER)
    event = attack_alert['main'](alert())
    assert event['cloudflare_attack']['capture'] is True
    refusal = {'method': 'POST', 'path': '/pcaps$', 'kind': 'status', 'status': 429, 'times': 50}
    status, body = http_request(simulator.port, 'POST', '/__sim/faults', json.dumps({'faults': [refusal]}),
                                {'Content-Type': 'application/json'})
    assert status == 200, body
    collections = tmp_path / 'collections' / 'ansible_collections' / 'cloudflare'
    collections.mkdir(parents=True)
    os.symlink(REPO_ROOT, str(collections / 'pcap'))
    variables = tmp_path / 'vars.json'
    variables.write_text(json.dumps({'ansible_eda': {'event': event}, 'capture_dest_dir': str(tmp_path / 'captures'),
                                     'capture_time_limit': 60, 'capture_packet_limit': 200}), encoding='utf-8')
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(tmp_path / 'collections'), ANSIBLE_NOCOLOR='1',
               ANSIBLE_LOCAL_TEMP=str(tmp_path / 'ansible-tmp'), CLOUDFLARE_API_TOKEN=TOKEN,
               CLOUDFLARE_ACCOUNT_ID=ACCOUNT, CLOUDFLARE_BASE_URL=simulator.base_url)
    run = subprocess.run([find_program('ansible-playbook'), '-i', 'localhost,', '-c', 'local',
                          '-e', 'ansible_python_interpreter={{ ansible_playbook_python }}', '-e', '@' + str(variables),
                          'cloudflare.pcap.attack_capture'], cwd=str(tmp_path), env=env, capture_output=True, text=True,
                         timeout=300, check=False)
    assert run.returncode == 2, run.stdout + run.stderr
    assert 'no capture of 203.0.113.10 port 443 protocol 6' in run.stdout, run.stdout
    assert '429' in run.stdout and 'the target is free, the next alert for it starts a capture' in run.stdout, run.stdout
    assert not [capture for capture in simulator.captures()], 'the simulator made a capture it refused'
    assert not os.path.exists(tmp_path / 'captures') or not os.listdir(tmp_path / 'captures')
    # The next alert for the target (the filter in the same rulebook) starts a capture at once.
    assert attack_alert['main'](alert())['cloudflare_attack']['capture'] is True
