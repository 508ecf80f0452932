# Copyright: contributors to the cloudflare.pcap collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ansible-rulebook event source: Cloudflare notifications posted to a generic webhook destination.

Cloudflare sends the secret of a webhook destination, unchanged, in the ``cf-webhook-auth`` header of every post
("Configure webhooks", section "Generic webhooks", and "Webhook payload schema", section "Validate webhook payloads",
on developers.cloudflare.com/notifications/). ``eda.builtin.webhook`` of ansible-rulebook 1.3 checks only
``Authorization: Bearer`` (its ``token``) or an HMAC of the body (its ``hmac_*`` options), so neither fits: this
source answers like it but checks that header, and a post without it or with another value is answered 401 and never
becomes an event. The header is left out of the event, so the secret reaches neither the rules nor the playbooks.

The secret travels in a header, not as a signature of the body: whoever saw one post could send it again. So an
alert (a payload with ``alert_type``) must also be recent (its ``ts``, Unix seconds, within ``replay_window`` of
now), new (its ``alert_correlation_id`` and ``ts`` not seen before) and of the account the captures are made in
(its ``account_id``). Every refusal is logged with its reason, never with a header's value.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import logging
import os
import re
import ssl
import stat
import time

from aiohttp import web

DOCUMENTATION = r"""
---
short_description: Receive Cloudflare notifications through a generic webhook destination.
description:
  - Listens for HTTP POSTs of Cloudflare notifications and puts each accepted one on the event queue as
    C(payload) (the JSON body) and C(meta) (C(endpoint), the path after the first slash, and C(headers), without
    C(cf-webhook-auth) and C(Authorization)), the shape of C(eda.builtin.webhook).
  - Refused, logged with the reason and the client's address, and never an event, in this order - a header that is
    not UTF-8 (400); a C(cf-webhook-auth) header that is missing or differs from O(secret) (401); a body over 1 MB
    (413); a body that is not a JSON object (400); an alert (a payload with C(alert_type)) whose C(account_id) is not
    O(account_id) (403), whose C(ts) is missing or further than O(replay_window) seconds from now (400), or whose
    C(alert_correlation_id) and C(ts) were accepted before (409, a replay); any post while O(max_queued_events)
    events wait to be processed (503, with C(Retry-After)).
options:
  host:
    description: Address to listen on. Cloudflare posts only to public addresses on port 80 or 443, so put a TLS
      reverse proxy or a Cloudflare Tunnel in front and keep the default loopback address.
    type: str
    default: 127.0.0.1
  port:
    description: TCP port to listen on.
    type: int
    required: true
  secret:
    description:
      - The secret of the Cloudflare webhook destination, sent in C(cf-webhook-auth).
      - Exactly one of O(secret) and O(secret_file) must be given (not empty). Prefer O(secret_file) - a secret in
        ansible-rulebook's environment (C(--env-vars)) is written by ansible-runner into each playbook run's
        C(artifacts/*/command) file, which an interrupted run leaves behind.
    type: str
  secret_file:
    description:
      - Path of a file that holds the secret (surrounding whitespace and the trailing newline are ignored), read
        once when the source starts. A leading C(~) is the user's home directory.
      - Other users must neither read nor write the file (for example mode C(0600) or C(0400)); the source refuses
        to start otherwise.
    type: str
  account_id:
    description:
      - The Cloudflare account the captures are made in (C(CLOUDFLARE_ACCOUNT_ID)). An alert of another account is
        refused. The source refuses to start without it.
    type: str
    required: true
  replay_window:
    description:
      - Seconds an alert's C(ts) may lie in the past (or, for clocks that differ, in the future). Older alerts are
        refused, and an alert whose C(alert_correlation_id) and C(ts) were accepted within that time is refused as
        a replay.
    type: int
    default: 300
  trusted_proxies:
    description:
      - Addresses or networks of the reverse proxies in front of the source. Only for a post that comes from one of
        them is the client's address read from O(client_address_header) (the last address in it that is not a
        trusted proxy); otherwise, and by default, the address logged is the one the connection comes from.
    type: list
    elements: str
    default: []
  client_address_header:
    description: The header in which a trusted proxy passes the client's address, for example C(X-Forwarded-For)
      (nginx, HAProxy) or C(Cf-Connecting-Ip) (Cloudflare Tunnel).
    type: str
    default: X-Forwarded-For
  max_queued_events:
    description:
      - How many accepted posts may wait for ansible-rulebook to take them. When that many wait, further posts are
        answered 503 with C(Retry-After) and logged, and nothing is queued.
    type: int
    default: 1000
  certfile:
    description: Certificate chain (PEM) to serve HTTPS directly.
    type: str
  keyfile:
    description: Private key for O(certfile).
    type: str
  spool_file:
    description:
      - The file (mode 0600, in a directory created with mode 0700) in which every accepted alert is kept for
        O(replay_window) seconds, so that nothing is lost or replayed across a restart - at start, the source sends
        the alerts of the spool again (with C(meta.spooled) true - the filter C(cloudflare.pcap.attack_alert) captures
        those whose capture had not been requested, and no other) and refuses their replays.
      - Empty or not given - the environment variable C(CLOUDFLARE_PCAP_SPOOL_FILE), else
        C(cloudflare.pcap/notification_webhook.spool) under C($XDG_STATE_HOME), or under C(~/.local/state).
      - It holds the alerts (addresses, account), never a header.
    type: str
"""

EXAMPLES = r"""
- cloudflare.pcap.notification_webhook:
    host: 127.0.0.1
    port: 5000
    secret_file: /etc/eda/cloudflare-webhook-secret
    account_id: "{{ CLOUDFLARE_ACCOUNT_ID }}"
"""

SECRET_HEADER = 'cf-webhook-auth'
DROPPED_HEADERS = (SECRET_HEADER, 'authorization')
MAX_BODY = 1024 * 1024
DEFAULT_REPLAY_WINDOW = 300
DEFAULT_MAX_QUEUED_EVENTS = 1000
# Seconds a sender is asked to wait when the queue is full.
QUEUE_FULL_RETRY_AFTER = 60
ACCOUNT_ID = re.compile(r'^[0-9a-f]{32}$')

logger = logging.getLogger('cloudflare.pcap.notification_webhook')


class Refused(Exception):
    """A post that becomes no event: the HTTP status and the reason, for the log and the answer."""

    def __init__(self, status, reason):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def check_secret(headers, secret):
    """Return None when the header carries the secret, else why not (never the value that was sent)."""
    sent = headers.get(SECRET_HEADER)
    if sent is None:
        return 'no %s header' % SECRET_HEADER
    if not hmac.compare_digest(sent.strip().encode('utf-8'), secret.encode('utf-8')):
        return 'wrong %s header' % SECRET_HEADER
    return None


def check_headers_are_utf8(headers):
    """aiohttp keeps bytes that are not UTF-8 as surrogates, which no JSON event and no comparison can hold."""
    for name, value in headers.items():
        try:
            name.encode('utf-8')
            value.encode('utf-8')
        except UnicodeEncodeError:
            raise Refused(400, 'a header that is not UTF-8 (%s)' % name.encode('utf-8', 'replace').decode('utf-8'))


def client_address(remote, headers, trusted_proxies, header):
    """The address a post comes from: the connection's, unless that is a trusted proxy that names the client."""
    if not trusted_proxies or not _is_in(remote, trusted_proxies):
        return remote
    named = [part.strip() for part in headers.get(header, '').split(',') if part.strip()]
    for address in reversed(named):
        if not _is_in(address, trusted_proxies):
            return address if _is_address(address) else remote
    return remote


def _is_address(text):
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _is_in(address, networks):
    try:
        ip = ipaddress.ip_address(address)
    except (TypeError, ValueError):
        return False
    return any(ip in network for network in networks)


class ReplayGuard:
    """Alerts are recent (their ts within `window` seconds of now), new (their correlation id and ts not accepted
    before) and of the account the captures are made in. `clock` gives Unix seconds (time.time)."""

    def __init__(self, account_id, window, clock=time.time):
        self.account_id = account_id
        self.window = window
        self.clock = clock
        self.seen = {}

    def check(self, payload):
        if 'alert_type' not in payload:
            return  # Cloudflare's test message and other notifications: no alert, no capture
        if str(payload.get('account_id') or '').lower() != self.account_id:
            raise Refused(403, 'an alert of another account (%s), not of %s' % (payload.get('account_id'), self.account_id))
        ts, now = payload.get('ts'), self.clock()
        if not isinstance(ts, (int, float)) or isinstance(ts, bool):
            raise Refused(400, 'an alert without a ts (Unix seconds)')
        if abs(now - ts) > self.window:
            raise Refused(400, 'a replay or a stale alert: its ts is %d s from now, beyond the replay window of %d s'
                          % (now - ts, self.window))
        for key in [key for key, at in self.seen.items() if abs(now - at) > self.window]:
            del self.seen[key]
        key = (payload.get('alert_correlation_id'), ts)
        if key in self.seen:
            raise Refused(409, 'a replay: alert %s of ts %s was accepted before' % key)
        self.remember(payload)

    def remember(self, payload):
        """An alert accepted: by this run, or by the one before a restart (the spool)."""
        self.seen[(payload.get('alert_correlation_id'), payload.get('ts'))] = payload.get('ts')


class BoundedPut:
    """Puts events on ansible-rulebook's queue while fewer than `limit` wait there (or wait to get there)."""

    def __init__(self, queue, limit):
        self.queue = queue
        self.limit = limit
        self.putting = 0

    def waiting(self):
        size = self.queue.qsize() if hasattr(self.queue, 'qsize') else 0
        return size + self.putting

    async def put(self, event):
        if self.waiting() >= self.limit:
            raise Refused(503, 'the event queue is full: %d events wait to be processed' % self.waiting())
        self.putting += 1
        try:
            await self.queue.put(event)
        finally:
            self.putting -= 1


SPOOL_FILE_VARIABLE = 'CLOUDFLARE_PCAP_SPOOL_FILE'
SPOOL_FILE_NAME = os.path.join('cloudflare.pcap', 'notification_webhook.spool')


def spool_path(given):
    if given:
        return given
    if os.environ.get(SPOOL_FILE_VARIABLE):
        return os.environ[SPOOL_FILE_VARIABLE]
    base = os.environ.get('XDG_STATE_HOME') or os.path.join(os.path.expanduser('~'), '.local', 'state')
    return os.path.join(base, SPOOL_FILE_NAME)


class Spool:
    """The alerts accepted within the last `window` seconds, one JSON line each ({"received", "event"}) in a file
    readable by its owner alone: sent again after a restart, and the replay memory of the next run."""

    def __init__(self, path, window, clock=time.time):
        self.path = path
        self.window = window
        self.clock = clock
        self.entries = []

    def load(self):
        """The events of the spool still within the window; the file is written anew with them alone."""
        try:
            with open(self.path, encoding='utf-8') as handle:
                lines = handle.readlines()
        except FileNotFoundError:
            lines = []
        except (OSError, UnicodeDecodeError) as exc:
            logger.warning('Cannot read the spool %s, starting without it: %s', self.path, exc)
            lines = []
        now = self.clock()
        for line in lines:
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # a line cut short when the rulebook stopped
            if isinstance(entry, dict) and isinstance(entry.get('event'), dict) \
                    and isinstance(entry.get('received'), (int, float)) and now - entry['received'] <= self.window:
                self.entries.append(entry)
        self._rewrite()
        return [entry['event'] for entry in self.entries]

    def add(self, event):
        """Keep an accepted event, before it goes to the rules: appended, or the file written anew without the
        entries that left the window."""
        now = self.clock()
        entry = {'received': now, 'event': event}
        if self.entries and now - self.entries[0]['received'] > self.window:
            self.entries = [old for old in self.entries if now - old['received'] <= self.window]
            self.entries.append(entry)
            self._rewrite()
            return
        self.entries.append(entry)
        self._open_private('a').write(json.dumps(entry) + '\n')

    def _open_private(self, mode):
        directory = os.path.dirname(self.path) or '.'
        os.makedirs(directory, mode=0o700, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if mode == 'a' else os.O_TRUNC)
        return _Closing(os.fdopen(os.open(self.path, flags, 0o600), mode, encoding='utf-8'))

    def _rewrite(self):
        temporary = '%s.%d.tmp' % (self.path, os.getpid())
        saved_path, self.path = self.path, temporary
        try:
            self._open_private('w').write(''.join(json.dumps(entry) + '\n' for entry in self.entries))
        finally:
            self.path = saved_path
        os.replace(temporary, self.path)


class _Closing:
    """A file written once and closed at once."""

    def __init__(self, handle):
        self.handle = handle

    def write(self, text):
        with self.handle:
            self.handle.write(text)


def make_event(endpoint, headers, payload):
    kept = dict((name, value) for name, value in headers.items() if name.lower() not in DROPPED_HEADERS)
    return {'payload': payload, 'meta': {'endpoint': endpoint, 'headers': kept}}


def make_app(queue, secret, account_id, replay_window=DEFAULT_REPLAY_WINDOW, trusted_proxies=(),
             client_address_header='X-Forwarded-For', max_queued_events=DEFAULT_MAX_QUEUED_EVENTS, clock=time.time,
             spool=None):
    guard = ReplayGuard(account_id, replay_window, clock)
    for entry in spool.entries if spool else ():
        guard.remember(entry['event'].get('payload') or {})
    events = BoundedPut(queue, max_queued_events)
    proxies = [ipaddress.ip_network(proxy, strict=False) for proxy in trusted_proxies]

    async def accept(request):
        check_headers_are_utf8(request.headers)
        refusal = check_secret(request.headers, secret)
        if refusal:
            raise Refused(401, refusal)
        try:
            text = await request.text()
        except web.HTTPRequestEntityTooLarge:
            raise Refused(413, 'the body is over %d bytes' % MAX_BODY)
        except UnicodeDecodeError:
            text = None
        try:
            payload = json.loads(text) if text is not None else None
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            raise Refused(400, 'the body is not a JSON object')
        guard.check(payload)
        event = make_event(request.match_info['endpoint'], request.headers, payload)
        if spool is not None and 'alert_type' in payload:
            spool.add(event)
        await events.put(event)

    async def receive(request):
        try:
            await accept(request)
        except Refused as refused:
            sender = client_address(request.remote, request.headers, proxies, client_address_header)
            logger.warning('Refused a post to /%s from %s: %s', _printable(request.match_info['endpoint']), sender,
                           refused.reason)
            headers = {'Retry-After': str(QUEUE_FULL_RETRY_AFTER)} if refused.status == 503 else None
            return web.Response(status=refused.status, text='%s\n' % refused.reason, headers=headers)
        return web.Response(text='accepted\n')

    app = web.Application(client_max_size=MAX_BODY)
    app.router.add_post(r'/{endpoint:.*}', receive)
    return app


def _printable(text):
    return text.encode('utf-8', 'replace').decode('utf-8')


def ssl_context(args):
    if not args.get('certfile'):
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args['certfile'], args.get('keyfile'))
    return context


def webhook_secret(args):
    """The secret, from `secret` or from the file `secret_file`: exactly one of them, not empty."""
    given = [name for name in ('secret', 'secret_file') if str(args.get(name) or '').strip()]
    if len(given) != 1:
        raise ValueError('cloudflare.pcap.notification_webhook: give exactly one of "secret" and "secret_file" (the '
                         'webhook destination\'s secret, or a file that holds it), %s: without a secret every post '
                         'would be refused' % ('not both' if given else 'got neither'))
    if given == ['secret']:
        return str(args['secret']).strip()
    path = os.path.expanduser(str(args['secret_file']).strip())
    try:
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode):
            raise ValueError('cloudflare.pcap.notification_webhook: "secret_file": %s is not a regular file' % path)
        if mode & (stat.S_IROTH | stat.S_IWOTH):
            raise ValueError('cloudflare.pcap.notification_webhook: "secret_file": %s can be read or written by other '
                             'users (mode %04o); make it readable by its owner alone (chmod 600)'
                             % (path, stat.S_IMODE(mode)))
        with open(path, encoding='utf-8') as handle:
            secret = handle.read().strip()
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError('cloudflare.pcap.notification_webhook: "secret_file": cannot read %s: %s'
                         % (path, getattr(error, 'strerror', None) or error.__class__.__name__))
    if not secret:
        raise ValueError('cloudflare.pcap.notification_webhook: "secret_file": %s is empty; put the webhook '
                         'destination\'s secret in it' % path)
    return secret


def settings(args):
    """The source's arguments, checked: a ValueError that names the argument and what it must be."""
    secret = webhook_secret(args)
    if 'port' not in args:
        raise ValueError('cloudflare.pcap.notification_webhook: "port" is required')
    account_id = str(args.get('account_id') or '').strip().lower()
    if not ACCOUNT_ID.match(account_id):
        raise ValueError('cloudflare.pcap.notification_webhook: "account_id" must be the Cloudflare account the '
                         'captures are made in (32 hexadecimal characters), to refuse alerts of other accounts: set '
                         'CLOUDFLARE_ACCOUNT_ID and pass it to the rulebook (--env-vars CLOUDFLARE_ACCOUNT_ID)')
    trusted_proxies = args.get('trusted_proxies') or []
    if isinstance(trusted_proxies, str):
        # A rulebook's template may hand a list over as its text: "['10.0.0.1']", or "10.0.0.1, 10.0.0.2".
        trusted_proxies = [part.strip(' \'"') for part in trusted_proxies.strip('[] ').split(',') if part.strip(' \'"')]
    for proxy in trusted_proxies:
        try:
            ipaddress.ip_network(str(proxy), strict=False)
        except ValueError:
            raise ValueError('cloudflare.pcap.notification_webhook: "trusted_proxies": %r is no address or network' % proxy)
    numbers = {}
    for name, default in (('replay_window', DEFAULT_REPLAY_WINDOW), ('max_queued_events', DEFAULT_MAX_QUEUED_EVENTS)):
        value = args.get(name)
        try:
            numbers[name] = int(default if value in (None, '') else value)
        except (TypeError, ValueError):
            numbers[name] = 0
        if numbers[name] < 1:
            raise ValueError('cloudflare.pcap.notification_webhook: "%s" must be a whole number of 1 or more' % name)
    return dict(secret=secret, account_id=account_id, trusted_proxies=[str(proxy) for proxy in trusted_proxies],
                client_address_header=args.get('client_address_header') or 'X-Forwarded-For', **numbers)


async def main(queue, args):
    checked = settings(args)
    spool = Spool(spool_path(args.get('spool_file')), checked['replay_window'])
    accepted_before = spool.load()
    runner = web.AppRunner(make_app(queue, spool=spool, **checked))
    if accepted_before:
        logger.info('Sending again the %d alerts accepted within the replay window before the restart (spool %s)',
                    len(accepted_before), spool.path)
    for event in accepted_before:
        await queue.put(dict(event, meta=dict(event.get('meta') or {}, spooled=True)))
    await runner.setup()
    site = web.TCPSite(runner, args.get('host') or '127.0.0.1', int(args['port']), ssl_context=ssl_context(args))
    await site.start()
    logger.info('Listening for Cloudflare notifications on %s:%s', args.get('host') or '127.0.0.1', args['port'])
    try:
        await asyncio.Future()
    finally:
        await runner.cleanup()


if __name__ == '__main__':

    class PrintQueue:
        """Prints the events instead of queueing them, to try the source by hand."""

        async def put(self, event):
            print(json.dumps(event))

    asyncio.run(main(PrintQueue(), {'port': 5000, 'secret': 'change-me', 'account_id': '0' * 32}))
