# Copyright: cloudflare.pcap maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The test matrix: the ansible-core releases and Pythons the collection is tested with, and the stages each runs.

Read by noxfile.py (one nox session per toolchain and stage) and tests/tools/run_tests.py (`make test`); the
reasons for its shape are in run_tests.py's docstring.
"""

from __future__ import annotations

from pipeline import Toolchain

ALL_STAGES = ('sanity', 'units', 'simulator', 'runner', 'integration', 'contract', 'eda', 'build', 'lint')
FULL_STAGES = ('sanity', 'units', 'integration', 'build')
# What a release's second Python runs: sanity once per release is enough (see the docstring).
PER_PYTHON_STAGES = ('units', 'integration', 'build')

# The ansible-core releases the collection is tested with; meta/runtime.yml claims ">=2.16.0". The first one is
# also the demo's (tests/tools/demo.py). The README's "Tested with" line follows this list (tests/tools/test_run_tests.py).
MATRIX = (
    Toolchain('2.19.*', '3.11', ALL_STAGES),
    Toolchain('2.16.*', '3.11', FULL_STAGES),  # the oldest release claimed
    Toolchain('2.17.*', '3.11', ('units',)),
    Toolchain('2.18.*', '3.12', ('units',)),
    Toolchain('2.20.*', '3.12', ('units',)),
    Toolchain('2.21.*', '3.12', FULL_STAGES),  # the newest release, on its oldest Python
    Toolchain('2.21.*', '3.13', PER_PYTHON_STAGES),  # and on a newer one
)

# The Pythons the modules claim (tests/config.yml: >=3.9). ansible-test runs the sanity tests compile and import on
# every one of them that it supports and finds on PATH, so the sanity stage puts them all on PATH (from pyenv).
MODULE_PYTHONS = ('3.9', '3.10', '3.11', '3.12', '3.13')
