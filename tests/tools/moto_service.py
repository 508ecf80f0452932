# Copyright: contributors to the cloudflare.pcap collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""moto's S3 server on loopback for the integration targets, started by the integration sessions (ansible_test_sessions.py) as they start the simulator:
the unit tests' MotoServer (tests/unit/moto_server.py: IAM enforced, an administrator made first) and one bucket
for full captures. Writes {"url", "access_key_id", "secret_access_key", "bucket"} as JSON to --info-file once the
server answers, then runs until SIGTERM, when it stops the server (which also dies with this process).

Usage: PYTHON moto_service.py --info-file PATH   (PYTHON: a toolchain's, which has moto and boto3)
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time

# tests/tools -> the directory that holds ansible_collections/
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', '..')))

from ansible_collections.cloudflare.pcap.tests.unit.moto_server import MotoServer  # noqa: E402

BUCKET = 'integration-pcaps'


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('--info-file', required=True)
    arguments = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_args: sys.exit(0))
    with MotoServer() as server:
        server.client('s3').create_bucket(Bucket=BUCKET)
        info = dict(url=server.url, access_key_id=server.admin['aws_access_key_id'],
                    secret_access_key=server.admin['aws_secret_access_key'], bucket=BUCKET)
        partial = arguments.info_file + '.part'
        with open(partial, 'w') as handle:
            json.dump(info, handle)
        os.replace(partial, arguments.info_file)
        while server.process.poll() is None:
            time.sleep(1)
        sys.exit('moto server exited with %s: %s' % (server.process.returncode, server.output()))


if __name__ == '__main__':
    main()
