# Copyright: cloudflare.pcap maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The test matrix: the ansible-core releases and Pythons the collection is tested with, and the stages each runs.

Read by noxfile.py: one nox session per toolchain and stage (`make test` runs them all). Its shape: full stages on
the oldest ansible-core that meta/runtime.yml claims (2.16), on 2.19 and on the newest (2.21, on Python 3.12 and
3.13); units on every minor in between (2.17, 2.18, 2.20). "Full" is sanity, units, integration and build. What
runs once, on purpose, to stay within about 27 minutes (warm virtualenvs) on an idle 2-core machine:
- sanity once per release: on 2.21 it runs on Python 3.12 only. Its results do not depend on the controller's
  Python: the tests that do (compile, import) run on every Python from 3.9 to 3.13 from one controller anyway;
  units, integration and build (where the in-process runner meets the controller's Python) run on 3.13 too;
- what does not depend on ansible-core runs once: simulator (the simulator and its tests import no ansible),
  runner (the test tooling's own tests), contract (Prism against the spec; the module code under test is the same
  on every release), eda, and the lint sessions (the ecosystem tools bring their own ansible-core). They run on
  Python 3.11 with 2.19, which is also the demo's toolchain.
"""

from __future__ import annotations

from pipeline import Toolchain

ALL_STAGES = ('sanity', 'units', 'simulator', 'runner', 'integration', 'contract', 'eda', 'build', 'lint')
FULL_STAGES = ('sanity', 'units', 'integration', 'build')
# What a release's second Python runs: sanity once per release is enough (see the docstring).
PER_PYTHON_STAGES = ('units', 'integration', 'build')

# The ansible-core releases the collection is tested with; meta/runtime.yml claims ">=2.16.0". The first one is
# also the demo's (tests/tools/demo.py). The README's "Tested with" line follows this list (tests/tools/test_suite.py).
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
