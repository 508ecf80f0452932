#!/usr/bin/python
# Copyright: cloudflare.pcap maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A stand-in for amazon.aws.s3_object in the readme_plays test, for the one thing the bucket guide does with it:
fetch a file (mode=get) from a bucket. The bucket is the simulator's: CFPCAP_BUCKET_STORE/<bucket>/<object>, where
the simulator writes the ownership challenge file as Cloudflare writes it into the bucket. It takes the options of
the real module that the guide uses, refuses any other, and skips in check mode as the real module does."""

from __future__ import annotations

import os
import shutil

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(
        argument_spec=dict(
            mode=dict(type='str', required=True, choices=['get']),
            bucket=dict(type='str', required=True),
            object=dict(type='str', required=True),
            dest=dict(type='path', required=True),
            region=dict(type='str'),
            endpoint_url=dict(type='str'),
            access_key=dict(type='str', no_log=True),
            secret_key=dict(type='str', no_log=True),
        ),
        required_together=[('access_key', 'secret_key')],
        supports_check_mode=True,
    )
    if module.check_mode:
        module.exit_json(changed=True, msg='GET operation skipped - running in check mode')
    source = os.path.join(os.environ['CFPCAP_BUCKET_STORE'], module.params['bucket'], module.params['object'])
    if not os.path.isfile(source):
        module.fail_json(msg='Key %s does not exist in bucket %s' % (module.params['object'], module.params['bucket']))
    shutil.copyfile(source, module.params['dest'])
    module.exit_json(changed=True, msg='GET operation complete')


if __name__ == '__main__':
    main()
