# Copyright: cloudflare.pcap maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make demo`: run tests/demo/demo.yml against the Cloudflare PCAP API simulator, from a fresh clone.

The simulator is told to finish the 30-second capture in about 3 seconds, so the demo shows the whole workflow
(request, wait, download, summary) quickly. The .pcap lands in build/demo/. The last line printed is
"demo: capture <id> status <status>"; the exit code is non-zero when anything failed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import urllib.request

import pipeline
from matrix import MATRIX
from pipeline import PipelineError, log


def quick_captures(admin_url: str) -> None:
    """Let captures run 1 s instead of their time_limit (the simulator's clock, not the collection, is sped up)."""
    request = urllib.request.Request(admin_url + '/config', method='POST', headers={'Content-Type': 'application/json'},
                                     data=json.dumps({'running_seconds': 1, 'conversion_seconds': 0.5}).encode())
    with urllib.request.urlopen(request, timeout=10):
        pass


def main() -> int:
    pipeline.stop_cleanly_on_sigterm()
    toolchain = MATRIX[0]
    try:
        pipeline.ensure_venv(toolchain)
        collection_dir = pipeline.copy_collection()
        demo_dir = os.path.join(pipeline.BUILD_DIR, 'demo')
        shutil.rmtree(demo_dir, ignore_errors=True)
        os.makedirs(demo_dir)
        with pipeline.simulator(toolchain.bin('python'), collection_dir) as running:
            quick_captures(running.admin_url)
            returncode, output = pipeline.run([toolchain.bin('ansible-playbook'), '--inventory', 'localhost,', os.path.join('tests', 'demo', 'demo.yml'),
                                               '-e', 'demo_dir=' + demo_dir],
                                              cwd=collection_dir, env=pipeline.simulator_client_env(toolchain, running))
    except PipelineError as error:
        log('demo: could not run: %s' % error)
        return 1
    if returncode != 0:
        log('demo: the playbook failed with exit code %d' % returncode)
        return 1
    shown = re.search(r'"msg": "capture (\S+) status (\S+)"', output)
    if not shown:
        log('demo: the playbook did not show the capture')
        return 1
    log('demo: capture %s status %s' % shown.groups())
    return 0


if __name__ == '__main__':
    sys.exit(main())
