# Copyright: contributors to the cloudflare.pcap collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end: neither the webhook secret nor the API token is in any file that a rulebook run leaves, also after
an interrupt.

ansible-rulebook runs each playbook with ansible-runner in a folder eda* under TMPDIR, where ansible-runner writes
the whole environment (artifacts/<uuid>/command) and the extra vars (env/extravars); ansible-rulebook deletes the
folder when the playbook ends, but not when it is killed. Set up as the guide says (the secret and the token in
files, conftest.RulebookSetup), one capture runs to its end, then ansible-rulebook is killed while the next
capture runs. Every file left under TMPDIR, the rulebook's working directory, HOME, the capture directory and the
state directory is then searched for both secrets.
"""

import glob
import json
import os
import signal

import pytest

from conftest import STEP_TIMEOUT, TOKEN, RulebookSetup, stop, wait_until

TCP_FILTER = {'destination_address': '203.0.113.10', 'destination_port': 443, 'protocol': 6}
UDP_FILTER = {'destination_address': '2001:db8::20', 'protocol': 17}


def captures_with(simulator, filter_v1):
    return [capture for capture in simulator.captures() if capture['request'].get('filter_v1') == filter_v1]


def files_holding(folders, texts):
    """(path, text) for every file under the folders that holds one of the texts."""
    found = []
    for folder in folders:
        for root, _dirs, names in os.walk(folder):
            for name in names:
                path = os.path.join(root, name)
                if os.path.islink(path) or not os.path.isfile(path):
                    continue
                with open(path, 'rb') as handle:
                    content = handle.read()
                found.extend((path, text) for text in texts if text.encode('ascii') in content)
    return found


@pytest.fixture(scope='module')
def interrupted_run(prerequisites, simulator, tmp_path_factory):
    work = tmp_path_factory.mktemp('eda-secrets')
    folders = {name: work / name for name in ('tmp', 'run', 'home', 'captures', 'state')}
    for folder in folders.values():
        folder.mkdir()
    environment = {'TMPDIR': str(folders['tmp']), 'HOME': str(folders['home']),
                   'XDG_STATE_HOME': str(folders['state']), 'ANSIBLE_LOCAL_TEMP': str(folders['tmp'] / 'ansible')}
    # 300 seconds of capture are 20 real seconds on the simulator's clock: time to interrupt the second one.
    setup = RulebookSetup(work, simulator, time_limit=300, dest_dir=folders['captures'], environment=environment,
                          cwd=folders['run'])
    rulebook = setup.start()
    process, log_path, secret = rulebook.process, rulebook.log_path, setup.secret
    try:
        assert rulebook.post('ddos_l4_attack_tcp.json', secret=secret) == (200, 'accepted\n')
        tcp = wait_until('the TCP capture on the simulator', lambda: captures_with(simulator, TCP_FILTER),
                         STEP_TIMEOUT, process, log_path)[0]
        manifest = folders['captures'] / (tcp['id'] + '.manifest.json')
        wait_until('the playbook to write %s' % manifest, manifest.exists, STEP_TIMEOUT, process, log_path)
        rulebook.wait_for_log('PLAY RECAP')
        assert rulebook.post('ddos_l4_attack_udp_ipv6.json', secret=secret) == (200, 'accepted\n')
        wait_until('the UDP capture to run on the simulator',
                   lambda: [c for c in captures_with(simulator, UDP_FILTER) if c['status'] == 'running'],
                   STEP_TIMEOUT, process, log_path)
        # In the middle of the capture: the playbook waits for it, ansible-runner's folder is there.
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        with open(log_path, encoding='utf-8', errors='replace') as handle:
            log = handle.read()
    finally:
        stop(process)
    # The rulebook's log is in its working directory, searched with the rest.
    os.replace(log_path, str(folders['run'] / 'ansible-rulebook.log'))
    return {'folders': folders, 'secret': secret, 'log': log}


def test_the_interrupted_run_left_its_ansible_runner_folder(interrupted_run):
    """What the search below covers: the folder of the playbook run that was killed, with the environment that
    ansible-runner wrote. It names the token's file, not the token."""
    commands = glob.glob(os.path.join(str(interrupted_run['folders']['tmp']), 'eda*', 'artifacts', '*', 'command'))
    assert commands, 'no eda*/artifacts/*/command left in TMPDIR: the playbook run was not interrupted'
    with open(commands[0], encoding='utf-8') as handle:
        environment = json.load(handle)['env']
    assert environment['CLOUDFLARE_API_TOKEN_FILE'].endswith('api_token')
    assert 'CLOUDFLARE_API_TOKEN' not in environment and 'CLOUDFLARE_WEBHOOK_SECRET' not in environment
    assert glob.glob(os.path.join(str(interrupted_run['folders']['tmp']), 'eda*', 'env', 'extravars'))


def test_no_file_left_holds_the_webhook_secret_or_the_api_token(interrupted_run):
    folders = interrupted_run['folders']
    assert 'PLAY RECAP' in interrupted_run['log'] and 'failed=1' not in interrupted_run['log']
    assert any(name.endswith('.manifest.json') for name in os.listdir(str(folders['captures'])))
    leaks = files_holding([str(folder) for folder in folders.values()], [interrupted_run['secret'], TOKEN])
    assert not leaks, '\n'.join('%s holds the %s' % (path, 'API token' if text == TOKEN else 'webhook secret')
                                for path, text in leaks)
