#!/usr/bin/env python3
"""Write the seed corpora of the fuzz harnesses into tests/fuzz/corpus/NAME/.

Each seed is a small, meaningful input in the harness's own format (see the
comment at the top of each fuzz_*.c and virtio_driver.c): a well-formed
request, boot or file, and a few near misses.  Run it after changing a
harness's input format; files it did not write (regression inputs of
fixed bugs, named regress-*) are left alone.
"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")


def u8(v): return struct.pack("<B", v & 0xff)
def u16(v): return struct.pack("<H", v & 0xffff)
def u32(v): return struct.pack("<I", v & 0xffffffff)
def u64(v): return struct.pack("<Q", v & 0xffffffffffffffff)


def write(name, seed, data):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, seed), "wb") as f:
        f.write(data)


# ---- virtio (virtio_driver.c) ----
(OP_DESC, OP_DESC_RAW, OP_POST, OP_NOTIFY, OP_REG_WRITE, OP_REG_READ, OP_RAM_WRITE,
 OP_AVAIL_IDX, OP_REINIT, OP_INDIRECT, OP_QUEUE_SETUP, OP_INT_ACK, OP_EXTRA) = range(13)
F_INDIRECT = 1 << 28
D_NEXT, D_WRITE, D_INDIRECT = 1, 2, 4
BUF = 0x8000  # buffers live above the rings


def init(features=F_INDIRECT, qsize_log2=4):
    return u8(3) + u64(features) + u8(qsize_log2)


def desc(q, i, addr, length, flags, nxt=0):
    return u8(OP_DESC) + u8(q) + u16(i) + u16(addr) + u16(length) + u8(flags) + u16(nxt)


def post(q, head):
    return u8(OP_POST) + u8(q) + u16(head)


def notify(q):
    return u8(OP_NOTIFY) + u8(q)


def ram(addr, data):
    assert len(data) < 256
    return u8(OP_RAM_WRITE) + u16(addr) + u8(len(data)) + data


def indirect(addr, descs):
    b = u8(OP_INDIRECT) + u16(addr) + u8(len(descs) - 1)
    for a, length, flags, nxt in descs:
        b += u16(a) + u16(length) + u8(flags) + u8(nxt)
    return b


def blk_req(q, first, kind, sector, data_len, hdr_at, data_at, status_at, write_data=False):
    """A header, one data buffer and a status byte as a chain at descriptor first."""
    b = ram(hdr_at, u32(kind) + u32(0) + u64(sector))
    if data_len:
        b += desc(q, first, hdr_at, 16, D_NEXT, first + 1)
        b += desc(q, first + 1, data_at, data_len, D_NEXT | (0 if write_data else D_WRITE), first + 2)
        b += desc(q, first + 2, status_at, 1, D_WRITE)
    else:
        b += desc(q, first, hdr_at, 16, D_NEXT, first + 1)
        b += desc(q, first + 1, status_at, 1, D_WRITE)
    return b + post(q, first) + notify(q)


def virtio_seeds():
    # virtio-blk: first byte is the read-only flag
    w = blk_req(0, 0, 1, 2, 512, BUF, BUF + 0x100, BUF + 0x40, write_data=True)
    r = blk_req(0, 3, 0, 2, 512, BUF + 0x20, BUF + 0x400, BUF + 0x41)
    write("fuzz_virtio_blk", "write-then-read", u8(0) + init() + ram(BUF + 0x100, b"sector two" * 8) + w + r)
    write("fuzz_virtio_blk", "write-readonly-disk", u8(1) + init() + w)
    write("fuzz_virtio_blk", "flush-and-get-id",
          u8(0) + init() + blk_req(0, 0, 4, 0, 0, BUF, 0, BUF + 0x40)
          + blk_req(0, 2, 8, 0, 20, BUF + 0x20, BUF + 0x200, BUF + 0x41))
    write("fuzz_virtio_blk", "read-past-end", u8(0) + init() + blk_req(0, 0, 0, 63, 1024, BUF, BUF + 0x400, BUF + 0x40))
    write("fuzz_virtio_blk", "unsupported-type", u8(0) + init() + blk_req(0, 0, 11, 0, 0, BUF, 0, BUF + 0x40))
    ind = (ram(BUF, u32(0) + u32(0) + u64(1))
           + indirect(BUF + 0x800, [(BUF, 16, D_NEXT, 1), (BUF + 0x400, 512, D_NEXT | D_WRITE, 2),
                                    (BUF + 0x40, 1, D_WRITE, 0)])
           + u8(OP_DESC) + u8(0) + u16(0) + u16(BUF + 0x800) + u16(48) + u8(D_INDIRECT) + u16(0)
           + post(0, 0) + notify(0))
    write("fuzz_virtio_blk", "indirect-read", u8(0) + init() + ind)
    loop = desc(0, 0, BUF, 16, D_NEXT, 1) + desc(0, 1, BUF + 0x10, 16, D_NEXT, 0) + post(0, 0) + notify(0)
    write("fuzz_virtio_blk", "descriptor-loop", u8(0) + init() + ram(BUF, u64(0) * 2) + loop)
    # avail index far ahead, then a reset and a normal request
    write("fuzz_virtio_blk", "avail-jump-then-reset",
          u8(0) + init() + u8(OP_AVAIL_IDX) + u8(0) + u16(0x1234) + notify(0)
          + u8(OP_REINIT) + init() + r)
    # set up by hand through the registers, rings misaligned
    write("fuzz_virtio_blk", "misaligned-rings",
          u8(0) + u8(1) + u64(0) + u8(OP_QUEUE_SETUP) + u8(0) + u16(8) + u16(0x101) + u16(0x1001)
          + u16(0x2003) + u8(OP_REG_WRITE) + u16(0x70) + u8(2) + u64(15) + r)

    # virtio-rng
    write("fuzz_virtio_rng", "fill-64", init() + desc(0, 0, BUF, 64, D_WRITE) + post(0, 0) + notify(0))
    write("fuzz_virtio_rng", "two-buffers-indirect",
          init() + indirect(BUF + 0x800, [(BUF, 32, D_WRITE | D_NEXT, 1), (BUF + 0x100, 32, D_WRITE, 0)])
          + u8(OP_DESC) + u8(0) + u16(0) + u16(BUF + 0x800) + u16(32) + u8(D_INDIRECT) + u16(0)
          + post(0, 0) + notify(0))
    write("fuzz_virtio_rng", "readable-buffer", init() + desc(0, 0, BUF, 64, 0) + post(0, 0) + notify(0))
    write("fuzz_virtio_rng", "no-indirect-feature",
          init(features=0) + u8(OP_DESC) + u8(0) + u16(0) + u16(BUF) + u16(16) + u8(D_INDIRECT)
          + u16(0) + post(0, 0) + notify(0))

    # virtio-console: queue 0 receives, queue 1 transmits; OP_EXTRA types input
    write("fuzz_virtio_console", "transmit",
          init() + ram(BUF, b"hello, console\n") + desc(1, 0, BUF, 15, 0) + post(1, 0) + notify(1))
    write("fuzz_virtio_console", "receive",
          init() + desc(0, 0, BUF, 8, D_WRITE) + desc(0, 1, BUF + 8, 8, D_WRITE) + post(0, 0) + post(0, 1)
          + notify(0) + u8(OP_EXTRA) + u8(12) + b"typed input\n")
    write("fuzz_virtio_console", "input-before-buffers",
          init() + u8(OP_EXTRA) + u8(200) + b"x" * 200 + desc(0, 0, BUF, 64, D_WRITE) + post(0, 0)
          + notify(0))
    write("fuzz_virtio_console", "transmit-writable",
          init() + desc(1, 0, BUF, 15, D_WRITE) + post(1, 0) + notify(1))


# ---- the board (fuzz_mmio.c) ----
TEST, RTC, ACLINT, PLIC, UART, VBLK, VRNG, VCON = range(8)
M_ACCESS, M_NEAR, M_RAM, M_IRQ, M_UART_IN, M_RESET = range(6)


def acc(region, off, width_log2, wr, val=0):
    return u8(M_ACCESS) + u8(region) + u32(off) + u8(width_log2) + u8(1 if wr else 0) + u64(val)


def mmio_seeds():
    uart = (acc(UART, 3, 0, 1, 0x03) + acc(UART, 1, 0, 1, 0x0f) + b"".join(acc(UART, 0, 0, 1, c) for c in b"hi\n")
            + acc(UART, 5, 0, 0) + acc(UART, 2, 0, 0) + u8(M_UART_IN) + u8(4) + b"abcd"
            + acc(UART, 0, 0, 0) + acc(UART, 3, 0, 1, 0x83) + acc(UART, 0, 0, 1, 1) + acc(UART, 7, 0, 1, 0x5a))
    write("fuzz_mmio", "uart", uart)
    aclint = (acc(ACLINT, 0, 2, 1, 1) + acc(ACLINT, 4, 2, 1, 1) + acc(ACLINT, 0x4000, 3, 1, 1000)
              + acc(ACLINT, 0x4008, 2, 1, 7) + acc(ACLINT, 0xbff8, 3, 0) + acc(ACLINT, 0xbffc, 2, 0)
              + acc(ACLINT, 0, 2, 0) + acc(ACLINT, 0x4010, 3, 1, 5))
    write("fuzz_mmio", "aclint", aclint)
    plic = (acc(PLIC, 4 * 10, 2, 1, 5) + acc(PLIC, 0x2000, 2, 1, 1 << 10) + acc(PLIC, 0x2080, 2, 1, 1 << 10)
            + acc(PLIC, 0x200000, 2, 1, 0) + u8(M_IRQ) + u8(10) + u8(1) + acc(PLIC, 0x1000, 2, 0)
            + acc(PLIC, 0x200004, 2, 0) + acc(PLIC, 0x200004, 2, 1, 10) + u8(M_IRQ) + u8(10) + u8(0)
            + acc(PLIC, 0x201004, 2, 0) + acc(PLIC, 0x5ff004, 2, 1, 3))
    write("fuzz_mmio", "plic", plic)
    rtc = (acc(RTC, 0, 2, 0) + acc(RTC, 4, 2, 0) + acc(RTC, 0x08, 2, 1, 0) + acc(RTC, 0x0c, 2, 1, 1)
           + acc(RTC, 0x10, 2, 1, 1) + acc(RTC, 0x1c, 2, 1, 1) + acc(RTC, 0x14, 2, 0) + acc(RTC, 0x18, 2, 1, 1)
           + acc(RTC, 0, 2, 1, 0x1234) + acc(RTC, 4, 2, 1, 1))
    write("fuzz_mmio", "rtc", rtc)
    # the test finisher last: it ends the VM
    write("fuzz_mmio", "test-finisher", acc(TEST, 0, 2, 1, 0x3333) + acc(TEST, 0, 2, 1, 0x5555)
          + acc(TEST, 0, 2, 1, 0x7777) + acc(TEST, 0, 2, 0))
    vio = b""
    for dev in (VBLK, VRNG, VCON):
        vio += (acc(dev, 0, 2, 0) + acc(dev, 8, 2, 0) + acc(dev, 0x70, 2, 1, 1) + acc(dev, 0x70, 2, 1, 3)
                + acc(dev, 0x14, 2, 1, 1) + acc(dev, 0x10, 2, 0) + acc(dev, 0x24, 2, 1, 1)
                + acc(dev, 0x20, 2, 1, 1) + acc(dev, 0x70, 2, 1, 11) + acc(dev, 0x30, 2, 1, 0)
                + acc(dev, 0x38, 2, 1, 8) + acc(dev, 0x80, 2, 1, 0x80000000) + acc(dev, 0x90, 2, 1, 0x80001000)
                + acc(dev, 0xa0, 2, 1, 0x80002000) + acc(dev, 0x44, 2, 1, 1) + acc(dev, 0x70, 2, 1, 15)
                + acc(dev, 0x100, 3, 0) + acc(dev, 0x50, 2, 1, 0) + acc(dev, 0x60, 2, 0) + acc(dev, 0x64, 2, 1, 3))
    write("fuzz_mmio", "virtio-init", vio)
    write("fuzz_mmio", "holes-and-widths", acc(0xf0, 0, 3, 0) + acc(0xf1, 0x100fff, 3, 1, 1)
          + acc(UART, 0xff, 3, 0) + acc(PLIC, 0x5ffffe, 2, 1, 1) + acc(ACLINT, 0xbffa, 3, 0)
          + u8(M_RESET) + u8(UART) + u8(M_RESET) + u8(VBLK))


# ---- SBI (fuzz_sbi.c) ----
E_BASE, E_TIME, E_IPI, E_RFENCE, E_HSM, E_SRST, E_DBCN = range(7)
L_SET_TIMER, L_PUTCHAR, L_GETCHAR, L_CLEAR_IPI, L_SEND_IPI, L_FENCE_I, L_SFENCE, L_SFENCE_ASID, L_SHUTDOWN = range(7, 16)
S_CALL, S_RAM, S_MMU = range(3)
RAM_BASE = 0x80000000


def call(hart, ext, fid, *args):
    b = u8(S_CALL) + u8(hart) + u8(ext) + u8(fid)
    args = list(args) + [("u8", 0)] * (6 - len(args))
    for kind, v in args:
        if kind == "u64":
            b += u8(0) + u64(v)
        elif kind == "ram":
            b += u8(1) + u16(v)
        elif kind == "u8":
            b += u8(2) + u8(v)
        else:
            b += u8(3)
    return b


def sbi_seeds():
    probe = b"".join(call(0, E_BASE, fid, ("u64", 0x10)) for fid in range(7))
    probe += b"".join(call(0, E_BASE, 3, ("u64", e)) for e in (0x54494d45, 0x735049, 0x48534d, 0x12345))
    write("fuzz_sbi", "base-probe", probe)
    hsm = (call(0, E_HSM, 0, ("u8", 1), ("ram", 0x1000), ("u8", 7)) + call(0, E_HSM, 2, ("u8", 1))
           + call(1, E_HSM, 2, ("u8", 0)) + call(0, E_HSM, 0, ("u8", 1), ("ram", 0x1000))
           + call(0, E_HSM, 0, ("u8", 9), ("ram", 0)) + call(0, E_HSM, 0, ("u8", 2), ("u64", 0x1000))
           + call(1, E_HSM, 3, ("u8", 0)) + call(1, E_HSM, 1) + call(1, E_HSM, 2, ("u8", 1)))
    write("fuzz_sbi", "hsm-start-stop", hsm)
    fences = (call(0, E_HSM, 0, ("u8", 1), ("ram", 0)) + call(1, E_IPI, 0, ("u8", 1), ("u8", 0))
              + call(0, E_RFENCE, 0, ("u8", 3), ("u8", 0)) + call(1, E_RFENCE, 1, ("u8", 1), ("u8", 0), ("u64", 0), ("u64", 4096))
              + call(0, E_RFENCE, 2, ("max", 0), ("max", 0)) + call(0, E_IPI, 0, ("u64", 1 << 63), ("u8", 1))
              + call(0, E_IPI, 0, ("u8", 1), ("u8", 3)) + call(0, E_TIME, 0, ("u64", 12345)))
    write("fuzz_sbi", "ipi-and-fences", fences)
    dbcn = (u8(S_RAM) + u16(0x100) + u8(6) + b"hello\n" + call(0, E_DBCN, 0, ("u8", 6), ("ram", 0x100), ("u8", 0))
            + call(0, E_DBCN, 0, ("u64", 1 << 40), ("ram", 0x100)) + call(0, E_DBCN, 1, ("u8", 16), ("ram", 0x200))
            + call(0, E_DBCN, 2, ("u8", 0x41)) + call(0, E_DBCN, 0, ("u8", 8), ("ram", 0xfffc), ("u8", 0)))
    write("fuzz_sbi", "debug-console", dbcn)
    # Sv39 page table at RAM + 0x2000 mapping VA 0 to RAM (a gigapage), a
    # hart mask at RAM + 0x100 read by the legacy calls through it
    pte = ((RAM_BASE >> 12) << 10) | 0xcf
    legacy = (u8(S_RAM) + u16(0x2000) + u8(8) + u64(pte) + u8(S_RAM) + u16(0x100) + u8(8) + u64(3)
              + call(0, L_PUTCHAR, 0, ("u8", 0x41)) + call(0, L_GETCHAR, 0) + call(0, L_SET_TIMER, 0, ("u64", 99))
              + call(0, L_SEND_IPI, 0, ("ram", 0x100)) + call(0, L_CLEAR_IPI, 0)
              + u8(S_MMU) + u8(0) + u8(8) + u8(2) + u8(1) + u64(0)
              + call(0, L_SEND_IPI, 0, ("u8", 0x100 & 0xff)) + call(0, L_SFENCE, 0, ("u64", 0x100))
              + call(0, L_FENCE_I, 0, ("u8", 0)) + call(0, L_SFENCE_ASID, 0, ("u64", 1 << 39)))
    write("fuzz_sbi", "legacy-through-mmu", legacy)
    write("fuzz_sbi", "system-reset", call(0, E_SRST, 0, ("u8", 0), ("u8", 1)) + call(0, E_SRST, 0, ("u8", 1))
          + call(0, L_SHUTDOWN, 0) + call(0, 240, 0) + call(0, E_SRST, 1, ("u8", 7)))


# ---- ELF files (fuzz_elf.c, and kernels of fuzz_boot.c) ----
PT_LOAD, PT_INTERP, PT_PHDR, PT_GNU_STACK = 1, 3, 6, 0x6474e551
PF_X, PF_W, PF_R = 1, 2, 4


def elf(etype, entry, segments, symbols=None):
    """segments: (type, flags, offset, vaddr, paddr, filesz, memsz, align); body appended."""
    ehsize, phentsize = 64, 56
    phoff = ehsize
    phnum = len(segments)
    hdr_end = phoff + phnum * phentsize
    shoff = 0
    shnum = 0
    tail = b""
    if symbols:
        # .symtab and .strtab after the segments' data, for HTIF symbols
        strtab = b"\0"
        syms = u32(0) + u8(0) + u8(0) + u16(0) + u64(0) + u64(0)
        for name, value in symbols:
            syms += u32(len(strtab)) + u8(0x11) + u8(0) + u16(1) + u64(value) + u64(8)
            strtab += name.encode() + b"\0"
        tail = syms + strtab
    eh = (b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8) + u16(etype) + u16(243) + u32(1) + u64(entry)
          + u64(phoff) + u64(0) + u32(5) + u16(ehsize) + u16(phentsize) + u16(phnum) + u16(64) + u16(0) + u16(0))
    ph = b""
    for t, fl, off, va, pa, fsz, msz, al in segments:
        ph += u32(t) + u32(fl) + u64(off) + u64(va) + u64(pa) + u64(fsz) + u64(msz) + u64(al)
    return bytearray(eh + ph), hdr_end, tail


def finish_elf(head, size, fill, tail=b"", symtab=False):
    body = bytearray(size)
    body[:len(head)] = head
    for off, data in fill:
        body[off:off + len(data)] = data
    if tail:
        start = len(body)
        body += tail
        if symtab:
            # two section headers: null, .symtab (link 2), .strtab
            syms_len = 24 * 3
            shoff = len(body)
            sh = bytes(64)
            sh += u32(0) + u32(2) + u64(0) + u64(0) + u64(start) + u64(syms_len) + u32(2) + u32(1) + u64(8) + u64(24)
            sh += u32(0) + u32(3) + u64(0) + u64(0) + u64(start + syms_len) + u64(len(tail) - syms_len) + u32(0) + u32(0) + u64(1) + u64(0)
            body += sh
            struct.pack_into("<Q", body, 40, shoff)
            struct.pack_into("<H", body, 60, 3)
            struct.pack_into("<H", body, 62, 2)
    return bytes(body)


# a few RV64 instructions: li a0, 0; li a7, 93; ecall; j .
CODE = u32(0x00000513) + u32(0x05d00893) + u32(0x00000073) + u32(0x0000006f)


def elf_seeds():
    segs = [(PT_LOAD, PF_R | PF_X, 0, 0x10000, 0x10000, 0x1000, 0x1000, 0x1000),
            (PT_LOAD, PF_R | PF_W, 0x1000, 0x11000, 0x11000, 0x10, 0x3000, 0x1000),
            (PT_GNU_STACK, PF_R | PF_W, 0, 0, 0, 0, 0, 16)]
    head, _, _ = elf(2, 0x10100, segs)
    write("fuzz_elf", "static-exec", finish_elf(head, 0x1010, [(0x100, CODE), (0x1000, b"data-segment-ok\0")]))
    interp = b"/lib/ld-linux-riscv64-lp64d.so.1\0"
    segs = [(PT_PHDR, PF_R, 64, 64, 64, 4 * 56, 4 * 56, 8),
            (PT_INTERP, PF_R, 0x200, 0x200, 0x200, len(interp), len(interp), 1),
            (PT_LOAD, PF_R | PF_X, 0, 0, 0, 0x400, 0x400, 0x1000),
            (PT_LOAD, PF_R | PF_W, 0x400, 0x1400, 0x1400, 0x20, 0x100, 0x1000)]
    head, _, _ = elf(3, 0x300, segs)
    write("fuzz_elf", "pie-with-interp", finish_elf(head, 0x420, [(0x200, interp), (0x300, CODE)]))
    # two segments sharing a page, the second writable, with a 64 KiB alignment
    segs = [(PT_LOAD, PF_R | PF_X, 0, 0x20000, 0x20000, 0x180, 0x180, 0x10000),
            (PT_LOAD, PF_R | PF_W, 0x180, 0x20180, 0x20180, 0x40, 0x2000, 0x10000)]
    head, _, _ = elf(3, 0x20100, segs)
    write("fuzz_elf", "shared-page-dyn", finish_elf(head, 0x1c0, [(0x100, CODE)]))
    segs = [(PT_LOAD, PF_R | PF_X, 0, 0x400000, 0x400000, 0x200, 0x200, 0x1000),
            (PT_LOAD, PF_R | PF_W, 0x200, 0x401200, 0x401200, 0, 1 << 20, 0x1000),
            (PT_GNU_STACK, PF_R | PF_W | PF_X, 0, 0, 0, 0, 0, 16)]
    head, _, _ = elf(2, 0x400100, segs)
    write("fuzz_elf", "big-bss-exec-stack", finish_elf(head, 0x200, [(0x100, CODE)]))
    head, _, _ = elf(2, 0x10100, [(PT_LOAD, PF_R | PF_X, 0, 0x10000, 0x10000, 0x2000, 0x2000, 0x1000)])
    write("fuzz_elf", "truncated-segment", finish_elf(head, 0x200, [(0x100, CODE)]))


# ---- boot (fuzz_boot.c): flags, then u32 length per file but the last ----
B_BIOS, B_KERNEL, B_INITRD, B_NONE = 1, 2, 4, 8


def boot(flags, *files):
    b = u8(flags)
    for i, f in enumerate(files):
        if i < len(files) - 1:
            b += u32(len(f))
        b += f
    return b


def image_header(text_offset, image_size):
    h = bytearray(64)
    h[0:4] = u32(0x0000006f)  # j .
    h[8:16] = u64(text_offset)
    h[16:24] = u64(image_size)
    h[48:56] = b"RISCV\0\0\0"
    h[56:60] = b"RSC\x05"
    return bytes(h)


def boot_seeds():
    write("fuzz_boot", "raw-kernel", boot(B_KERNEL, CODE * 4))
    write("fuzz_boot", "image-kernel-initrd", boot(B_KERNEL | B_INITRD, image_header(0x200000, 0x3000) + CODE,
                                                   b"070701" + b"0" * 104 + b"initrd"))
    kseg = [(PT_LOAD, PF_R | PF_X, 0x1000, 0x80200000, 0x80200000, 0x100, 0x2000, 0x1000)]
    head, _, _ = elf(2, 0x80200000, kseg)
    write("fuzz_boot", "elf-kernel", boot(B_KERNEL, finish_elf(head, 0x1100, [(0x1000, CODE)])))
    vseg = [(PT_LOAD, PF_R | PF_X, 0x1000, 0xffffffff80000000, 0xffffffff80000000, 0x100, 0x100, 0x1000)]
    head, _, _ = elf(2, 0xffffffff80000000, vseg)
    write("fuzz_boot", "vmlinux-moved", boot(B_KERNEL, finish_elf(head, 0x1100, [(0x1000, CODE)])))
    bseg = [(PT_LOAD, PF_R | PF_X | PF_W, 0x1000, 0x80000000, 0x80000000, 0x100, 0x2000, 0x1000)]
    head, _, tail = elf(2, 0x80000000, bseg, symbols=[("tohost", 0x80001000), ("fromhost", 0x80001040)])
    write("fuzz_boot", "bare-metal-htif", boot(B_KERNEL | B_NONE, finish_elf(head, 0x1100, [(0x1000, CODE)], tail, True)))
    fseg = [(PT_LOAD, PF_R | PF_X, 0x1000, 0x80000000, 0x80000000, 0x100, 0x100, 0x1000)]
    head, _, _ = elf(2, 0x80000000, fseg)
    write("fuzz_boot", "firmware-kernel-initrd",
          boot(B_BIOS | B_KERNEL | B_INITRD, finish_elf(head, 0x1100, [(0x1000, CODE)]), CODE * 2, b"initrd" * 10))
    write("fuzz_boot", "firmware-only", boot(B_BIOS, CODE * 8))
    write("fuzz_boot", "image-too-big", boot(B_KERNEL, image_header(0x200000, 1 << 40) + CODE))


# ---- system calls (fuzz_syscall.c): raw numbers, so seeds survive a new table ----
SC_CALL, SC_MEM = 0, 1
AT_FDCWD = -100


def sc(nr, *args):
    """args: int (u64), ("mem", off), ("small", n), ("neg", n), "cwd", or bytes (a path)."""
    b = u8(SC_CALL) + u8(0xff) + u16(nr)
    args = list(args) + [0] * (6 - len(args))
    for a in args:
        if isinstance(a, bytes):
            b += u8(5) + u8(len(a)) + a
        elif a == "cwd":
            b += u8(4)
        elif isinstance(a, tuple) and a[0] == "mem":
            b += u8(1) + u16(a[1])
        elif isinstance(a, tuple) and a[0] == "small":
            b += u8(2) + u8(a[1])
        elif isinstance(a, tuple) and a[0] == "neg":
            b += u8(3) + u8(a[1])
        else:
            b += u8(0) + u64(a)
    return b


def scmem(off, data):
    return u8(SC_MEM) + u16(off) + u8(len(data)) + data


def syscall_seeds():
    O_RDWR, O_CREAT, O_DIRECTORY, O_CLOEXEC, O_PATH = 2, 0x40, 0x10000, 0x80000, 0x200000
    write("fuzz_syscall", "file-roundtrip",
          sc(56, "cwd", b"f", O_CREAT | O_RDWR, 0o644) + scmem(0, b"hello") + sc(64, 0, ("mem", 0), 5)
          + sc(62, 0, 0, 0) + sc(63, 0, ("mem", 0x100), 5) + sc(80, 0, ("mem", 0x200))
          + sc(46, 0, 100000) + sc(67, 0, ("mem", 0x300), 64, 99990) + sc(57, 0) + sc(57, 0))
    write("fuzz_syscall", "dirs-and-links",
          sc(34, "cwd", b"d", 0o755) + sc(36, b"../../etc/passwd", "cwd", b"d/l") + sc(78, "cwd", b"d/l", ("mem", 0x300), 64)
          + sc(56, "cwd", b"d/l", 0) + sc(37, "cwd", b"d/l", "cwd", b"d/hard", 0)
          + sc(276, "cwd", b"d", "cwd", b"e", 0) + sc(56, "cwd", b".", O_DIRECTORY) + sc(61, 0, ("mem", 0x1000), 4096)
          + sc(79, "cwd", b"e/l", ("mem", 0x400), 0x100) + sc(35, "cwd", b"e/l", 0) + sc(35, "cwd", b"e/hard", 0)
          + sc(35, "cwd", b"e", 0x200) + sc(17, ("mem", 0x500), 256))
    write("fuzz_syscall", "pipes-and-descriptors",
          sc(59, ("mem", 0x400), 0) + scmem(0, b"data") + sc(64, 1, ("mem", 0), 4) + sc(63, 0, ("mem", 0x10), 4)
          + sc(63, 0, ("mem", 0x10), 4) + sc(23, 0) + sc(24, 0, 10, O_CLOEXEC) + sc(25, 0, 0, 5) + sc(25, 0, 3)
          + sc(25, 10, 1) + sc(25, 0, 1030, 2) + sc(57, 1) + sc(64, 2, ("mem", 0), 4) + sc(436, 0, (1 << 32) - 1, 0))
    base = 0x40000000
    write("fuzz_syscall", "memory",
          sc(222, base, 0x3000, 3, 0x32, ("neg", 1), 0) + sc(226, base, 0x1000, 1) + sc(215, base + 0x1000, 0x1000)
          + sc(214, 0) + sc(214, 0x1000000) + sc(216, base, 0x1000, 0x4000, 1, 0) + sc(227, base, 0x1000, 4)
          + sc(233, base, 0x2000, 4) + sc(232, base, 0x2000, ("mem", 0x600)) + sc(222, 0, 1 << 40, 3, 0x22, ("neg", 1), 0))
    write("fuzz_syscall", "escape-attempts",
          sc(56, "cwd", b"/../../../etc/shadow", 0) + sc(56, "cwd", b"..", O_DIRECTORY) + sc(56, 0, b"../etc/passwd", 0)
          + sc(49, b"..") + sc(17, ("mem", 0), 256) + sc(36, b"/", "cwd", b"up") + sc(56, "cwd", b"up/etc/hostname", 0)
          + sc(56, "cwd", b"/proc/self/exe", O_PATH) + sc(37, 1, b"", "cwd", b"copy", 0x1000)
          + sc(33, "cwd", b"node", 0o20600, 0x103) + sc(33, "cwd", b"fifo", 0o10600, 0)
          + sc(88, "cwd", b"up", 0, 0x100) + sc(53, "cwd", b"up", 0o777, 0x100) + sc(54, "cwd", b"up", 0, 0, 0x100))
    write("fuzz_syscall", "memfd-eventfd-epoll-poll",
          sc(279, b"m", 0) + sc(46, 0, 4096) + sc(222, 0x50000000, 4096, 3, 0x11, 0, 0) + sc(19, 3, 0)
          + sc(20, 0) + scmem(0x500, u32(1) + u32(0) + u64(7)) + sc(21, 2, 1, 1, ("mem", 0x500))
          + sc(22, 2, ("mem", 0x800), 4, 0, 0, 8) + scmem(0x600, u32(1) + u16(1) + u16(0)) + sc(73, ("mem", 0x600), 1, ("mem", 0x700), 0)
          + sc(285, 0, 0, 1, 0, 8, 0) + sc(71, 0, 1, 0, 8) + sc(278, ("mem", 0x900), 64, 0) + sc(160, ("mem", 0xa00)))
    # found by the fuzzer: pselect6's fd sets at an odd address were read as
    # misaligned 64-bit words (UBSan); a zero timeout so it does not wait
    write("fuzz_syscall", "regress-pselect6-misaligned-sets",
          sc(56, "cwd", b".", O_DIRECTORY) + scmem(0xff, u8(1)) + sc(72, 1, ("mem", 0xff), 0, ("mem", 0x101), ("mem", 0x200), 0))


    # found by the fuzzer: ppoll's pollfd array at an odd address was
    # accessed as misaligned structs (UBSan)
    write("fuzz_syscall", "regress-ppoll-misaligned-fds",
          sc(59, ("mem", 0x400), 0) + sc(64, 1, ("mem", 0), 1) + scmem(0x301, u32(0) + u16(1) + u16(0))
          + sc(73, ("mem", 0x301), 1, ("mem", 0x500), 0))


# ---- NBD server (fuzz_nbd_server.c): a flags byte, then the client's bytes ----
IHAVEOPT = b"IHAVEOPT"


def be16(v): return struct.pack(">H", v & 0xffff)
def be32(v): return struct.pack(">I", v & 0xffffffff)
def be64(v): return struct.pack(">Q", v & 0xffffffffffffffff)


def nbd_opt(opt, data=b""):
    return IHAVEOPT + be32(opt) + be32(len(data)) + data


def nbd_go(name=b"", infos=(3,), opt=7):
    return nbd_opt(opt, be32(len(name)) + name + be16(len(infos)) + b"".join(be16(i) for i in infos))


def nbd_req(cmd, offset, length, flags=0, cookie=1, data=b""):
    return be32(0x25609513) + be16(flags) + be16(cmd) + be64(cookie) + be64(offset) + be32(length) + data


def nbd_seeds():
    hello = be32(3)  # fixed newstyle, no zeroes
    io = (nbd_req(1, 4096, 16, data=b"condo-nbd-seed!!") + nbd_req(0, 4096, 16)
          + nbd_req(4, 0, 65536) + nbd_req(6, 8192, 4096, flags=2) + nbd_req(6, 0, 4096)
          + nbd_req(3, 0, 0) + nbd_req(1, 0, 8, flags=1, data=b"fuafuafu"))
    write("fuzz_nbd_server", "go-rw", b"\0" + hello + nbd_go() + io + nbd_req(2, 0, 0))
    write("fuzz_nbd_server", "go-ro", b"\1" + hello + nbd_go() + io + nbd_req(2, 0, 0))
    write("fuzz_nbd_server", "export-name", b"\2" + hello + nbd_opt(1, b"disk") + io)
    write("fuzz_nbd_server", "list-info-abort", b"\0" + hello + nbd_opt(3) + nbd_go(opt=6, infos=(0, 1, 3))
          + nbd_opt(8) + nbd_opt(9, b"x" * 8) + nbd_opt(5) + nbd_opt(2))
    write("fuzz_nbd_server", "bad-ranges", b"\0" + hello + nbd_go()
          + nbd_req(0, (1 << 20) - 8, 16) + nbd_req(0, 1 << 63, 1 << 31) + nbd_req(1, 1 << 20, 4, data=b"oops")
          + nbd_req(9, 0, 0) + nbd_req(0, 0, 8, flags=0x80) + nbd_req(1, 0, 1 << 30))
    write("fuzz_nbd_server", "bad-go", b"\2" + hello + nbd_go(b"nope") + nbd_opt(7, be32(100) + b"x")
          + nbd_opt(7, b"\0" * 5000) + nbd_go(b"disk"))


# ---- composite descriptors (fuzz_composite.c): parts a.raw, b.qcow2, c.raw ----
def composite_seeds():
    magic = b"condo-composite-disk v1\n"
    write("fuzz_composite", "three-parts", magic + b"# parts\na.raw raw\nb.qcow2 qcow2\nc.raw raw readonly\n")
    write("fuzz_composite", "sizes", magic + b"a.raw raw size=32K\n\tc.raw raw size=4096 readonly\nb.qcow2 qcow2 size=64K\n")
    write("fuzz_composite", "bad-lines", magic + b"a.raw\nb.qcow2 vmdk\nc.raw raw size=3x\n../x raw\n")
    write("fuzz_composite", "self-and-twice", magic + b"d.cmp raw\na.raw raw\na.raw raw readonly\n")


def main():
    nbd_seeds()
    composite_seeds()
    syscall_seeds()
    virtio_seeds()
    mmio_seeds()
    sbi_seeds()
    elf_seeds()
    boot_seeds()
    return 0


if __name__ == "__main__":
    sys.exit(main())
