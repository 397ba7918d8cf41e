#!/usr/bin/env python3
"""Write malformed (and a few good) RISC-V ELF files for tests/bad/run.sh.

Usage: gen.py OUTDIR

Every file derives from one tiny, valid static RV64 executable built here
byte by byte (no compiler needed): one PT_LOAD at 0x10000 holding the ELF
header, the program headers and three instructions that exit with status 7.
Each bad file changes exactly one thing.  Standard library only.
"""
import os
import struct
import sys

EM_RISCV = 243
PT_LOAD, PT_INTERP, PT_NOTE, PT_GNU_STACK = 1, 3, 4, 0x6474E551
PF_X, PF_W, PF_R = 1, 2, 4
BASE = 0x10000
CODE_OFF = 0x200
# addi a0, zero, 7; addi a7, zero, 94 (exit_group); ecall
CODE = struct.pack("<3I", 0x00700513, 0x05E00893, 0x00000073)
FILE_SIZE = 0x400


def ehdr(**kw):
    f = dict(cls=2, data=1, version=1, type=2, machine=EM_RISCV, eversion=1,
             entry=BASE + CODE_OFF, phoff=64, phentsize=56, phnum=1)
    f.update(kw)
    ident = b"\x7fELF" + bytes([f["cls"], f["data"], f["version"]]) + bytes(9)
    return ident + struct.pack("<HHIQQQIHHHHHH", f["type"], f["machine"], f["eversion"],
                               f["entry"], f["phoff"], 0, 0, 64, f["phentsize"],
                               f["phnum"], 64, 0, 0)


def phdr(type=PT_LOAD, flags=PF_R | PF_X, offset=0, vaddr=BASE, filesz=FILE_SIZE,
         memsz=FILE_SIZE, align=0x1000):
    return struct.pack("<IIQQQQQQ", type, flags, offset, vaddr, vaddr, filesz, memsz, align)


def image(eh=None, phdrs=None, extra=None, size=FILE_SIZE):
    """The valid image with a replaced header, program headers or bytes."""
    eh = eh if eh is not None else ehdr(phnum=len(phdrs) if phdrs else 1)
    phdrs = phdrs if phdrs is not None else [phdr()]
    data = bytearray(size)
    data[0:len(eh)] = eh
    ph = b"".join(phdrs)
    data[64:64 + len(ph)] = ph
    data[CODE_OFF:CODE_OFF + len(CODE)] = CODE
    for off, b in (extra or {}).items():
        data[off:off + len(b)] = b
    return bytes(data)


def interp_image(path):
    """A dynamically linked image whose PT_INTERP names path."""
    s = path.encode() + b"\0"
    return image(eh=ehdr(phnum=2),
                 phdrs=[phdr(type=PT_INTERP, flags=PF_R, offset=0x300, vaddr=BASE + 0x300,
                             filesz=len(s), memsz=len(s), align=1), phdr()],
                 extra={0x300: s})


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    big = 1 << 62
    files = {
        # The control: must run and exit 7, else the bad cases prove nothing.
        "good": image(),
        "empty": b"",
        "text": b"#!/bin/sh\necho this is a shell script\n",
        "short-magic": b"\x7fEL",
        "truncated-header": image()[:40],
        "class32": image(eh=ehdr(cls=1)),
        "big-endian": image(eh=ehdr(data=2)),
        "bad-version": image(eh=ehdr(eversion=2)),
        "x86-64": image(eh=ehdr(machine=62)),
        "aarch64": image(eh=ehdr(machine=183)),
        "relocatable": image(eh=ehdr(type=1)),
        "core-file": image(eh=ehdr(type=4)),
        "phentsize": image(eh=ehdr(phentsize=32)),
        "no-phdrs": image(eh=ehdr(phnum=0)),
        "many-phdrs": image(eh=ehdr(phnum=0xFFFF)),
        "phoff-past-eof": image(eh=ehdr(phoff=FILE_SIZE - 8)),
        "phoff-wraps": image(eh=ehdr(phoff=(1 << 64) - 16)),
        "no-load": image(phdrs=[phdr(type=PT_NOTE)]),
        "filesz-gt-memsz": image(phdrs=[phdr(filesz=FILE_SIZE, memsz=0x100)]),
        "segment-past-eof": image(phdrs=[phdr(offset=0x1000)]),
        "segment-offset-wraps": image(phdrs=[phdr(offset=(1 << 64) - 0x100)]),
        "truncated-segment": image(phdrs=[phdr(filesz=0x10000, memsz=0x10000)]),
        "huge-segment": image(phdrs=[phdr(memsz=big)]),
        "segment-above-space": image(eh=ehdr(entry=(1 << 45) + CODE_OFF),
                                     phdrs=[phdr(vaddr=1 << 45)]),
        "segment-at-zero": image(eh=ehdr(entry=CODE_OFF), phdrs=[phdr(vaddr=0)]),
        "segment-wraps": image(phdrs=[phdr(vaddr=(1 << 64) - 0x1000)]),
        "overlap": image(eh=ehdr(phnum=2),
                         phdrs=[phdr(), phdr(flags=PF_R | PF_W, vaddr=BASE + 0x200,
                                             offset=0x200, filesz=0x100, memsz=0x100)]),
        "misaligned": image(phdrs=[phdr(vaddr=BASE + 8)]),
        "entry-outside": image(eh=ehdr(entry=0x900000)),
        "interp-unterminated": image(eh=ehdr(phnum=2),
                                     phdrs=[phdr(type=PT_INTERP, flags=PF_R, offset=0x300,
                                                 vaddr=BASE + 0x300, filesz=8, memsz=8,
                                                 align=1), phdr()],
                                     extra={0x300: b"/lib/ld.so"}),
        "interp-past-eof": image(eh=ehdr(phnum=2),
                                 phdrs=[phdr(type=PT_INTERP, flags=PF_R, offset=0x3F0,
                                             vaddr=BASE + 0x3F0, filesz=0x40, memsz=0x40,
                                             align=1), phdr()]),
        "interp-missing": interp_image("/lib/ld-condo-missing.so.1"),
        "interp-not-elf": interp_image("/lib/ld-text.so"),
        "interp-x86": interp_image("/lib/ld-x86.so"),
        "interp-has-interp": interp_image("/lib/ld-dyn.so"),
    }
    for name, data in files.items():
        path = os.path.join(out, name)
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, 0o755)
    # Contents of the root the interp-* cases use.
    lib = os.path.join(out, "root", "lib")
    os.makedirs(lib, exist_ok=True)
    for name, data in (("ld-text.so", b"not an ELF\n"),
                       ("ld-x86.so", image(eh=ehdr(machine=62, type=3))),
                       ("ld-dyn.so", interp_image("/lib/ld-x86.so"))):
        with open(os.path.join(lib, name), "wb") as f:
            f.write(data)
    noexec = os.path.join(out, "not-executable")
    with open(noexec, "wb") as f:
        f.write(image())
    os.chmod(noexec, 0o644)


if __name__ == "__main__":
    main()
