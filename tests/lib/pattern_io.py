"""Write or verify a reproducible set of chunks on an export, with no FLUSH: the tests that use
it check that a clean shutdown, not the client, makes acknowledged writes durable.

Set number S owns the 8 MiB region starting at S * 8 MiB; inside it COUNT chunks of mixed,
mostly unaligned sizes are laid end to end with gaps, and their bytes derive from (S, chunk), so
`verify` can recompute them. Gaps must read as zeros.

usage: pattern_io.py write|verify URI SET COUNT
"""
import random
import sys

import nbd

REGION = 8 << 20


def layout(set_no, count):
    rng = random.Random(set_no)
    offset = set_no * REGION + rng.randrange(0, 4096)
    chunks = []
    for i in range(count):
        length = rng.choice([512, 4096, 4096 + 17, 65536, rng.randint(1, 20000)])
        data = random.Random(f"{set_no}:{i}").randbytes(length)
        chunks.append((offset, data))
        offset += length + rng.choice([0, 0, 1, 4096, rng.randint(1, 9000)])
    if offset > (set_no + 1) * REGION:
        sys.exit(f"set {set_no}: {count} chunks do not fit in {REGION} bytes")
    return chunks


def main():
    mode, uri, set_no, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    chunks = layout(set_no, count)
    h = nbd.NBD()
    h.connect_uri(uri)
    if mode == "write":
        for offset, data in chunks:
            h.pwrite(data, offset)
        h.shutdown()  # NBD_CMD_DISC only: no FLUSH is sent
        print(f"set {set_no}: wrote {len(chunks)} chunks without flushing")
        return
    region_start = set_no * REGION
    region = h.pread(REGION, region_start)
    expected = bytearray(REGION)
    for offset, data in chunks:
        expected[offset - region_start:offset - region_start + len(data)] = data
    if region != expected:
        bad = next(i for i in range(REGION) if region[i] != expected[i])
        sys.exit(f"set {set_no}: first wrong byte at offset {region_start + bad} "
                 f"(got {region[bad]:#04x}, expected {expected[bad]:#04x})")
    print(f"set {set_no}: all {len(chunks)} chunks and the gaps between them are intact")


if __name__ == "__main__":
    main()
