# -*- coding: utf-8 -*-
# Copyright: contributors to the cloudflare.pcap collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cloudflare PCAP API simulator: a loopback HTTP server that follows docs/openapi/pcaps.openapi.json.

Run: python tests/simulator/cfpcap_sim.py --port 0 --port-file /tmp/sim.port
See tests/simulator/README.md for the admin API and the fault kinds.
"""

import argparse
import ipaddress
import os
import re
import signal
import sys
import tempfile
import threading

# Running as a script puts this directory on sys.path; importing this file from elsewhere needs it added.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cfpcap_server import Credentials, SimHTTPServer, Simulator  # noqa: E402
from cfpcap_spec import API_PREFIX, OpenApiContract  # noqa: E402

DEFAULT_TOKEN = 'cfsim-token-0000000000000000000000000000000'
DEFAULT_EMAIL = 'incident@example.com'
DEFAULT_KEY = 'cfsim-global-key-00000000000000000000'
DEFAULT_ACCOUNT = '023e105f4ecef8ad9ca31a8372d0c353'
DEFAULT_SPEC = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'docs', 'openapi',
                            'pcaps.openapi.json')


def parse_args(argv):
    parser = argparse.ArgumentParser(prog='cfpcap_sim.py', description='Cloudflare PCAP API simulator (loopback only).')
    parser.add_argument('--host', default='127.0.0.1', help='loopback IPv4 address to bind (default 127.0.0.1)')
    parser.add_argument('--port', type=int, default=0, help='TCP port; 0 picks a free one (default 0)')
    parser.add_argument('--port-file', help='write the bound port number to this file (atomically)')
    parser.add_argument('--token', action='append', help='accepted API token; repeatable')
    parser.add_argument('--email', default=DEFAULT_EMAIL, help='accepted X-Auth-Email')
    parser.add_argument('--key', default=DEFAULT_KEY, help='accepted X-Auth-Key')
    parser.add_argument('--account', action='append', help='known account id (32 lowercase hex); repeatable')
    parser.add_argument('--clock-speed', type=float, default=1.0, help='simulated seconds per real second (default 1.0)')
    parser.add_argument('--spec', default=DEFAULT_SPEC, help='OpenAPI contract (default docs/openapi/pcaps.openapi.json)')
    parser.add_argument('--quiet', action='store_true', help='do not log requests to stderr')
    parser.add_argument('--challenge-dir',
                        help='write each added bucket\'s ownership challenge to CHALLENGE_DIR/<bucket name>/<filename> '
                             '(default: not written; config key challenge_dir)')
    args = parser.parse_args(argv)
    args.token = args.token or [DEFAULT_TOKEN]
    args.account = args.account or [DEFAULT_ACCOUNT]

    if args.host == 'localhost':
        args.host = '127.0.0.1'
    try:
        host_is_loopback = ipaddress.IPv4Address(args.host).is_loopback
    except ValueError:
        host_is_loopback = False
    if not host_is_loopback:
        parser.error('--host must be a loopback IPv4 address such as 127.0.0.1')
    if not 0 <= args.port <= 65535:
        parser.error('--port must be between 0 and 65535')
    if args.challenge_dir is not None and not args.challenge_dir:
        parser.error('--challenge-dir must not be empty')
    if args.clock_speed < 0:
        parser.error('--clock-speed must be >= 0')
    for account in args.account:
        if not re.match(r'^[0-9a-f]{32}$', account):
            parser.error('--account %r is not 32 lowercase hex characters' % account)
    return args


def write_port_file(path, port):
    """Write the port to path through a temporary file and a rename, so readers never see a partial file."""
    directory = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix='.cfpcap-sim-port-', dir=directory)
    try:
        with os.fdopen(handle, 'w', encoding='utf-8') as port_file:
            port_file.write('%d\n' % port)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    contract = OpenApiContract.from_file(args.spec)
    simulator = Simulator(contract, Credentials(args.token, args.email, args.key), args.account, args.clock_speed,
                          quiet=args.quiet, challenge_dir=args.challenge_dir)
    server = SimHTTPServer((args.host, args.port), simulator)
    port = server.server_address[1]

    def request_stop(_signum, _frame):
        simulator.request_stop()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    serving = threading.Thread(target=server.serve_forever, kwargs={'poll_interval': 0.2}, name='cfpcap-sim')
    serving.start()
    try:
        if args.port_file:
            write_port_file(args.port_file, port)
        sys.stdout.write('cfpcap-sim listening on http://%s:%d%s\n' % (args.host, port, API_PREFIX))
        sys.stdout.flush()
        # Wake up now and then: a signal only sets the event, and the wait must notice it.
        while not simulator.stopping.wait(0.5):
            pass
    finally:
        simulator.request_stop()
        server.shutdown()
        serving.join(10)
        server.server_close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
