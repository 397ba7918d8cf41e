#!/usr/bin/python3
"""A minimal WebSocket client (RFC 6455) over condod's Unix socket, for
tests/ctl/run.sh: opens GET PATH with Upgrade: websocket and the token,
checks the 101 and Sec-WebSocket-Accept, sends each INPUT as a masked text
message, and prints what the server sends (binary messages) until WANT
appears in it, then closes; or until the server closes.  Prints the close
code it got as "close CODE".  Exit status: 0 WANT seen (or no WANT given
and a close), 1 otherwise.
   ws_client.py SOCKET TOKEN PATH [--want TEXT] [--raw-unmasked] [INPUT...]"""
import base64
import hashlib
import os
import socket
import struct
import sys


def frame(opcode, data, masked=True):
    head = bytes([0x80 | opcode])
    n = len(data)
    bit = 0x80 if masked else 0
    if n < 126:
        head += bytes([bit | n])
    else:
        head += bytes([bit | 126]) + struct.pack(">H", n)
    if not masked:
        return head + data
    mask = os.urandom(4)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))


def main():
    args = sys.argv[1:]
    sock_path, token, path = args[:3]
    rest = args[3:]
    want = None
    masked = True
    if "--want" in rest:
        i = rest.index("--want")
        want = rest[i + 1].encode()
        del rest[i:i + 2]
    if "--raw-unmasked" in rest:
        masked = False
        rest.remove("--raw-unmasked")
    key = base64.b64encode(os.urandom(16)).decode()
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(60)
    s.connect(sock_path)
    s.sendall(("GET %s HTTP/1.1\r\nHost: condod\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
               "Authorization: Bearer %s\r\n\r\n" % (path, key, token)).encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(4096)
        if not chunk:
            print("no handshake reply")
            return 1
        buf += chunk
    head, buf = buf.split(b"\r\n\r\n", 1)
    lines = head.decode(errors="replace").split("\r\n")
    print(lines[0])
    if " 101 " not in lines[0]:
        return 1
    accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
                                           .encode()).digest()).decode()
    if not any(l.lower() == "sec-websocket-accept: " + accept.lower() for l in lines):
        print("bad Sec-WebSocket-Accept")
        return 1
    for text in rest:
        s.sendall(frame(1, text.encode().decode("unicode_escape").encode(), masked))
    seen = b""
    while True:
        while len(buf) < 2:
            chunk = s.recv(65536)
            if not chunk:
                print("closed without a close frame")
                return 0 if want is None else 1
            buf += chunk
        n = buf[1] & 0x7f
        hl = 2
        if n == 126:
            while len(buf) < 4:
                buf += s.recv(65536)
            n = struct.unpack(">H", buf[2:4])[0]
            hl = 4
        elif n == 127:
            while len(buf) < 10:
                buf += s.recv(65536)
            n = struct.unpack(">Q", buf[2:10])[0]
            hl = 10
        while len(buf) < hl + n:
            buf += s.recv(65536)
        opcode, data, buf = buf[0] & 0x0f, buf[hl:hl + n], buf[hl + n:]
        if opcode == 8:
            code = struct.unpack(">H", data[:2])[0] if len(data) >= 2 else 0
            print("close", code)
            return 0 if want is None or want in seen else 1
        seen += data
        if want is not None and want in seen:
            sys.stdout.write(seen.decode(errors="replace"))
            s.sendall(frame(8, struct.pack(">H", 1000)))
            return 0


sys.exit(main())
