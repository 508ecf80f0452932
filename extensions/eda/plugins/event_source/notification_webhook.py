# Copyright: contributors to the cloudflare.pcap collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ansible-rulebook event source: Cloudflare notifications posted to a generic webhook destination.

Cloudflare sends the secret of a webhook destination, unchanged, in the ``cf-webhook-auth`` header of every post
("Configure webhooks", section "Generic webhooks", and "Webhook payload schema", section "Validate webhook payloads",
on developers.cloudflare.com/notifications/). ``eda.builtin.webhook`` of ansible-rulebook 1.3 checks only
``Authorization: Bearer`` (its ``token``) or an HMAC of the body (its ``hmac_*`` options), so neither fits: this
source answers like it but checks that header, and a post without it or with another value is answered 401 and never
becomes an event. The header is left out of the event, so the secret reaches neither the rules nor the playbooks.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import ssl

from aiohttp import web

DOCUMENTATION = r"""
---
short_description: Receive Cloudflare notifications through a generic webhook destination.
description:
  - Listens for HTTP POSTs of Cloudflare notifications and puts each authenticated one on the event queue as
    C(payload) (the JSON body) and C(meta) (C(endpoint), the path after the first slash, and C(headers), without
    C(cf-webhook-auth) and C(Authorization)), the shape of C(eda.builtin.webhook).
  - A post whose C(cf-webhook-auth) header is missing or differs from O(secret) is answered 401 and dropped; a body
    that is not a JSON object is answered 400 and dropped. Each refusal is logged, without the header's value.
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
    description: The secret of the Cloudflare webhook destination, sent in C(cf-webhook-auth). Must not be empty.
    type: str
    required: true
  certfile:
    description: Certificate chain (PEM) to serve HTTPS directly.
    type: str
  keyfile:
    description: Private key for O(certfile).
    type: str
"""

EXAMPLES = r"""
- cloudflare.pcap.notification_webhook:
    host: 127.0.0.1
    port: 5000
    secret: "{{ CLOUDFLARE_WEBHOOK_SECRET }}"
"""

SECRET_HEADER = 'cf-webhook-auth'
DROPPED_HEADERS = (SECRET_HEADER, 'authorization')
MAX_BODY = 1024 * 1024

logger = logging.getLogger('cloudflare.pcap.notification_webhook')


def check_secret(headers, secret):
    """Return None when the header carries the secret, else why not (never the value that was sent)."""
    sent = headers.get(SECRET_HEADER)
    if sent is None:
        return 'no %s header' % SECRET_HEADER
    if not hmac.compare_digest(sent.strip().encode('utf-8'), secret.encode('utf-8')):
        return 'wrong %s header' % SECRET_HEADER
    return None


def make_event(endpoint, headers, payload):
    kept = dict((name, value) for name, value in headers.items() if name.lower() not in DROPPED_HEADERS)
    return {'payload': payload, 'meta': {'endpoint': endpoint, 'headers': kept}}


def make_app(queue, secret):
    async def receive(request):
        refusal = check_secret(request.headers, secret)
        if refusal:
            logger.warning('Refused a post to /%s from %s: %s', request.match_info['endpoint'], request.remote, refusal)
            raise web.HTTPUnauthorized(text='%s\n' % refusal)
        try:
            payload = json.loads(await request.text())
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            logger.warning('Refused a post to /%s: the body is not a JSON object', request.match_info['endpoint'])
            raise web.HTTPBadRequest(text='the body must be a JSON object\n')
        await queue.put(make_event(request.match_info['endpoint'], request.headers, payload))
        return web.Response(text='accepted\n')

    app = web.Application(client_max_size=MAX_BODY)
    app.router.add_post(r'/{endpoint:.*}', receive)
    return app


def ssl_context(args):
    if not args.get('certfile'):
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args['certfile'], args.get('keyfile'))
    return context


async def main(queue, args):
    secret = args.get('secret')
    if not isinstance(secret, str) or not secret.strip():
        raise ValueError('cloudflare.pcap.notification_webhook: "secret" must be the webhook destination\'s secret, '
                         'not empty: without it every post would be refused')
    if 'port' not in args:
        raise ValueError('cloudflare.pcap.notification_webhook: "port" is required')
    runner = web.AppRunner(make_app(queue, secret.strip()))
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

    asyncio.run(main(PrintQueue(), {'port': 5000, 'secret': 'change-me'}))
