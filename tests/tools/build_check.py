# Copyright: cloudflare.pcap maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The build check (nox sessions build-<ansible-core>-py<python>): ansible-galaxy builds the collection, installs the
tarball offline, and ansible-doc renders every module from the installed copy, as a user would see it."""

from __future__ import annotations

import glob
import json
import os
import shutil
import tempfile

import pipeline
from pipeline import PipelineError, log


def build_install_document(tools, collection_dir: str, dist_dir: str, env: dict[str, str]) -> list[tuple[str, str]]:
    """Build the collection in collection_dir (a copy: what git does not track is left out) into dist_dir, install
    the tarball offline, and render every module with ansible-doc from it; `tools` has bin(program), the path of
    ansible-galaxy and ansible-doc (a nox session's). Returns the checks as (name, failure or '')."""
    shutil.rmtree(dist_dir, ignore_errors=True)
    pipeline.check_run([tools.bin('ansible-galaxy'), 'collection', 'build', '--output-path', dist_dir], cwd=collection_dir, env=env)
    tarballs = glob.glob(os.path.join(dist_dir, 'cloudflare-pcap-*.tar.gz'))
    if len(tarballs) != 1:
        raise PipelineError('expected one collection tarball in %s, found %d' % (os.path.relpath(dist_dir, pipeline.REPO_ROOT), len(tarballs)))
    checks = [('ansible-galaxy collection build', '')]
    with tempfile.TemporaryDirectory(prefix='cfpcap-installed-') as install_dir:
        pipeline.check_run([tools.bin('ansible-galaxy'), 'collection', 'install', '--offline', '--collections-path', install_dir, tarballs[0]],
                           env=env)
        checks.append(('ansible-galaxy collection install --offline', ''))
        modules = sorted(os.path.splitext(os.path.basename(path))[0] for path in glob.glob(os.path.join(collection_dir, 'plugins', 'modules', '*.py'))
                         if not path.endswith('__init__.py'))
        if not modules:
            raise PipelineError('plugins/modules has no module to document')
        doc_env = dict(env, ANSIBLE_COLLECTIONS_PATH=install_dir)
        for module in modules:
            name = 'cloudflare.pcap.' + module
            checks.append(('ansible-doc %s' % name, module_doc_problem(name, tools, doc_env)))
    return checks


def module_doc_problem(module: str, tools, env: dict[str, str]) -> str:
    """What is wrong with the module's documentation as ansible-doc renders it (as text, and as JSON with its options
    and examples), or ''."""
    text_code, text = pipeline.run([tools.bin('ansible-doc'), '--type', 'module', module], env=env, echo=False)
    json_code, doc_json, json_errors = pipeline.run_apart([tools.bin('ansible-doc'), '--type', 'module', '--json', module], env=env)
    problem = ''
    if text_code != 0 or json_code != 0 or module.upper() not in text.upper():
        problem = 'does not render:\n%s\n%s%s' % (text, doc_json, json_errors)
    else:
        try:
            entry = json.loads(doc_json)[module]
            if not entry['doc']['options'] or not entry['examples']:
                problem = 'has no options or no examples'
        except (ValueError, KeyError, TypeError) as error:
            problem = 'gives unexpected JSON (%r)' % error
    log('ansible-doc %s: %s' % (module, problem or 'renders'))
    return problem
