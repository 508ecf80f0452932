# Copyright: cloudflare.pcap maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check what the nox session ee-create got from ansible-builder.

Usage: python tests/lint/check_ee_context.py CONTEXT_DIR INTROSPECTED_REQUIREMENTS   (run from the collection root)

The build context must have a Containerfile, the collection's galaxy requirements and its tarball; `ansible-builder introspect`
of the installed collection must yield every Python requirement of meta/ee-requirements.txt, as the EE build
would install them for the modules.
"""

import glob
import os
import re
import sys


def requirement_names(text: str) -> set:
    return {re.split(r'[<>=!~;\[ ]', line.strip(), maxsplit=1)[0].lower() for line in text.splitlines()
            if line.strip() and not line.strip().startswith('#')}


def main(context: str, introspected_path: str) -> int:
    problems = []
    # ansible-builder names the file after the container runtime it would use: Containerfile or Dockerfile.
    if not any(os.path.isfile(os.path.join(context, name)) for name in ('Containerfile', 'Dockerfile')):
        problems.append('no Containerfile in %s' % context)
    galaxy_files = glob.glob(os.path.join(context, '_build', 'requirements.yml'))
    if not galaxy_files or 'cloudflare.pcap' not in open(galaxy_files[0]).read():
        problems.append('the build context has no galaxy requirements naming cloudflare.pcap')
    if not os.path.isfile(os.path.join(context, '_build', 'cloudflare-pcap.tar.gz')):
        problems.append('the collection tarball is not in the build context')
    with open(os.path.join('meta', 'ee-requirements.txt')) as wanted_file:
        wanted = requirement_names(wanted_file.read())
    introspected = set()
    if os.path.isfile(introspected_path):
        with open(introspected_path) as introspected_file:
            introspected = requirement_names(introspected_file.read())
    missing = sorted(wanted - introspected)
    if not wanted or missing:
        problems.append('ansible-builder introspect did not find the Python requirements %s' % ', '.join(missing or ['(none declared)']))
    for problem in problems:
        print(problem)
    if not problems:
        print('Containerfile and galaxy requirements in %s; the collection brings %s' % (context, ', '.join(sorted(wanted))))
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main(*sys.argv[1:]))
