# Copyright: cloudflare.pcap maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make demo`: run tests/demo/demo.yml against the Cloudflare PCAP API simulator, from a fresh clone.

The last line printed is "demo: capture <id> status <status>"; the exit code is non-zero when anything failed.
"""

from __future__ import annotations

import os
import re
import sys

import pipeline
from pipeline import PipelineError, log
from run_tests import MATRIX


def main() -> int:
    pipeline.stop_cleanly_on_sigterm()
    toolchain = MATRIX[0]
    try:
        pipeline.ensure_venv(toolchain)
        collection_dir = pipeline.copy_collection()
        with pipeline.simulator(toolchain.bin('python'), collection_dir) as running:
            returncode, output = pipeline.run([toolchain.bin('ansible-playbook'), '--inventory', 'localhost,', os.path.join('tests', 'demo', 'demo.yml')],
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
