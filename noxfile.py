# Copyright: cloudflare.pcap maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The test suite as nox sessions: `nox -l` lists them, `nox -s NAME` runs one, `nox -t TAG` a group of them.

- ansible-test sanity, units and integration, one session per toolchain of the matrix (tests/tools/matrix.py) and
  stage, named ansible-test-<stage>-<ansible-core>-py<python> and tagged with the stage and core-<ansible-core>
  (tests/tools/ansible_test_sessions.py: antsibull-nox's sessions with --venv, the offline pip bootstrap, the
  simulator and moto around integration). `nox -s ansible-test-integration-2.19-py3.11 -- capture_request` runs
  one target.
- the project's own suites: simulator, runner, contract, eda, build-<ansible-core>-py<python>; demo and benchmark
  (not run by default).
- the ecosystem gates: antsibull-nox.toml configures the sessions that antsibull-nox provides (docs-check,
  extra-checks, build-import-check, ansible-lint); this file adds the checks antsibull-nox has no offline session
  for. Each counts as one check.

`make test` (tests/tools/suite.py) runs every default session and counts every test of every session from what it
leaves in build/results/<session>/ (tests/tools/results.py).

Every session writes inside the checkout only: HOME is .venvs/home (pipeline.isolate_home), where ansible-test keeps
its cache, pip bootstrap and virtualenvs; TMPDIR is build/tmp.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import sys

import antsibull_nox
import nox

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, 'tests', 'tools'))

import ansible_test_sessions  # noqa: E402  pylint: disable=wrong-import-position
import build_check  # noqa: E402  pylint: disable=wrong-import-position
import pipeline  # noqa: E402  pylint: disable=wrong-import-position
import results  # noqa: E402  pylint: disable=wrong-import-position
from matrix import MATRIX, MODULE_PYTHONS  # noqa: E402  pylint: disable=wrong-import-position

pipeline.isolate_home()
pipeline.keep_temporary_files_inside()
pipeline.interpreters_on_path(tuple(toolchain.python for toolchain in MATRIX) + MODULE_PYTHONS)
# nox stops on Ctrl-C only: SIGTERM (a CI timeout, make interrupted) becomes Ctrl-C too, so that the `finally` blocks
# stop the simulator, moto and Prism.
pipeline.stop_cleanly_on_sigterm()
antsibull_nox.load_antsibull_nox_toml()
ansible_test_sessions.add_sessions(nox, antsibull_nox)
# The toolchain of the suites that do not depend on ansible-core (the matrix's first).
MAIN_TOOLCHAIN = MATRIX[0]


def collections_tree(session: nox.Session) -> str:
    """A collections path in which cloudflare.pcap resolves: the one around this checkout, or a symlink to it."""
    parent = os.path.dirname
    if os.path.basename(parent(parent(HERE))) == 'ansible_collections':
        return parent(parent(parent(HERE)))
    tree = os.path.join(session.create_tmp(), 'collections')
    link = os.path.join(tree, 'ansible_collections', 'cloudflare', 'pcap')
    if not os.path.islink(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(HERE, link)
    return tree


@nox.session(name='changelog-lint', default=True)
def changelog_lint(session: nox.Session) -> None:
    """antsibull-changelog lint: the fragments and changelogs/changelog.yaml."""
    session.install('antsibull-changelog')
    session.run('antsibull-changelog', 'lint')
    session.run('antsibull-changelog', 'lint-changelog-yaml', '--strict', os.path.join('changelogs', 'changelog.yaml'))


@nox.session(name='docs-lint-rst', default=True)
def docs_lint_rst(session: nox.Session) -> None:
    """antsibull-docs lint-collection-docs --plugin-docs, with rstcheck (docs-check skips rstcheck)."""
    session.install('antsibull-docs', 'ansible-core')
    session.run('antsibull-docs', 'lint-collection-docs', '--plugin-docs', '--check-extra-docs-refs', '.',
                env={'ANSIBLE_COLLECTIONS_PATH': collections_tree(session)})


@nox.session(name='ansible-lint-examples', default=True)
def ansible_lint_examples(session: nox.Session) -> None:
    """ansible-lint (production profile, offline) over each module's EXAMPLES, turned into a playbook."""
    session.install('ansible-lint', 'ansible-core')
    examples_dir = os.path.join(session.create_tmp(), 'examples')
    # The tmp directory outlives the session: a renamed module's old playbook would be linted again.
    shutil.rmtree(examples_dir, ignore_errors=True)
    session.run('python', os.path.join('tests', 'lint', 'extract_examples.py'), examples_dir)
    playbooks = sorted(glob.glob(os.path.join(examples_dir, '*.yml')))
    if not playbooks:
        session.error('no EXAMPLES extracted from plugins/modules')
    session.run('ansible-lint', '--offline', '--strict', '--config-file', '.ansible-lint', *playbooks,
                env={'ANSIBLE_COLLECTIONS_PATH': collections_tree(session)})


@nox.session(name='ee-create', default=True)
def ee_create(session: nox.Session) -> None:
    """ansible-builder: create the EE build context of awx.rst, and introspect the collection's EE metadata.

    A build needs a container engine. What a build would take from the collection is meta/execution-environment.yml,
    read by `ansible-builder introspect` (the step a build runs) from the installed tarball.
    """
    session.install('ansible-builder', 'ansible-core')
    tmp = session.create_tmp()
    for name in ('ee', 'installed'):
        shutil.rmtree(os.path.join(tmp, name), ignore_errors=True)
    ee_dir = os.path.join(tmp, 'ee')
    session.run('ansible-galaxy', 'collection', 'build', '--output-path', ee_dir)
    tarballs = glob.glob(os.path.join(ee_dir, 'cloudflare-pcap-*.tar.gz'))
    if len(tarballs) != 1:
        session.error('expected one collection tarball, found %d' % len(tarballs))
    os.rename(tarballs[0], os.path.join(ee_dir, 'cloudflare-pcap.tar.gz'))
    shutil.copy(os.path.join('tests', 'lint', 'execution-environment.yml'), ee_dir)
    context = os.path.join(ee_dir, 'context')
    session.run('ansible-builder', 'create', '--file', os.path.join(ee_dir, 'execution-environment.yml'), '--context', context)
    installed = os.path.join(tmp, 'installed')
    session.run('ansible-galaxy', 'collection', 'install', '--offline', '--collections-path', installed, os.path.join(ee_dir, 'cloudflare-pcap.tar.gz'))
    pip_requirements = os.path.join(tmp, 'introspected-requirements.txt')
    session.run('ansible-builder', 'introspect', '--write-pip', pip_requirements, installed)
    session.run('python', os.path.join('tests', 'lint', 'check_ee_context.py'), context, pip_requirements)


def run_pytest(session: nox.Session, suite: str, **env: str) -> None:
    """pytest over tests/<suite>, with the options of every project suite and a JUnit file in build/results/<session>."""
    results_dir = results.results_dir(pipeline.BUILD_DIR, session.name)
    shutil.rmtree(results_dir, ignore_errors=True)
    junit_path = os.path.join(results_dir, 'pytest.xml')
    session.run('python', '-m', 'pytest', os.path.join('tests', suite), *pipeline.pytest_options(junit_path), env=env)


@nox.session(python=MAIN_TOOLCHAIN.python, tags=['simulator'])
def simulator(session: nox.Session) -> None:
    """The simulator's own tests (tests/simulator), against Cloudflare's SDK and an independent pcap reader."""
    session.install('-r', pipeline.REQUIREMENTS_FILE)
    run_pytest(session, 'simulator')


@nox.session(python=MAIN_TOOLCHAIN.python, tags=['runner'])
def runner(session: nox.Session) -> None:
    """The test tooling's own tests (tests/tools): counts, matrix, the nox sessions' setup, make test's driver."""
    session.install('-r', pipeline.REQUIREMENTS_FILE, 'ansible-core==' + MAIN_TOOLCHAIN.ansible_core)
    run_pytest(session, 'tools')


@nox.session(python=MAIN_TOOLCHAIN.python, tags=['contract'])
def contract(session: nox.Session) -> None:
    """The modules against Prism serving Cloudflare's spec (tests/contract; needs Node.js 18+ with npm)."""
    session.install('-r', pipeline.REQUIREMENTS_FILE, 'ansible-core==' + MAIN_TOOLCHAIN.ansible_core)
    with pipeline.prism('nox-prism.log') as prism_url:
        run_pytest(session, 'contract', PRISM_URL=prism_url, ANSIBLE_COLLECTIONS_PATH=collections_tree(session))


@nox.session(python=MAIN_TOOLCHAIN.python, tags=['eda'])
def eda(session: nox.Session) -> None:
    """Event-Driven Ansible: ansible-rulebook runs the rulebook against the simulator (tests/eda; needs Java 17+)."""
    session.install('-r', os.path.join('tests', 'eda', 'requirements.txt'))
    # The JVM in ansible-rulebook writes its performance data to /tmp/hsperfdata_<user> whatever TMPDIR says.
    run_pytest(session, 'eda', JAVA_TOOL_OPTIONS='-XX:-UsePerfData')


class SessionTools:
    """A session's programs by name, as a Toolchain gives its own (bin)."""

    def __init__(self, session: nox.Session) -> None:
        self.bin_dir = session.bin

    def bin(self, program: str) -> str:
        return os.path.join(self.bin_dir, program)


def add_build_session(toolchain) -> None:
    """The build check on one toolchain: tarball, offline install, ansible-doc of every module (build_check.py)."""
    name = 'build-%s-py%s' % (toolchain.ansible_core.rstrip('.*'), toolchain.python)

    @nox.session(name=name, python=toolchain.python, tags=['build', toolchain.name])
    def build(session: nox.Session) -> None:
        session.install('ansible-core==' + toolchain.ansible_core)
        junit_path = os.path.join(results.results_dir(pipeline.BUILD_DIR, name), 'build.xml')
        with contextlib.suppress(FileNotFoundError):
            os.remove(junit_path)
        copy_dir = os.path.join(pipeline.BUILD_DIR, 'nox', name, 'ansible_collections', 'cloudflare', 'pcap')
        checks = build_check.build_install_document(SessionTools(session), pipeline.copy_collection(copy_dir),
                                                    os.path.join(pipeline.BUILD_DIR, 'dist', name), dict(os.environ))
        results.write_junit(junit_path, name, checks)
        failed = [check for check, failure in checks if failure]
        if failed:
            session.error('failed: %s' % ', '.join(failed))

    build.__doc__ = 'ansible-galaxy collection build and install, ansible-doc of every module, on ansible-core %s (Python %s)' % (
        toolchain.ansible_core.rstrip('.*'), toolchain.python)


for build_toolchain in MATRIX:
    if 'build' in build_toolchain.stages:
        add_build_session(build_toolchain)


@nox.session(python=False, default=False)
def demo(session: nox.Session) -> None:
    """`make demo`: the demo playbook against the simulator (tests/tools/demo.py)."""
    session.run(sys.executable, os.path.join('tests', 'tools', 'demo.py'))


@nox.session(python=False, default=False)
def benchmark(session: nox.Session) -> None:
    """`make benchmark`: the performance report against ansible.builtin.uri (tests/tools/benchmark.py)."""
    session.run(sys.executable, os.path.join('tests', 'tools', 'benchmark.py'), *session.posargs)
