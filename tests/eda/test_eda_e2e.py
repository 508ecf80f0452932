# Copyright: contributors to the cloudflare.pcap collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end: Cloudflare attack alerts posted to the rulebook start captures on the simulator.

One scenario, in this order, against one ansible-rulebook and one simulator:

1. a forged alert without the webhook secret, and one with a wrong secret;
2. a TCP attack alert on 203.0.113.10 port 443 (the capture runs and is downloaded);
3. the same alert again, within the minute;
4. a UDP attack alert on an IPv6 address without a port (written in full, upper case);
5. the end of the TCP attack (its capture is simple: recorded, nothing stopped);
6. Cloudflare's test message ("Save and Test"), which is processed after everything before it, so that what the
   simulator shows then is final.

The tests below check what each step left behind.
"""

import json
import os
import re
import time

import pytest

from conftest import STEP_TIMEOUT, wait_until

TCP_FILTER = {'destination_address': '203.0.113.10', 'destination_port': 443, 'protocol': 6}
UDP_FILTER = {'destination_address': '2001:db8::20', 'protocol': 17}
FORGED_ADDRESS = '198.51.100.7'
REPEAT_MESSAGE = ('no capture: a capture for 203.0.113.10 port 443 protocol 6 started')
# The TCP capture is simple: nothing to stop, the end is recorded.
END_MESSAGE = ('the attack on 203.0.113.10 port 443 protocol 6 ended; no full capture of it was pending or running')
OTHER_MESSAGE = 'Cloudflare notification that is no attack alert, nothing to capture: Hello World!'


def captures_with(simulator, filter_v1):
    return [capture for capture in simulator.captures() if capture['request'].get('filter_v1') == filter_v1]


def wait_for_capture_on_disk(simulator, rulebook, filter_v1):
    """The capture with this filter, once the playbook has downloaded it into capture_dest_dir."""
    captures = wait_until('a capture with filter_v1 %s on the simulator' % filter_v1,
                          lambda: captures_with(simulator, filter_v1), STEP_TIMEOUT, rulebook.process, rulebook.log_path)
    path = os.path.join(rulebook.dest_dir, captures[0]['id'] + '.pcap')
    wait_until('the playbook to download %s' % path, lambda: os.path.exists(path), STEP_TIMEOUT, rulebook.process,
               rulebook.log_path)
    return path


@pytest.fixture(scope='module')
def scenario(simulator, rulebook):
    seen = {'started': time.monotonic()}
    seen['no_secret'] = rulebook.post('ddos_l4_attack_unauthenticated.json')
    seen['wrong_secret'] = rulebook.post('ddos_l4_attack_unauthenticated.json', secret='not-' + rulebook.secret)
    seen['tcp_post'] = rulebook.post('ddos_l4_attack_tcp.json', secret=rulebook.secret)
    seen['tcp_file'] = wait_for_capture_on_disk(simulator, rulebook, TCP_FILTER)
    seen['repeat_post'] = rulebook.post('ddos_l4_attack_tcp.json', secret=rulebook.secret)
    rulebook.wait_for_log(REPEAT_MESSAGE)
    # A lower-case header name, as an HTTP/2 client sends it.
    seen['udp_post'] = rulebook.post('ddos_l4_attack_udp_ipv6.json', secret=rulebook.secret, header='cf-webhook-auth')
    seen['udp_file'] = wait_for_capture_on_disk(simulator, rulebook, UDP_FILTER)
    seen['end_post'] = rulebook.post('ddos_l4_attack_tcp_end.json', secret=rulebook.secret)
    rulebook.wait_for_log(END_MESSAGE)
    seen['test_post'] = rulebook.post('cloudflare_test_message.json', secret=rulebook.secret)
    rulebook.wait_for_log(OTHER_MESSAGE)
    seen['captures'] = simulator.captures()
    seen['creates'] = [entry for entry in simulator.admin('GET', 'requests')
                       if entry['method'] == 'POST' and entry['path'].endswith('/pcaps')]
    seen['log'] = rulebook.log()
    seen['seconds'] = time.monotonic() - seen['started']
    print('EDA scenario took %.0f seconds after ansible-rulebook started' % seen['seconds'])
    return seen


def test_posts_without_the_secret_are_refused_and_start_nothing(scenario):
    assert scenario['no_secret'] == (401, 'no cf-webhook-auth header\n')
    assert scenario['wrong_secret'] == (401, 'wrong cf-webhook-auth header\n')
    assert 'Refused a post to /cloudflare from 127.0.0.1: no cf-webhook-auth header' in scenario['log']
    assert 'Refused a post to /cloudflare from 127.0.0.1: wrong cf-webhook-auth header' in scenario['log']
    assert not [capture for capture in scenario['captures']
                if capture['request'].get('filter_v1', {}).get('destination_address') == FORGED_ADDRESS]
    # As a whole address: the summaries of other captures list random sources such as 198.51.100.77.
    assert not re.search(r'(?<![0-9.])%s(?![0-9])' % re.escape(FORGED_ADDRESS), scenario['log'])


def test_an_attack_alert_starts_exactly_one_capture_of_its_target(scenario):
    assert scenario['tcp_post'] == (200, 'accepted\n')
    tcp = [capture for capture in scenario['captures'] if capture['request'].get('filter_v1') == TCP_FILTER]
    assert len(tcp) == 1, scenario['captures']
    assert tcp[0]['request']['type'] == 'simple'
    assert tcp[0]['request']['time_limit'] == 60
    assert tcp[0]['request']['packet_limit'] == 200
    assert tcp[0]['status'] == 'success'
    assert os.path.getsize(scenario['tcp_file']) > 24
    assert 'starting a capture of 203.0.113.10 port 443 protocol 6' in scenario['log']


def test_a_repeated_alert_within_the_minute_starts_none_and_says_so(scenario):
    assert scenario['repeat_post'] == (200, 'accepted\n')
    assert len([capture for capture in scenario['captures'] if capture['request'].get('filter_v1') == TCP_FILTER]) == 1
    assert scenario['log'].count('starting a capture of 203.0.113.10 port 443 protocol 6') == 1
    assert 'Cloudflare allows one packet capture a minute: this alert starts no second capture' in scenario['log']


def test_an_ipv6_alert_without_a_port_filters_on_address_and_protocol(scenario):
    assert scenario['udp_post'] == (200, 'accepted\n')
    udp = [capture for capture in scenario['captures'] if capture['request'].get('filter_v1') == UDP_FILTER]
    assert len(udp) == 1, scenario['captures']
    assert os.path.exists(scenario['udp_file'])


def test_the_end_of_the_attack_is_recorded_and_stops_no_simple_capture(scenario):
    assert scenario['end_post'] == (200, 'accepted\n')
    assert 'the attack on 203.0.113.10 port 443 protocol 6 ended, stopping its full captures' in scenario['log']
    assert not [capture for capture in scenario['captures'] if capture.get('stop_requested')]


def test_nothing_else_was_captured(scenario):
    assert scenario['test_post'] == (200, 'accepted\n')
    assert sorted(capture['request']['filter_v1']['destination_address'] for capture in scenario['captures']) == [
        '2001:db8::20', '203.0.113.10']
    assert len(scenario['creates']) == 2, scenario['creates']
    assert 'fatal:' not in scenario['log'] and 'failed=1' not in scenario['log']


def test_the_secret_is_never_printed(scenario, rulebook):
    assert rulebook.secret not in scenario['log']
    for name in os.listdir(rulebook.dest_dir):
        with open(os.path.join(rulebook.dest_dir, name), 'rb') as handle:
            assert rulebook.secret.encode('ascii') not in handle.read()


def test_the_custody_record_names_the_alert_and_the_event(scenario, rulebook):
    """The role's custody record of the capture an alert started holds the alert's correlation id and the event's uuid."""
    path = scenario['tcp_file'][:-len('.pcap')] + '.manifest.json'
    wait_until('the playbook to write %s' % path, lambda: os.path.exists(path), STEP_TIMEOUT, rulebook.process,
               rulebook.log_path)
    with open(path, encoding='utf-8') as handle:
        ran_by = json.load(handle)['custody_log'][-1]['by']
    assert ran_by['rulebook_correlation_id'] == '8f2c3b9e0d4a4c47b3d1f6a2e9c05b11'
    assert re.match(r'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$', ran_by['rulebook_event_uuid']), ran_by


def test_no_folder_is_named_after_a_template(scenario, rulebook):
    """ansible-rulebook 1.3.2 does not template a filter's arguments: a template there became a folder's name in the
    rulebook's working directory. The state file is where XDG_STATE_HOME puts it."""
    work = os.path.dirname(rulebook.dest_dir)
    assert not [name for name in os.listdir(work) if '{' in name], os.listdir(work)
    assert os.path.exists(os.path.join(work, 'state', 'cloudflare.pcap', 'attack_alert.json'))
