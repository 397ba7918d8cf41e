#!/usr/bin/python3
"""The virtual switch against hostile ports: `condo switch` runs two
networks; raw ports (what a VM's NIC is) send malformed frames (runt,
oversize, a multicast source), which are dropped and reach no one, and
valid ones, which are flooded or, once the destination is learned, sent
to its port only; nothing crosses to the other network.  A second switch
of a running network is refused; SIGTERM ends one and removes its socket.
usage: switch_frames.py CONDO   (CONDO_NET_DIR set)"""
import os
import socket
import subprocess
import sys
import time

condo = sys.argv[1]
d = os.environ["CONDO_NET_DIR"]
os.makedirs(d, mode=0o700, exist_ok=True)


def start(name):
    p = subprocess.Popen([condo, "switch", name], stderr=subprocess.PIPE)
    for _ in range(500):
        if os.path.exists(os.path.join(d, name + ".sock")):
            return p
        time.sleep(0.01)
    sys.exit("switch %s did not start: %s" % (name, p.stderr.read()))


def port(name):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(os.path.join(d, name + ".sock"))
    s.settimeout(0.5)
    return s


def frame(dst, src, payload=b"x" * 50):
    return bytes(dst) + bytes(src) + b"\x08\x00" + payload


def recv_all(s):
    got = []
    while True:
        try:
            got.append(s.recv(4096))
        except socket.timeout:
            return got


def check(what, cond):
    print(("ok " if cond else "FAIL ") + what)
    if not cond:
        sys.exit(1)


A, B, C = [0x52, 0x54, 0, 0, 9, 1], [0x52, 0x54, 0, 0, 9, 2], [0x52, 0x54, 0, 0, 9, 3]
BCAST = [0xff] * 6
s1, s2 = start("frames1"), start("frames2")
a, b, c = port("frames1"), port("frames1"), port("frames1")
x = port("frames2")
time.sleep(0.2)
a.send(b"\x01" * 10)                        # runt: shorter than a header
a.send(frame(BCAST, A, b"y" * 1600))         # oversize: over 1518 bytes
a.send(frame(BCAST, [0x01, 0, 0x5e, 0, 0, 1]))  # a multicast source
a.send(frame(BCAST, A, b"valid-broadcast"))
gb, gc, gx = recv_all(b), recv_all(c), recv_all(x)
check("malformed frames dropped, the valid broadcast flooded",
      len(gb) == 1 and gb[0].endswith(b"valid-broadcast") and len(gc) == 1)
check("nothing reaches the other network", gx == [])
b.send(frame(A, B, b"from-b"))               # the switch learns B
check("unicast to a learned port", recv_all(a)[0].endswith(b"from-b"))
recv_all(c)
a.send(frame(B, A, b"to-b-only"))
gb, gc = recv_all(b), recv_all(c)
check("a learned destination gets it alone", len(gb) == 1 and gb[0].endswith(b"to-b-only") and gc == [])
x.send(frame(BCAST, C, b"from-other"))
check("the other network's broadcast stays there", recv_all(a) == [] and recv_all(b) == [])
dup = subprocess.run([condo, "switch", "frames1"], capture_output=True, text=True, timeout=10)
check("a second switch of a running network is refused",
      dup.returncode == 1 and "already running" in dup.stderr)
for p in (s1, s2):
    p.terminate()
    p.wait(10)
check("SIGTERM removes the sockets",
      not os.path.exists(os.path.join(d, "frames1.sock")) and
      not os.path.exists(os.path.join(d, "frames2.sock")))
