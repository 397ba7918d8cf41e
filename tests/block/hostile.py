#!/usr/bin/env python3
"""Write hostile qcow2 images, one defect each, into DIR (tests/block/hostile.sh).

Each starts from a valid version 3 image (64 KiB clusters, 1 MiB disk,
QEMU's layout: header, refcount table, refcount block, L1 table, one L2
table, one data cluster) and breaks one field.  The name says which."""
import os
import struct
import sys

CS = 65536


def valid():
    img = bytearray(6 * CS)
    hdr = struct.pack(">4sIQIIQIIQQIIQQQQII", b"QFI\xfb", 3, 0, 0, 16, 1 << 20, 0,
                      1, 3 * CS, CS, 1, 0, 0, 0, 0, 0, 4, 112)
    img[0:len(hdr)] = hdr
    struct.pack_into(">Q", img, CS, 2 * CS)             # refcount table -> block
    for c in range(6):                                  # refcount block: 6 clusters used
        struct.pack_into(">H", img, 2 * CS + 2 * c, 1)
    struct.pack_into(">Q", img, 3 * CS, (1 << 63) | 4 * CS)   # L1[0] -> L2
    struct.pack_into(">Q", img, 4 * CS, (1 << 63) | 5 * CS)   # L2[0] -> data
    img[5 * CS:6 * CS] = b"\x5a" * CS
    return img


def put(img, fmt, off, val):
    struct.pack_into(fmt, img, off, val)
    return img


def with_backing(img, name):
    raw = name.encode()
    struct.pack_into(">QI", img, 8, 512, len(raw))
    img[512:512 + len(raw)] = raw
    return img


def main(d):
    os.makedirs(d, exist_ok=True)
    cases = {
        "valid": valid(),
        "truncated": valid()[:60],
        "bad-version": put(valid(), ">I", 4, 4),
        "cluster-bits-huge": put(valid(), ">I", 20, 30),
        "cluster-bits-tiny": put(valid(), ">I", 20, 8),
        "size-huge": put(valid(), ">Q", 24, 1 << 62),
        "l1-size-huge": put(valid(), ">I", 36, 0x7fffffff),
        "l1-size-small": put(valid(), ">Q", 24, 1 << 40),
        "l1-outside-file": put(valid(), ">Q", 40, 1 << 40),
        "l1-at-header": put(valid(), ">Q", 40, 0),
        "l1-misaligned": put(valid(), ">Q", 40, 3 * CS + 8),
        "refcount-table-outside-file": put(valid(), ">Q", 48, 1 << 45),
        "refcount-table-at-header": put(valid(), ">Q", 48, 0),
        "refcount-table-clusters-huge": put(valid(), ">I", 56, 1 << 20),
        "tables-overlap": put(valid(), ">Q", 40, CS),
        "encrypted": put(valid(), ">I", 32, 1),
        "unknown-incompatible-feature": put(valid(), ">Q", 72, 1 << 40),
        "external-data-file": put(valid(), ">Q", 72, 1 << 2),
        "refcount-order-7": put(valid(), ">I", 96, 7),
        "header-length-bad": put(valid(), ">I", 100, 13),
        "backing-dotdot": with_backing(valid(), "../../etc/passwd"),
        "backing-missing": with_backing(valid(), "no-such-base.qcow2"),
        "backing-self-loop": with_backing(valid(), "backing-self-loop.qcow2"),
        "backing-name-huge": put(with_backing(valid(), "x"), ">I", 16, 100000),
        "l2-outside-file": put(valid(), ">Q", 3 * CS, (1 << 63) | (1 << 40)),
        "l2-misaligned": put(valid(), ">Q", 3 * CS, (1 << 63) | 0x200),
        "compressed-outside-file": put(valid(), ">Q", 4 * CS, (1 << 62) | (1 << 40)),
        "compressed-garbage": put(valid(), ">Q", 4 * CS, (1 << 62) | 5 * CS),
    }
    # A loop of two: a -> b -> a.
    cases["backing-loop-a"] = with_backing(valid(), "backing-loop-b.qcow2")
    cases["backing-loop-b"] = with_backing(valid(), "backing-loop-a.qcow2")
    # A chain deeper than the bound: deep-0 -> deep-1 -> ... -> deep-20.
    for i in range(20):
        cases["deep-%d" % i] = with_backing(valid(), "deep-%d.qcow2" % (i + 1))
    cases["deep-20"] = valid()
    for name, img in cases.items():
        with open(os.path.join(d, name + ".qcow2"), "wb") as f:
            f.write(img)


if __name__ == "__main__":
    main(sys.argv[1])
