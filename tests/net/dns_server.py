#!/usr/bin/python3
"""A DNS server for the tests, on a loopback address: an A question for
condo.test is answered with 10.1.2.3, anything else with NXDOMAIN.  Leaves the machine
never.  usage: dns_server.py ADDR (port 53)"""
import socket
import struct
import sys

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 53))
while True:
    q, peer = s.recvfrom(2048)
    if len(q) < 12:
        continue
    qid, flags, qd = struct.unpack(">HHH", q[:6])
    end = 12
    while end < len(q) and q[end]:
        end += 1 + q[end]
    qtype = struct.unpack(">H", q[end + 1:end + 3])[0] if end + 3 <= len(q) else 0
    question = q[12:end + 5]
    if qtype == 1 and q[12:end].lower() == b"\x05condo\x04test":
        answer = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + bytes([10, 1, 2, 3])
        head = struct.pack(">HHHHHH", qid, 0x8180, 1, 1, 0, 0)
    else:
        answer = b""
        head = struct.pack(">HHHHHH", qid, 0x8183, 1, 0, 0, 0)
    s.sendto(head + question + answer, peer)
