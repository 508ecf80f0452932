# Copyright: contributors to the cloudflare.pcap collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The event source cloudflare.pcap.notification_webhook on a loopback port, without ansible-rulebook or Java: what
it answers, logs and queues for each kind of post. Requests are written as raw bytes, so that headers that are not
UTF-8 can be sent."""

import asyncio
import json
import logging
import os
import runpy

import pytest
import yaml

from conftest import PAYLOADS, REPO_ROOT

SOURCE_PATH = os.path.join(REPO_ROOT, 'extensions', 'eda', 'plugins', 'event_source', 'notification_webhook.py')
RULEBOOKS = os.path.join(REPO_ROOT, 'extensions', 'eda', 'rulebooks')
ACCOUNT = '023e105f4ecef8ad9ca31a8372d0c353'
SECRET = 'unit-test-webhook-secret'
NOW = 1796047600.0
LOGGER = 'cloudflare.pcap.notification_webhook'


@pytest.fixture(scope='module')
def source():
    return runpy.run_path(SOURCE_PATH)


def alert(**changes):
    with open(os.path.join(PAYLOADS, 'ddos_l4_attack_tcp.json'), encoding='utf-8') as handle:
        payload = json.load(handle)
    payload['ts'] = int(NOW)
    payload.update(changes)
    return json.dumps(payload).encode('utf-8')


def authenticated(*more):
    return [(b'Cf-Webhook-Auth', SECRET.encode('ascii'))] + list(more)


async def post(port, body, headers):
    reader, writer = await asyncio.open_connection('127.0.0.1', port)
    lines = [b'POST /cloudflare HTTP/1.1', b'Host: 127.0.0.1', b'Connection: close',
             b'Content-Type: application/json', b'Content-Length: %d' % len(body)]
    lines += [name + b': ' + value for name, value in headers]
    writer.write(b'\r\n'.join(lines) + b'\r\n\r\n' + body)
    await writer.drain()
    response = await reader.read()
    writer.close()
    head, _separator, text = response.partition(b'\r\n\r\n')
    status = int(head.split(b' ', 2)[1])
    headers = dict(line.split(b': ', 1) for line in head.split(b'\r\n')[1:] if b': ' in line)
    return status, text.decode('utf-8', 'replace'), headers


def exchange(source, posts, **options):
    """Serve the source's app on a free loopback port, send `posts` (body, headers) one after the other; return the
    answers (status, text, headers) and the events queued."""
    settings = dict(secret=SECRET, account_id=ACCOUNT, clock=lambda: NOW)
    settings.update(options)
    queue = asyncio.Queue()

    async def run():
        runner = source['web'].AppRunner(source['make_app'](queue, **settings))
        await runner.setup()
        site = source['web'].TCPSite(runner, '127.0.0.1', 0)
        await site.start()
        port = runner.addresses[0][1]
        try:
            return [await post(port, body, headers) for body, headers in posts]
        finally:
            await runner.cleanup()

    answers = asyncio.run(run())
    events = []
    while not queue.empty():
        events.append(queue.get_nowait())
    return answers, events


def refusals(caplog):
    assert not [record for record in caplog.records if record.exc_info], 'a traceback was logged'
    return [record.getMessage() for record in caplog.records if record.name == LOGGER]


def test_an_authenticated_alert_of_the_account_becomes_an_event(source, caplog):
    answers, events = exchange(source, [(alert(), authenticated())])
    assert [answer[:2] for answer in answers] == [(200, 'accepted\n')]
    assert len(events) == 1 and events[0]['payload']['data']['target_ip'] == '203.0.113.10'
    assert 'Cf-Webhook-Auth' not in events[0]['meta']['headers'] and refusals(caplog) == []


@pytest.mark.parametrize('headers, reason', [
    ([], 'no cf-webhook-auth header'),
    ([(b'Cf-Webhook-Auth', b'not-the-secret')], 'wrong cf-webhook-auth header'),
    ([(b'Authorization', b'Bearer ' + SECRET.encode('ascii'))], 'no cf-webhook-auth header'),
])
def test_a_post_without_the_secret_is_answered_401_and_queues_nothing(source, caplog, headers, reason):
    caplog.set_level(logging.WARNING, LOGGER)
    answers, events = exchange(source, [(alert(), headers)])
    assert [answer[:2] for answer in answers] == [(401, reason + '\n')]
    assert events == []
    assert refusals(caplog) == ['Refused a post to /cloudflare from 127.0.0.1: %s' % reason]


@pytest.mark.parametrize('headers', [authenticated((b'X-Note', b'caf\xe9')), [(b'Cf-Webhook-Auth', b'\xff\xfe')]])
def test_a_header_that_is_not_utf8_is_answered_400_with_a_logged_reason(source, caplog, headers):
    caplog.set_level(logging.WARNING, LOGGER)
    answers, events = exchange(source, [(alert(), headers)])
    assert answers[0][0] == 400 and answers[0][1].startswith('a header that is not UTF-8')
    assert events == []
    logged = refusals(caplog)
    assert len(logged) == 1 and logged[0].startswith('Refused a post to /cloudflare from 127.0.0.1: a header that is not UTF-8')
    assert SECRET not in logged[0]


def test_a_body_over_1_mb_is_answered_413_and_logged(source, caplog):
    caplog.set_level(logging.WARNING, LOGGER)
    answers, events = exchange(source, [(b'{"text": "%s"}' % (b'x' * (1024 * 1024)), authenticated())])
    assert answers[0][:2] == (413, 'the body is over 1048576 bytes\n')
    assert events == []
    assert refusals(caplog) == ['Refused a post to /cloudflare from 127.0.0.1: the body is over 1048576 bytes']


@pytest.mark.parametrize('body', [b'[1, 2]', b'not json', b'\xff\xfe{}'])
def test_a_body_that_is_not_a_json_object_is_answered_400(source, caplog, body):
    caplog.set_level(logging.WARNING, LOGGER)
    answers, events = exchange(source, [(body, authenticated())])
    assert answers[0][:2] == (400, 'the body is not a JSON object\n') and events == []


def test_replays_and_stale_alerts_are_refused_with_a_logged_reason(source, caplog):
    caplog.set_level(logging.WARNING, LOGGER)
    posts = [(alert(), authenticated()),                          # accepted
             (alert(), authenticated()),                          # the same again: a replay
             (alert(ts=int(NOW) - 1), authenticated()),           # the same alert sent again a second earlier: new
             (alert(ts=int(NOW) - 301), authenticated()),         # older than the window of 300 s
             (alert(ts=int(NOW) + 301), authenticated()),         # too far in the future
             (alert(ts='yesterday'), authenticated())]
    answers, events = exchange(source, posts)
    assert [answer[0] for answer in answers] == [200, 409, 200, 400, 400, 400]
    assert len(events) == 2
    assert refusals(caplog) == [
        'Refused a post to /cloudflare from 127.0.0.1: a replay: alert 8f2c3b9e0d4a4c47b3d1f6a2e9c05b11 of ts %d was '
        'accepted before' % NOW,
        'Refused a post to /cloudflare from 127.0.0.1: a replay or a stale alert: its ts is 301 s from now, beyond the '
        'replay window of 300 s',
        'Refused a post to /cloudflare from 127.0.0.1: a replay or a stale alert: its ts is -301 s from now, beyond '
        'the replay window of 300 s',
        'Refused a post to /cloudflare from 127.0.0.1: an alert without a ts (Unix seconds)']


def test_the_replay_window_is_the_one_configured(source):
    answers, _events = exchange(source, [(alert(ts=int(NOW) - 100), authenticated())], replay_window=60)
    assert answers[0][0] == 400
    answers, _events = exchange(source, [(alert(ts=int(NOW) - 100), authenticated())], replay_window=120)
    assert answers[0][0] == 200


def test_an_alert_of_another_account_is_refused_and_a_test_message_passes(source, caplog):
    caplog.set_level(logging.WARNING, LOGGER)
    with open(os.path.join(PAYLOADS, 'cloudflare_test_message.json'), 'rb') as handle:
        test_message = handle.read()
    answers, events = exchange(source, [(alert(account_id='f' * 32), authenticated()), (test_message, authenticated()),
                                        (alert(account_id=ACCOUNT.upper()), authenticated())])
    assert [answer[0] for answer in answers] == [403, 200, 200]
    assert len(events) == 2 and 'text' in events[0]['payload']
    assert refusals(caplog) == ['Refused a post to /cloudflare from 127.0.0.1: an alert of another account (%s), not '
                                'of %s' % ('f' * 32, ACCOUNT)]


@pytest.mark.parametrize('trusted, forwarded, logged', [
    ([], b'198.51.100.7', '127.0.0.1'),                                    # no trusted proxy: the header is not read
    (['192.0.2.1'], b'198.51.100.7', '127.0.0.1'),                          # the post does not come from it
    (['127.0.0.1'], b'198.51.100.7', '198.51.100.7'),
    (['127.0.0.0/8'], b'203.0.113.66, 198.51.100.7, 127.0.0.2', '198.51.100.7'),  # the last one not a proxy
    (['127.0.0.1'], b'not an address', '127.0.0.1'),
])
def test_the_client_address_comes_from_a_trusted_proxy_only(source, caplog, trusted, forwarded, logged):
    caplog.set_level(logging.WARNING, LOGGER)
    exchange(source, [(alert(), [(b'X-Forwarded-For', forwarded)])], trusted_proxies=trusted)
    assert refusals(caplog) == ['Refused a post to /cloudflare from %s: no cf-webhook-auth header' % logged]


def test_the_client_address_header_can_be_another(source, caplog):
    caplog.set_level(logging.WARNING, LOGGER)
    exchange(source, [(alert(), [(b'Cf-Connecting-Ip', b'2001:db8::7'), (b'X-Forwarded-For', b'198.51.100.7')])],
             trusted_proxies=['127.0.0.1'], client_address_header='Cf-Connecting-Ip')
    assert refusals(caplog) == ['Refused a post to /cloudflare from 2001:db8::7: no cf-webhook-auth header']


def test_when_the_queue_is_full_posts_are_answered_503_with_retry_after(source, caplog):
    caplog.set_level(logging.WARNING, LOGGER)
    posts = [(alert(alert_correlation_id=str(number)), authenticated()) for number in range(3)]
    answers, events = exchange(source, posts, max_queued_events=2)
    assert [answer[0] for answer in answers] == [200, 200, 503]
    assert answers[2][2][b'Retry-After'] == b'60'
    assert len(events) == 2
    assert refusals(caplog) == ['Refused a post to /cloudflare from 127.0.0.1: the event queue is full: 2 events wait '
                                'to be processed']


@pytest.mark.parametrize('args, message', [
    ({'port': 1, 'secret': SECRET}, '"account_id" must be the Cloudflare account the captures are made in'),
    ({'port': 1, 'secret': SECRET, 'account_id': ''}, 'pass it to the rulebook (--env-vars CLOUDFLARE_ACCOUNT_ID)'),
    ({'port': 1, 'secret': SECRET, 'account_id': 'not-an-account'}, '32 hexadecimal characters'),
    ({'port': 1, 'secret': ' ', 'account_id': ACCOUNT}, 'give exactly one of "secret" and "secret_file"'),
    ({'port': 1, 'secret': SECRET, 'account_id': ACCOUNT, 'trusted_proxies': ['proxy.example']},
     '"trusted_proxies": \'proxy.example\' is no address or network'),
    ({'port': 1, 'secret': SECRET, 'account_id': ACCOUNT, 'max_queued_events': 0}, '"max_queued_events" must be'),
    ({'port': 1, 'secret': SECRET, 'account_id': ACCOUNT, 'replay_window': 'soon'}, '"replay_window" must be'),
])
def test_settings_that_cannot_work_are_refused_with_a_clear_message(source, args, message):
    with pytest.raises(ValueError) as refused:
        source['settings'](args)
    assert message in str(refused.value)


def write_secret_file(folder, content=SECRET + '\n', mode=0o600):
    path = str(folder / 'webhook_secret')
    with open(path, 'w', encoding='utf-8') as handle:
        handle.write(content)
    os.chmod(path, mode)
    return path


@pytest.mark.parametrize('mode', [0o600, 0o400, 0o640])
def test_the_secret_comes_from_a_file_that_other_users_cannot_read(source, tmp_path, mode):
    path = write_secret_file(tmp_path, mode=mode)
    # What the rulebooks pass when the secret is in a file: CLOUDFLARE_WEBHOOK_SECRET is not set.
    settings = source['settings']({'port': 1, 'secret': '', 'secret_file': path, 'account_id': ACCOUNT})
    assert settings['secret'] == SECRET


@pytest.mark.parametrize('args, content, mode, message', [
    ({'secret': SECRET}, SECRET, 0o600, 'give exactly one of "secret" and "secret_file" (the webhook destination\'s '
                                        'secret, or a file that holds it), not both'),
    ({'secret': ''}, SECRET, 0o644, '"secret_file": {path} can be read or written by other users (mode 0644); make '
                                    'it readable by its owner alone (chmod 600)'),
    ({'secret': ''}, SECRET, 0o606, '"secret_file": {path} can be read or written by other users (mode 0606)'),
    ({'secret': ''}, ' \n', 0o600, '"secret_file": {path} is empty'),
    ({'secret': ''}, None, None, '"secret_file": cannot read {path}: No such file or directory'),
    ({'secret': '', 'secret_file': ''}, None, None, 'give exactly one of "secret" and "secret_file" (the webhook '
                                                    'destination\'s secret, or a file that holds it), got neither'),
], ids=['both', 'world-readable', 'world-writable', 'empty', 'missing', 'neither'])
def test_a_secret_file_that_cannot_be_trusted_refuses_to_start(source, tmp_path, args, content, mode, message):
    path = write_secret_file(tmp_path, content, mode) if content is not None else str(tmp_path / 'missing')
    args = dict({'port': 1, 'account_id': ACCOUNT, 'secret_file': path}, **args)
    with pytest.raises(ValueError) as refused:
        source['settings'](args)
    assert str(refused.value).startswith('cloudflare.pcap.notification_webhook: ' + message.format(path=path))
    assert SECRET not in str(refused.value)


def test_a_rulebook_without_the_account_refuses_to_start(source):
    args = {'port': 0, 'secret': SECRET, 'account_id': ''}  # what the rulebooks pass without CLOUDFLARE_ACCOUNT_ID
    with pytest.raises(ValueError) as refused:
        asyncio.run(asyncio.wait_for(source['main'](asyncio.Queue(), args), timeout=10))
    assert str(refused.value).startswith('cloudflare.pcap.notification_webhook: "account_id" must be the Cloudflare '
                                         'account the captures are made in')


def test_settings_read_what_a_rulebook_template_hands_over(source):
    settings = source['settings']({'port': '5000', 'secret': SECRET, 'account_id': ' %s ' % ACCOUNT.upper(),
                                   'trusted_proxies': "['10.0.0.1', '10.1.0.0/16']", 'replay_window': '120',
                                   'max_queued_events': '', 'client_address_header': ''})
    assert settings == dict(secret=SECRET, account_id=ACCOUNT, trusted_proxies=['10.0.0.1', '10.1.0.0/16'],
                            client_address_header='X-Forwarded-For', replay_window=120, max_queued_events=1000)


@pytest.mark.parametrize('name', ['attack_capture.yml', 'attack_capture_controller.yml'])
def test_the_rulebooks_listen_on_loopback_and_pass_the_account(name):
    with open(os.path.join(RULEBOOKS, name), encoding='utf-8') as handle:
        args = yaml.safe_load(handle)[0]['sources'][0]['cloudflare.pcap.notification_webhook']
    assert args['host'] == "{{ webhook_host | default('127.0.0.1') }}"
    assert args['account_id'] == "{{ CLOUDFLARE_ACCOUNT_ID | default('') }}"
    # The secret from a file, or from a variable: without one of them the source refuses to start.
    assert args['secret_file'] == "{{ webhook_secret_file | default('') }}"
    assert args['secret'] == "{{ CLOUDFLARE_WEBHOOK_SECRET | default('') }}"


def test_accepted_alerts_are_spooled_privately_and_refused_as_replays_after_a_restart(source, tmp_path):
    path = tmp_path / 'state' / 'cloudflare.pcap' / 'notification_webhook.spool'
    clock = {'now': NOW}
    spool = source['Spool'](str(path), 300, lambda: clock['now'])
    assert spool.load() == []
    test_message = json.dumps({'text': 'Hello World!'}).encode('utf-8')
    answers, events = exchange(source, [(alert(), authenticated()), (test_message, authenticated())], spool=spool)
    assert [answer[0] for answer in answers] == [200, 200] and len(events) == 2
    assert oct(path.stat().st_mode & 0o777) == '0o600' and oct(path.parent.stat().st_mode & 0o777) == '0o700'
    # Only the alert is kept, as it was queued, without any header's secret.
    kept = [json.loads(line) for line in path.read_text().splitlines()]
    assert [entry['event'] for entry in kept] == [events[0]] and kept[0]['received'] == NOW
    assert SECRET not in path.read_text()
    # After a restart: the alert comes back from the spool, and a replay of it is refused.
    clock['now'] = NOW + 100
    restarted_spool = source['Spool'](str(path), 300, lambda: clock['now'])
    assert restarted_spool.load() == [events[0]]
    answers, events = exchange(source, [(alert(), authenticated())], spool=restarted_spool, clock=lambda: NOW + 100)
    assert answers[0][0] == 409 and not events
    # Past the window the spool forgets it, and the file keeps only what is within the window.
    clock['now'] = NOW + 301
    answers, events = exchange(source, [(alert(ts=int(NOW + 301), alert_correlation_id='next'), authenticated())],
                               spool=restarted_spool, clock=lambda: NOW + 301)
    assert answers[0][0] == 200
    assert [json.loads(line)['event']['payload']['alert_correlation_id'] for line in path.read_text().splitlines()] == ['next']


def test_the_source_sends_the_spooled_alerts_again_at_start(source, tmp_path, caplog):
    path = tmp_path / 'spool'
    payload = json.loads(alert(ts=int(source['time'].time())))
    event = {'payload': payload, 'meta': {'endpoint': 'cloudflare', 'headers': {}}}
    stale = {'payload': dict(payload, alert_correlation_id='stale'), 'meta': {}}
    path.write_text(json.dumps({'received': source['time'].time(), 'event': event}) + '\n'
                    + json.dumps({'received': source['time'].time() - 301, 'event': stale}) + '\n{"cut short')
    queue = asyncio.Queue()

    async def run():
        task = asyncio.ensure_future(source['main'](queue, {'port': 0, 'secret': SECRET, 'account_id': ACCOUNT,
                                                            'spool_file': str(path)}))
        try:
            return await asyncio.wait_for(queue.get(), 10)
        finally:
            task.cancel()

    caplog.set_level(logging.INFO, LOGGER)
    resent = asyncio.run(run())
    assert resent == dict(event, meta=dict(event['meta'], spooled=True))
    assert 'Sending again the 1 alerts accepted within the replay window before the restart' in caplog.text
    assert len(path.read_text().splitlines()) == 1
