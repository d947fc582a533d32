"""Byte-level surgery on blockpipe objects for the encrypt-* tamper and swap tests, doing what
an attacker with write access to the store could: flip a byte, copy a volume's uuid into
another volume's object, and recompute the object's plain CRC-32C checksums afterwards
(docs/format.md: body crc at offset 64, header crc of bytes 0-75 at offset 76) so that only
the encryption codec's authentication stands between the change and the reader.

usage: encrypt_objects.py units-offset OBJECT          first byte after header and body
       encrypt_objects.py flip OBJECT OFFSET            xor one byte with 0x5a
       encrypt_objects.py reseal OBJECT                 recompute both checksums
       encrypt_objects.py copy-uuid FROM_OBJECT OBJECT  take FROM's volume uuid, then reseal
"""
import sys

HEADER = 80


def crc32c(data, crc=0xFFFFFFFF):
    table = crc32c.table
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _table():
    out = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        out.append(c)
    return out


crc32c.table = _table()
assert crc32c(b"123456789") == 0xE3069283


def u64(data, at):
    return int.from_bytes(data[at:at + 8], "little")


def reseal(data):
    body_len = u64(data, 40)
    data[64:68] = crc32c(bytes(data[HEADER:HEADER + body_len])).to_bytes(4, "little")
    data[76:80] = crc32c(bytes(data[0:76])).to_bytes(4, "little")


def main():
    cmd, path = sys.argv[1], sys.argv[-1] if sys.argv[1] == "copy-uuid" else sys.argv[2]
    data = bytearray(open(path, "rb").read())
    if cmd == "units-offset":
        print(HEADER + u64(data, 40))
        return
    if cmd == "flip":
        data[int(sys.argv[3])] ^= 0x5A
    elif cmd == "reseal":
        reseal(data)
    elif cmd == "copy-uuid":
        source = open(sys.argv[2], "rb").read()
        data[8:24] = source[8:24]
        reseal(data)
    else:
        sys.exit(__doc__)
    with open(path, "r+b") as f:
        f.write(data)


if __name__ == "__main__":
    main()
