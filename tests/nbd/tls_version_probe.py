#!/usr/bin/python3
"""Checks that the server negotiates a given TLS version after NBD_OPT_STARTTLS, using Python's
ssl module (OpenSSL) pinned to that version with an X.509 client certificate, then serves an
export over it: NBD_OPT_GO and a READ of the first 4 KiB, compared with the expected bytes.
libnbd and qemu (GnuTLS) always negotiate TLS 1.3 with blockpipe, so this is the test that TLS
1.2 works too.

usage: tls_version_probe.py URI VERSION CERT_DIR EXPECTED_FILE
  URI: nbd://HOST:PORT/EXPORT or nbd+unix:///EXPORT?socket=PATH (plain scheme; STARTTLS is ours)
  VERSION: 1.2 or 1.3
  CERT_DIR: holds ca-cert.pem, client-cert.pem, client-key.pem (libnbd's layout)
  EXPECTED_FILE: its first 4096 bytes are what the export's first block must hold"""

import os
import ssl
import struct
import sys

from nbdtest import (CMD_READ, REP_ACK, RawClient, check, export_of, need_args, run)

OPT_STARTTLS = 5


def main(argv):
    need_args(argv, 4, __doc__)
    uri, version, cert_dir, expected_file = argv
    versions = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}
    check(version in versions, f"VERSION must be 1.2 or 1.3, not {version!r}")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = context.maximum_version = versions[version]
    context.load_verify_locations(os.path.join(cert_dir, "ca-cert.pem"))
    context.load_cert_chain(os.path.join(cert_dir, "client-cert.pem"),
                            os.path.join(cert_dir, "client-key.pem"))

    client = RawClient(uri)
    client.handshake()
    replies = client.option_replies(OPT_STARTTLS)
    check(replies[-1][0] == REP_ACK, f"NBD_OPT_STARTTLS refused: {replies[-1]}")
    client.sock = context.wrap_socket(client.sock, server_hostname="localhost")
    negotiated = client.sock.version()
    check(negotiated == "TLSv" + version, f"negotiated {negotiated}, asked for TLSv{version}")

    size, _flags = client.go(export_of(uri))
    check(size >= 4096, f"export of {size} bytes is too small to read a block")
    client.request(CMD_READ, 0, 4096)
    error, _cookie, data = client.simple_reply(4096)
    check(error == 0, f"READ over TLSv{version} failed with error {error}")
    with open(expected_file, "rb") as f:
        check(data == f.read(4096), f"READ over TLSv{version} returned other bytes")
    cipher = client.sock.cipher()[0]
    client.close()
    print(f"TLSv{version} ({cipher}): STARTTLS, GO and READ behave")


if __name__ == "__main__":
    run(main)
