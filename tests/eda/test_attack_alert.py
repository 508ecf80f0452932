# Copyright: contributors to the cloudflare.pcap collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The event filter cloudflare.pcap.attack_alert and the source's secret check, without ansible-rulebook or Java."""

import json
import os
import runpy

import pytest

from conftest import PAYLOADS, REPO_ROOT

EDA_PLUGINS = os.path.join(REPO_ROOT, 'extensions', 'eda', 'plugins')


@pytest.fixture
def attack_alert(tmp_path, monkeypatch):
    """A fresh copy of the filter (its per-target memory starts empty), loaded the way ansible-rulebook loads it,
    with its default state file under this test's own XDG_STATE_HOME."""
    monkeypatch.setenv('XDG_STATE_HOME', str(tmp_path / 'state'))
    return runpy.run_path(os.path.join(EDA_PLUGINS, 'event_filter', 'attack_alert.py'))


def restarted():
    """The filter as a restarted rulebook loads it: nothing in memory."""
    return runpy.run_path(os.path.join(EDA_PLUGINS, 'event_filter', 'attack_alert.py'))


def test_the_memory_of_captures_survives_a_restart_in_a_private_file(attack_alert, tmp_path, monkeypatch):
    clocks = {'monotonic': 1000.0, 'wall': 1796047600.0}
    monkeypatch.setattr(attack_alert['time'], 'monotonic', lambda: clocks['monotonic'])
    monkeypatch.setattr(attack_alert['time'], 'time', lambda: clocks['wall'])
    assert attack_alert['main'](sample('ddos_l4_attack_tcp.json'))['cloudflare_attack']['capture'] is True
    path = tmp_path / 'state' / 'cloudflare.pcap' / 'attack_alert.json'
    assert oct(path.stat().st_mode & 0o777) == '0o600' and oct(path.parent.stat().st_mode & 0o777) == '0o700'
    state = json.loads(path.read_text())
    assert state['targets'] == {'203.0.113.10 port 443 protocol 6': 1796047600.0}
    assert state['last_start_at'] == 1796047600.0
    # A restart 25 s later, on a monotonic clock that started again from 5: the same alert starts no capture.
    clocks.update(monotonic=5.0, wall=1796047625.0)
    repeat = restarted()['main'](sample('ddos_l4_attack_tcp.json'))['cloudflare_attack']
    assert repeat['capture'] is False
    assert repeat['reason'].startswith('a capture for 203.0.113.10 port 443 protocol 6 started 25 seconds ago')
    # After the window, another restart: a new capture, and the file keeps only what is within the window.
    clocks.update(monotonic=50.0, wall=1796047670.0)
    udp = sample('ddos_l4_attack_udp_ipv6.json')
    assert restarted()['main'](udp)['cloudflare_attack']['capture'] is True
    clocks.update(monotonic=60.0, wall=1796047680.0)
    assert restarted()['main'](sample('ddos_l4_attack_tcp.json'))['cloudflare_attack']['capture'] is True
    assert sorted(json.loads(path.read_text())['targets']) == ['2001:db8::20 protocol 17', '203.0.113.10 port 443 protocol 6']


def test_a_state_file_given_and_one_that_cannot_be_read(attack_alert, tmp_path, caplog, monkeypatch):
    state_file = tmp_path / 'elsewhere' / 'captures.json'
    assert attack_alert['main'](sample('ddos_l4_attack_tcp.json'), state_file=str(state_file))['cloudflare_attack']['capture']
    assert state_file.exists() and not (tmp_path / 'state').exists()
    # A relative state file: the note's path is absolute, for the playbook runs in another directory.
    monkeypatch.chdir(tmp_path)
    relative = attack_alert['main'](sample('ddos_l4_attack_tcp.json', target_port=80), state_file='relative.json')
    assert relative['cloudflare_attack']['release_file'].startswith(str(tmp_path / 'relative.json.released') + os.sep)
    state_file.write_text('not json')
    assert restarted()['main'](sample('ddos_l4_attack_tcp.json'), state_file=str(state_file))['cloudflare_attack']['capture']
    assert 'Cannot read the state file %s, starting without it' % state_file in caplog.text


def sample(name, **data):
    with open(os.path.join(PAYLOADS, name), encoding='utf-8') as handle:
        payload = json.load(handle)
    payload['data'].update(data)
    return {'payload': payload, 'meta': {'endpoint': 'cloudflare', 'headers': {}}}


def test_documented_l4_alert_becomes_a_filter(attack_alert):
    attack = attack_alert['main'](sample('ddos_l4_attack_tcp.json'))['cloudflare_attack']
    assert attack['capture'] is True
    assert attack['filter_v1'] == {'destination_address': '203.0.113.10', 'destination_port': 443, 'protocol': 6}
    assert attack['key'] == '203.0.113.10 port 443 protocol 6'
    assert attack['attack_id'] == '9c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f'


@pytest.mark.parametrize('data, filter_v1', [
    ({'target_ip': '2001:0DB8:0000:0000:0000:0000:0000:0020', 'target_port': 0, 'protocol': 'UDP'},
     {'destination_address': '2001:db8::20', 'protocol': 17}),
    ({'target_ip': '203.0.113.9/32', 'target_port': '53', 'protocol': '17'},
     {'destination_address': '203.0.113.9', 'destination_port': 53, 'protocol': 17}),
    ({'target_ip': '203.0.113.9', 'target_port': None, 'protocol': 'gre'},
     {'destination_address': '203.0.113.9', 'protocol': 47}),
    ({'target_ip': '203.0.113.9', 'target_port': 70000, 'protocol': 'an unknown name'},
     {'destination_address': '203.0.113.9'}),
])
def test_port_and_protocol_only_when_given(attack_alert, data, filter_v1):
    assert attack_alert['main'](sample('ddos_l4_attack_tcp.json', **data))['cloudflare_attack']['filter_v1'] == filter_v1


@pytest.mark.parametrize('target_ip, reason', [
    ('203.0.113.0/24', 'the target 203.0.113.0/24 is a prefix, and a capture filter takes one address'),
    ('', 'the alert names no target_ip'),
    ('string', "target_ip 'string' is not an IP address"),
])
def test_no_capture_without_one_address(attack_alert, target_ip, reason):
    attack = attack_alert['main'](sample('ddos_l4_attack_tcp.json', target_ip=target_ip))['cloudflare_attack']
    assert attack['capture'] is False
    assert attack['reason'] == reason
    assert 'filter_v1' not in attack


def test_repeat_within_the_window_then_again_after_it(attack_alert, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(attack_alert['time'], 'monotonic', lambda: clock[0])
    main = attack_alert['main']
    assert main(sample('ddos_l4_attack_tcp.json'))['cloudflare_attack']['capture'] is True
    clock[0] += 59
    repeat = main(sample('ddos_l4_attack_tcp.json'))['cloudflare_attack']
    assert repeat['capture'] is False
    assert repeat['reason'].startswith('a capture for 203.0.113.10 port 443 protocol 6 started 59 seconds ago')
    # Another port of the same address is another target.
    assert main(sample('ddos_l4_attack_tcp.json', target_port=80))['cloudflare_attack']['capture'] is True
    clock[0] += 1
    assert main(sample('ddos_l4_attack_tcp.json'))['cloudflare_attack']['capture'] is True


@pytest.mark.parametrize('repeat_window, later, capture', [
    (10, 11, True), (10, 9, False), (120, 90, False), (120, 121, True)])
def test_the_repeat_window_is_the_one_configured(attack_alert, monkeypatch, repeat_window, later, capture):
    clock = [1000.0]
    monkeypatch.setattr(attack_alert['time'], 'monotonic', lambda: clock[0])
    main = attack_alert['main']
    assert main(sample('ddos_l4_attack_tcp.json'), repeat_window=repeat_window)['cloudflare_attack']['capture'] is True
    clock[0] += later
    assert main(sample('ddos_l4_attack_tcp.json'), repeat_window=repeat_window)['cloudflare_attack']['capture'] is capture


def test_ended_attack_and_other_notifications(attack_alert):
    ended = sample('ddos_l4_attack_tcp.json')
    ended['payload']['alert_event'] = 'ALERT_STATE_EVENT_END'
    attack = attack_alert['main'](ended)['cloudflare_attack']
    assert attack['capture'] is False and attack['reason'] == 'the alert says the attack on 203.0.113.10 port 443 protocol 6 ended'
    assert attack['alert_event'] == 'ALERT_STATE_EVENT_END' and attack['filter_v1']['destination_address'] == '203.0.113.10'
    # The end of an attack on a prefix stops nothing: no capture filter names it.
    ended['payload']['data']['target_ip'] = '203.0.113.0/24'
    assert 'filter_v1' not in attack_alert['main'](ended)['cloudflare_attack']
    with open(os.path.join(PAYLOADS, 'cloudflare_test_message.json'), encoding='utf-8') as handle:
        test_message = {'payload': json.load(handle), 'meta': {}}
    assert 'cloudflare_attack' not in attack_alert['main'](dict(test_message))
    l7 = sample('ddos_l4_attack_tcp.json')
    l7['payload']['alert_type'] = 'advanced_ddos_attack_l7_alert'
    assert 'cloudflare_attack' not in attack_alert['main'](l7)


def test_secret_check_and_the_event_without_it():
    source = runpy.run_path(os.path.join(EDA_PLUGINS, 'event_source', 'notification_webhook.py'))
    check = source['check_secret']
    from multidict import CIMultiDict  # pylint: disable=import-outside-toplevel  # aiohttp's dependency
    assert check(CIMultiDict({'Cf-Webhook-Auth': 's3cret'}), 's3cret') is None
    assert check(CIMultiDict({'cf-webhook-auth': ' s3cret '}), 's3cret') is None
    assert check(CIMultiDict({'cf-webhook-auth': 's3cret2'}), 's3cret') == 'wrong cf-webhook-auth header'
    assert check(CIMultiDict({'Authorization': 'Bearer s3cret'}), 's3cret') == 'no cf-webhook-auth header'
    event = source['make_event']('cloudflare', CIMultiDict({'Cf-Webhook-Auth': 's3cret', 'Authorization': 'x',
                                                            'User-Agent': 'Go-http-client/2.0'}), {'text': 'hi'})
    assert event == {'payload': {'text': 'hi'}, 'meta': {'endpoint': 'cloudflare', 'headers': {'User-Agent': 'Go-http-client/2.0'}}}


def fail_capture(attack, reason='Cloudflare answered 429'):
    """What playbooks/attack_capture.yml's rescue writes when the capture of this alert failed."""
    with open(attack['release_file'], 'w', encoding='utf-8') as handle:
        json.dump({'key': attack['key'], 'marked_at': attack['marked_at'], 'reason': reason}, handle)


def test_a_failed_capture_frees_its_target_at_once(attack_alert, tmp_path, monkeypatch, caplog):
    clocks = {'monotonic': 1000.0, 'wall': 1796047600.0}
    monkeypatch.setattr(attack_alert['time'], 'monotonic', lambda: clocks['monotonic'])
    monkeypatch.setattr(attack_alert['time'], 'time', lambda: clocks['wall'])
    first = attack_alert['main'](sample('ddos_l4_attack_tcp.json'))['cloudflare_attack']
    assert first['capture'] is True and first['marked_at'] == 1796047600.0
    release_dir = tmp_path / 'state' / 'cloudflare.pcap' / 'attack_alert.json.released'
    assert os.path.dirname(first['release_file']) == str(release_dir)
    assert oct(release_dir.stat().st_mode & 0o777) == '0o700'
    fail_capture(first)
    # A re-post 2 s later is captured, the failure and its reason are logged, the note is consumed.
    clocks.update(monotonic=1002.0, wall=1796047602.0)
    second = attack_alert['main'](sample('ddos_l4_attack_tcp.json'))['cloudflare_attack']
    assert second['capture'] is True
    assert ('The capture of 203.0.113.10 port 443 protocol 6 failed (Cloudflare answered 429): the target is free'
            in caplog.text)
    assert not os.listdir(release_dir)
    # The state file forgot the failed capture, so a restart does not bring it back: only the second is kept, at the
    # next start slot (the failed request may have used the account's minute).
    state = json.loads((tmp_path / 'state' / 'cloudflare.pcap' / 'attack_alert.json').read_text())
    assert state['targets'] == {'203.0.113.10 port 443 protocol 6': 1796047665.0}
    assert second['start_at'] == 1796047665.0
    clocks.update(monotonic=1004.0, wall=1796047604.0)
    assert attack_alert['main'](sample('ddos_l4_attack_tcp.json'))['cloudflare_attack']['capture'] is False


def test_a_late_failure_never_frees_a_newer_capture(attack_alert, monkeypatch):
    clocks = {'monotonic': 1000.0, 'wall': 1796047600.0}
    monkeypatch.setattr(attack_alert['time'], 'monotonic', lambda: clocks['monotonic'])
    monkeypatch.setattr(attack_alert['time'], 'time', lambda: clocks['wall'])
    old = attack_alert['main'](sample('ddos_l4_attack_tcp.json'), repeat_window=10)['cloudflare_attack']
    clocks.update(monotonic=1011.0, wall=1796047611.0)
    assert attack_alert['main'](sample('ddos_l4_attack_tcp.json'), repeat_window=10)['cloudflare_attack']['capture']
    fail_capture(old)
    clocks.update(monotonic=1012.0, wall=1796047612.0)
    assert attack_alert['main'](sample('ddos_l4_attack_tcp.json'), repeat_window=10)['cloudflare_attack']['capture'] is False


def test_a_failure_noted_before_a_restart_frees_the_target_after_it(attack_alert, monkeypatch):
    clocks = {'monotonic': 1000.0, 'wall': 1796047600.0}
    monkeypatch.setattr(attack_alert['time'], 'monotonic', lambda: clocks['monotonic'])
    monkeypatch.setattr(attack_alert['time'], 'time', lambda: clocks['wall'])
    fail_capture(attack_alert['main'](sample('ddos_l4_attack_tcp.json'))['cloudflare_attack'])
    clocks.update(monotonic=3.0, wall=1796047610.0)
    assert restarted()['main'](sample('ddos_l4_attack_tcp.json'))['cloudflare_attack']['capture'] is True


def test_the_rulebooks_give_the_filter_no_template(attack_alert):
    """ansible-rulebook 1.3.2 hands a filter's arguments over as written (engine.start_source templates the source's
    arguments only): a template there reaches the filter literally, and made a folder named after it."""
    import yaml  # pylint: disable=import-outside-toplevel  # ansible-rulebook's dependency
    for name in ('attack_capture.yml', 'attack_capture_controller.yml'):
        with open(os.path.join(REPO_ROOT, 'extensions', 'eda', 'rulebooks', name), encoding='utf-8') as handle:
            rulebook = yaml.safe_load(handle)[0]
        for source in rulebook['sources']:
            for source_filter in source.get('filters', []):
                for arguments in source_filter.values():
                    templated = dict((key, value) for key, value in (arguments or {}).items() if '{{' in str(value))
                    assert not templated, '%s: a filter argument ansible-rulebook will not template: %s' % (name, templated)


def test_the_state_file_from_the_environment_and_a_template_ignored(attack_alert, tmp_path, monkeypatch, caplog):
    chosen = tmp_path / 'chosen' / 'state.json'
    monkeypatch.setenv('CLOUDFLARE_PCAP_STATE_FILE', str(chosen))
    monkeypatch.chdir(tmp_path)
    event = attack_alert['main'](sample('ddos_l4_attack_tcp.json'), state_file="{{ capture_state_file | default('') }}")
    assert event['cloudflare_attack']['capture'] is True
    assert chosen.exists()
    assert not [name for name in os.listdir(tmp_path) if '{{' in name]
    assert 'is a template, which ansible-rulebook does not render' in caplog.text


def frozen_clocks(attack_alert, monkeypatch, wall=1796047600.0):
    clocks = {'monotonic': 1000.0, 'wall': wall}
    monkeypatch.setattr(attack_alert['time'], 'monotonic', lambda: clocks['monotonic'])
    monkeypatch.setattr(attack_alert['time'], 'time', lambda: clocks['wall'])
    return clocks


def alert_of(target_ip, ts, correlation_id, **data):
    event = sample('ddos_l4_attack_tcp.json', target_ip=target_ip, **data)
    event['payload'].update(ts=ts, alert_correlation_id=correlation_id)
    return event


def test_captures_of_other_targets_get_start_slots_a_minute_and_a_margin_apart(attack_alert, monkeypatch):
    clocks = frozen_clocks(attack_alert, monkeypatch)
    monkeypatch.delenv('CLOUDFLARE_PCAP_TEST_MINUTE', raising=False)
    first = attack_alert['main'](alert_of('203.0.113.1', 1796047599, 'a1'))['cloudflare_attack']
    clocks.update(monotonic=1001.0, wall=1796047601.0)
    second = attack_alert['main'](alert_of('203.0.113.2', 1796047600, 'a2'))['cloudflare_attack']
    third = attack_alert['main'](alert_of('203.0.113.3', 1796047605, 'a3'))['cloudflare_attack']
    assert [first['start_at'], second['start_at'], third['start_at']] == [1796047600.0, 1796047665.0, 1796047730.0]
    assert first['spacing'] == 60.0
    # The capture looks back from the alert's time (its ts, never later than now), whenever it starts.
    assert [first['offset_time'], second['offset_time']] == ['2026-11-30T14:06:39Z', '2026-11-30T14:06:40Z']
    assert third['alert_at'] == 1796047601.0 and third['queued_seconds'] == 129.0
    # A ts Cloudflare could not look back from (older than its 24 hours) counts from the alert's arrival.
    stale = attack_alert['main'](alert_of('203.0.113.9', 1796047601 - 86400, 'a0'))['cloudflare_attack']
    assert stale['alert_at'] == 1796047601.0
    # A repeat of a target whose capture waits for its slot starts none, and says when it starts.
    repeat = attack_alert['main'](alert_of('203.0.113.3', 1796047601, 'a4'))['cloudflare_attack']
    assert repeat['capture'] is False
    assert repeat['reason'].startswith('a capture for 203.0.113.3 port 443 protocol 6 is queued to start in 129 seconds')
    # Long after the queue emptied, a capture starts at once.
    clocks.update(monotonic=2000.0, wall=1796048600.0)
    assert attack_alert['main'](alert_of('203.0.113.4', 1796048600, 'a5'))['cloudflare_attack']['start_at'] == 1796048600.0


def test_the_test_only_interval_and_the_slots_across_a_restart(attack_alert, monkeypatch):
    clocks = frozen_clocks(attack_alert, monkeypatch)
    monkeypatch.setenv('CLOUDFLARE_PCAP_TEST_MINUTE', '6')
    first = attack_alert['main'](alert_of('203.0.113.1', 1796047600, 'b1'))['cloudflare_attack']
    assert first['spacing'] == 6.0 and first['spacing_file'].endswith(os.path.join('cloudflare.pcap', 'attack_alert.json.spacing'))
    clocks.update(monotonic=7.0)
    assert restarted()['main'](alert_of('203.0.113.2', 1796047600, 'b2'))['cloudflare_attack']['start_at'] == 1796047606.5


def test_an_alert_sent_again_after_a_restart(attack_alert, tmp_path, monkeypatch):
    """The source sends the alerts of its spool again after a restart (meta.spooled): an alert whose capture exists
    (the playbook's done note) or that started none is handled; one whose capture was not requested is queued again."""
    clocks = frozen_clocks(attack_alert, monkeypatch)
    done = attack_alert['main'](alert_of('203.0.113.1', 1796047600, 'c1'))['cloudflare_attack']
    waiting = attack_alert['main'](alert_of('203.0.113.2', 1796047600, 'c2'))['cloudflare_attack']
    attack_alert['main'](alert_of('203.0.113.2', 1796047600, 'c3'))
    with open(done['done_file'], 'w', encoding='utf-8') as handle:
        json.dump({'key': done['key'], 'marked_at': done['marked_at']}, handle)
    clocks.update(monotonic=10.0, wall=1796047610.0)
    after = restarted()['main']
    resent = [after(dict(alert_of(ip, 1796047600, cid), meta={'spooled': True}))['cloudflare_attack']
              for ip, cid in (('203.0.113.1', 'c1'), ('203.0.113.2', 'c2'), ('203.0.113.2', 'c3'))]
    assert resent[0]['capture'] is False and resent[0]['reason'] == 'alert c1 1796047600 was handled before the rulebook restarted'
    assert 'filter_v1' not in resent[0]
    assert resent[1]['capture'] is True and resent[1]['start_at'] == waiting['start_at'] + 65
    assert resent[2]['capture'] is False and 'handled before' in resent[2]['reason']
    # The same alert not marked as sent again is a repeat like any other.
    assert after(alert_of('203.0.113.1', 1796047600, 'c1'))['cloudflare_attack']['reason'].startswith('a capture for')


def test_the_documentation_is_yaml_with_the_options_main_takes(attack_alert):
    import inspect  # pylint: disable=import-outside-toplevel
    import yaml  # pylint: disable=import-outside-toplevel  # ansible-rulebook's dependency
    documented = yaml.safe_load(attack_alert['DOCUMENTATION'])['options']
    assert sorted(documented) == sorted(list(inspect.signature(attack_alert['main']).parameters)[1:])
