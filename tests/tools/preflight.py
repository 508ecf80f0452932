# Copyright: cloudflare.pcap maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the planned nox sessions need from this machine and it lacks, checked before `make test` starts anything.

Each lack is named on one line starting with "MISSING:", with the command that installs it, and every session that
needs it counts as failed without running:
- the Python of each session (pyenv's or on PATH), and 3.9 to 3.13 for the sanity tests compile and import;
- Node.js >= 18 with npm for the contract session (Prism);
- Java 17 or newer for the eda session (ansible-rulebook's rule engine);
- Wireshark's mergecap, editcap and capinfos (Debian package wireshark-common) and tshark (package tshark) for the
  unit tests: the pcap merge and Community ID tests' independent witnesses.
Access to the package registries is needed too (every virtualenv is installed from PyPI, Prism from npm); it is not
checked here: pip and npm say so.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess

import pipeline
import results
from matrix import MODULE_PYTHONS
from pipeline import PipelineError

MIN_NODE = (18, 0)  # Prism 5.14 (tests/contract/package.json)
# test_merge.py (mergecap, editcap, capinfos) and test_community_id.py (tshark) in tests/unit/plugins/module_utils/_pcap/
WIRESHARK_TOOLS = ('mergecap', 'editcap', 'capinfos', 'tshark')


@dataclasses.dataclass
class Missing:
    """Something the planned sessions need that this machine lacks: what, the one command that installs it, and the
    sessions that cannot run without it."""

    what: str
    install: str
    sessions: list[str]


def node_version() -> tuple[int, ...] | None:
    """The major.minor of Node.js on PATH (with npm beside it), or None."""
    if not shutil.which('node') or not shutil.which('npm'):
        return None
    answer = subprocess.run(['node', '--version'], stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
    match = re.match(r'v(\d+)\.(\d+)', answer.stdout.strip())
    return (int(match.group(1)), int(match.group(2))) if answer.returncode == 0 and match else None


def java_found() -> bool:
    """A java on PATH or in JAVA_HOME, as ansible-rulebook needs."""
    java_home = os.environ.get('JAVA_HOME')
    return bool(shutil.which('java') or (java_home and os.access(os.path.join(java_home, 'bin', 'java'), os.X_OK)))


def missing_wireshark_tools() -> list[str]:
    """The Wireshark command-line tools that the unit tests run as witnesses and PATH lacks (ansible-test units
    passes PATH on to pytest)."""
    return [tool for tool in WIRESHARK_TOOLS if not shutil.which(tool)]


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split('.'))


def needs_of(session: dict) -> set[str]:
    """What one session (an entry of `nox --list --json`: name, python, tags) needs: 'python3.X', 'node', 'java',
    'wireshark'."""
    needs = {'python' + session['python']} if isinstance(session.get('python'), str) else set()
    kind = results.kind_of(session['name'])
    if kind == 'sanity':
        needs.update('python' + version for version in MODULE_PYTHONS)
    if kind == 'units':
        needs.add('wireshark')
    if session['name'] == 'contract':
        needs.add('node')
    if session['name'] == 'eda':
        needs.add('java')
    return needs


def preflight(sessions: list[dict]) -> list[Missing]:
    """Each lack of this machine that some planned session needs, as one Missing with the sessions it blocks."""
    needed_by: dict[str, list[str]] = {}
    for session in sessions:
        for need in sorted(needs_of(session)):
            needed_by.setdefault(need, []).append(session['name'])
    missing_pythons: dict[str, list[str]] = {}
    missing = []
    for need, names in sorted(needed_by.items()):
        if need.startswith('python'):
            try:
                pipeline.find_python(need[len('python'):])
            except PipelineError:
                missing_pythons[need[len('python'):]] = names
        elif need == 'java' and not java_found():
            missing.append(Missing('Java 17 or newer (for ansible-rulebook)', 'apt-get install -y openjdk-17-jre-headless', names))
        elif need == 'node' and (node_version() or (0,)) < MIN_NODE:
            missing.append(Missing('Node.js >= %d with npm (for Prism)' % MIN_NODE[0], 'apt-get install -y nodejs npm', names))
        elif need == 'wireshark' and missing_wireshark_tools():
            missing.append(Missing("Wireshark's %s (the pcap merge and Community ID tests' witnesses)" % ', '.join(missing_wireshark_tools()),
                                   'apt-get install -y --no-install-recommends wireshark-common tshark', names))
    if missing_pythons:
        versions = sorted(missing_pythons, key=version_key)
        missing.insert(0, Missing('Python %s' % ', '.join(versions), python_install_command(versions),
                                  sorted({name for version in versions for name in missing_pythons[version]})))
    return missing


def python_install_command(versions: list[str]) -> str:
    pyenv = shutil.which('pyenv')
    if pyenv:
        return '%s install %s' % (pyenv, ' '.join(versions))
    return 'curl -fsSL https://pyenv.run | bash && ~/.pyenv/bin/pyenv install %s' % ' '.join(versions)
