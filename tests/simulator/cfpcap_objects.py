# -*- coding: utf-8 -*-
# Copyright: contributors to the cloudflare.pcap collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A full capture's files, written into its bucket over the S3 API when the capture finishes, as Cloudflare does.

Sources are cited as in tests/simulator/README.md. collect-pcaps.mdx: fetch the files from the bucket once the
capture has finished; "you may find multiple files named pcap_<pcap_id>.pcap per capture, as captures can occur
across multiple machines" (cloudflare-docs PR #5365); one file per physical server the traffic crossed in the
location, merged with mergecap (PR #26482, 2025-11). pcaps-bucket-setup.mdx: Cloudflare writes to an R2 bucket
with the keys of the R2 URI, and to S3 and GCS buckets with its own identity that the bucket's policy lets in.

No source settles how several files of one capture are kept apart, so the layout is a switch (bucket_layout):
``top_level`` puts them in the URI's directory, ``pcap_<id>.pcap`` for one file and ``pcap_<id>_<n>.pcap`` for
several; ``sub_folders`` puts each in a folder of its own below it, ``srv<n>/pcap_<id>.pcap``, all with the same
name, as PR #5365's wording allows. The folder name and the suffix are the simulator's own.

boto3 is imported only when a capture is written (config bucket_endpoint): the rest of the simulator needs only
the standard library and jsonschema.
"""

import urllib.parse

from cfpcap_buckets import CREDENTIAL_PARAMETERS
from cfpcap_pcapgen import PCAP_SNAPLEN, build_pcap

LAYOUTS = ('top_level', 'sub_folders')
# The settings a full capture keeps from the config when it is created, like its timings.
SETTINGS = ('bucket_endpoint', 'bucket_credentials', 'bucket_layout', 'bucket_files', 'bucket_foreign_file')


def object_keys(capture_id, prefix, layout, files):
    """The keys of a capture's files under prefix ('' or ending in /)."""
    if layout == 'sub_folders':
        return ['%ssrv%d/pcap_%s.pcap' % (prefix, number, capture_id) for number in range(1, files + 1)]
    if files == 1:
        return ['%spcap_%s.pcap' % (prefix, capture_id)]
    return ['%spcap_%s_%d.pcap' % (prefix, capture_id, number) for number in range(1, files + 1)]


def parse_destination(destination_conf):
    """(bucket, prefix, region, {access-key-id, secret-access-key} found in the query) of a bucket URI."""
    parts = urllib.parse.urlsplit(destination_conf)
    directory = urllib.parse.unquote(parts.path).strip('/')
    query = {}
    for parameter in parts.query.split('&'):
        name, _equals, value = parameter.partition('=')
        query[urllib.parse.unquote(name).strip().lower()] = urllib.parse.unquote(value)
    keys = dict((name, query[name]) for name in CREDENTIAL_PARAMETERS if query.get(name))
    return parts.netloc, directory + '/' if directory else '', query.get('region') or 'us-east-1', keys


def capture_files(capture_id, filter_v1, packets, first_timestamp, duration, files):
    """One pcap per server: the capture's packets shared out, each server's times interleaved with the others'.
    A full capture keeps every byte of a packet (snaplen 65535)."""
    contents = []
    for server in range(files):
        count = packets // files + (1 if server < packets % files else 0)
        # build_pcap seeds its packets with a hex id: one seed per server, so the files differ.
        seed = '%032x' % ((int(capture_id, 16) + server) % (1 << 128))
        offset = duration / max(packets, 1) * server / files
        contents.append(build_pcap(seed, filter_v1, count, first_timestamp + offset, duration, PCAP_SNAPLEN))
    return contents


def write_capture(capture_id, destination_conf, settings, contents, foreign_id):
    """Put the files (and, with bucket_foreign_file, one of capture foreign_id beside the first) into the bucket.
    Returns the keys written."""
    import boto3  # pylint: disable=import-outside-toplevel

    bucket, prefix, region, uri_keys = parse_destination(destination_conf)
    credentials = settings['bucket_credentials'] or {}
    client = boto3.client(
        's3', endpoint_url=settings['bucket_endpoint'], region_name=region,
        aws_access_key_id=uri_keys.get('access-key-id') or credentials.get('access_key_id'),
        aws_secret_access_key=uri_keys.get('secret-access-key') or credentials.get('secret_access_key'))
    keys = object_keys(capture_id, prefix, settings['bucket_layout'], len(contents))
    written = []
    for key, body in zip(keys, contents):
        client.put_object(Bucket=bucket, Key=key, Body=body)
        written.append(key)
    if settings['bucket_foreign_file']:
        folder = keys[0].rsplit('/', 1)[0] + '/' if '/' in keys[0] else ''
        key = '%spcap_%s.pcap' % (folder, foreign_id)
        client.put_object(Bucket=bucket, Key=key, Body=build_pcap(foreign_id, None, 3, 0.0, 1.0, PCAP_SNAPLEN))
        written.append(key)
    return written
