#!/usr/bin/env python3
"""A hostile NBD client for `condo img serve` (tests/block/nbd.sh).

usage: nbd_hostile.py SOCKET SCENARIO [DISK_SIZE]

Each scenario breaks the protocol one way and checks the server's answer:
the error reply NetworkBlockDevice's proto.md asks for, or a closed
connection.  Exit status 0 when the server answered as expected.
"""
import socket
import struct
import sys

IHAVEOPT = b"IHAVEOPT"
REP_MAGIC = 0x3E889045565A9
REQ_MAGIC = 0x25609513
REPLY_MAGIC = 0x67446698
ERR = 1 << 31
REP_ACK, REP_INFO = 1, 3
ERR_UNSUP, ERR_INVALID, ERR_UNKNOWN, ERR_TOO_BIG = ERR | 1, ERR | 3, ERR | 6, ERR | 9
EPERM, EINVAL, ENOSPC = 1, 22, 28


class Closed(Exception):
    pass


def recv(s, n):
    data = b""
    while len(data) < n:
        part = s.recv(n - len(data))
        if not part:
            raise Closed()
        data += part
    return data


def closed(s):
    """The server closed the connection (what it sent before is skipped)."""
    try:
        while s.recv(65536):
            pass
        return True
    except ConnectionResetError:
        return True


def connect(path, flags=3):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(path)
    magic, opt, hflags = struct.unpack(">8sQH", recv(s, 18))
    assert magic == b"NBDMAGIC" and opt == int.from_bytes(IHAVEOPT, "big"), "bad greeting"
    s.sendall(struct.pack(">I", flags))
    return s


def option(s, opt, data=b""):
    s.sendall(IHAVEOPT + struct.pack(">II", opt, len(data)) + data)


def opt_reply(s):
    magic, opt, typ, length = struct.unpack(">QIII", recv(s, 20))
    assert magic == REP_MAGIC, "bad option reply magic"
    return typ, recv(s, length)


def go(s, name=b""):
    option(s, 7, struct.pack(">I", len(name)) + name + struct.pack(">H", 0))
    while True:
        typ, _ = opt_reply(s)
        if typ != REP_INFO:
            return typ


def request(s, cmd, offset, length, flags=0, cookie=7, data=b""):
    s.sendall(struct.pack(">IHHQQI", REQ_MAGIC, flags, cmd, cookie, offset, length) + data)


def reply(s, cookie=7, datalen=0):
    magic, err, got = struct.unpack(">IIQ", recv(s, 16))
    assert magic == REPLY_MAGIC and got == cookie, "bad simple reply"
    return err, (recv(s, datalen) if err == 0 and datalen else b"")


def transmit(path):
    s = connect(path)
    assert go(s) == REP_ACK, "GO refused"
    return s


def main():
    path, scenario = sys.argv[1], sys.argv[2]
    size = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    if scenario == "bad-client-flags":
        assert closed(connect(path, flags=0x80))
    elif scenario == "bad-option-magic":
        s = connect(path)
        s.sendall(b"IHAVEOPX" + struct.pack(">II", 7, 0))
        assert closed(s)
    elif scenario == "unknown-option":
        s = connect(path)
        option(s, 99, b"xyz")
        assert opt_reply(s)[0] == ERR_UNSUP
        option(s, 8)  # structured replies: not offered
        assert opt_reply(s)[0] == ERR_UNSUP
        assert go(s) == REP_ACK
    elif scenario == "long-option":
        s = connect(path)
        option(s, 7, b"\0" * 100000)
        assert opt_reply(s)[0] == ERR_TOO_BIG
        s.sendall(IHAVEOPT + struct.pack(">II", 7, 0xFFFFFFF0))
        assert closed(s)
    elif scenario == "malformed-go":
        s = connect(path)
        option(s, 7, struct.pack(">I", 50) + b"short")
        assert opt_reply(s)[0] == ERR_INVALID
        option(s, 7, struct.pack(">I", 0) + struct.pack(">H", 9))
        assert opt_reply(s)[0] == ERR_INVALID
        assert go(s, b"nope") == ERR_UNKNOWN
        assert go(s) == REP_ACK
    elif scenario == "unknown-export-name":
        s = connect(path)
        option(s, 1, b"nope")
        assert closed(s)
    elif scenario == "bad-requests":
        s = transmit(path)
        request(s, 0, size - 512, 1024)
        assert reply(s)[0] == EINVAL, "read past the end"
        request(s, 0, (1 << 64) - 512, 1024)
        assert reply(s)[0] == EINVAL, "read at a wrapping offset"
        request(s, 0, 0, 0x80000000)
        assert reply(s)[0] == EINVAL, "huge read"
        request(s, 1, size - 4, 8, data=b"12345678")
        assert reply(s)[0] == ENOSPC, "write past the end"
        request(s, 6, size, 4096)
        assert reply(s)[0] == ENOSPC, "write-zeroes past the end"
        request(s, 4, (1 << 64) - 1, 2)
        assert reply(s)[0] == ENOSPC, "trim wrapping"
        request(s, 42, 0, 0)
        assert reply(s)[0] == EINVAL, "unknown command"
        request(s, 0, 0, 512, flags=0x100)
        assert reply(s)[0] == EINVAL, "unknown flag"
        request(s, 0, 0, 512)
        err, data = reply(s, datalen=512)
        assert err == 0 and len(data) == 512, "a good read after the bad ones"
        request(s, 1, 0, 0xFFFFFFFF)  # a payload too large to take: closed
        assert closed(s)
    elif scenario == "readonly-write":
        s = transmit(path)
        request(s, 1, 0, 4, data=b"evil")
        assert reply(s)[0] == EPERM
        request(s, 4, 0, 4096)
        assert reply(s)[0] == EPERM
    elif scenario == "bad-request-magic":
        s = transmit(path)
        s.sendall(b"\0" * 28)
        assert closed(s)
    elif scenario == "cut-request":
        s = transmit(path)
        s.sendall(struct.pack(">IHH", REQ_MAGIC, 0, 1))  # half a header, then gone
        s.close()
    elif scenario == "cut-write":
        s = transmit(path)
        request(s, 1, 0, 65536, data=b"x" * 100)  # the payload stops short
        s.close()
    elif scenario == "cut-handshake":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        s.recv(5)
        s.close()
    else:
        sys.exit("unknown scenario " + scenario)


if __name__ == "__main__":
    try:
        main()
    except (AssertionError, Closed, OSError) as e:
        sys.exit("%s: %s" % (sys.argv[2], e or type(e).__name__))
