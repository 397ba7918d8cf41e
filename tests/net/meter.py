#!/usr/bin/python3
"""Print one counter of a condo --meter file (include/condo/meter.h,
version 2): meter.py FILE NIC FIELD, FIELD one of rx_bytes rx_packets
rx_drops tx_bytes tx_packets tx_drops; or meter.py FILE total net_rx_bytes."""
import struct
import sys

HEAD = "<8sIIQQQQQQQQQQII"
NIC = "<6Q"
FIELDS = ["rx_bytes", "rx_packets", "rx_drops", "tx_bytes", "tx_packets", "tx_drops"]


def main():
    path, nic, field = sys.argv[1:4]
    data = open(path, "rb").read()
    head = struct.unpack_from(HEAD, data)
    magic, version, size, seq = head[0], head[1], head[2], head[3]
    if magic != b"CONDOMTR" or version != 2 or size != len(data):
        sys.exit("meter.py: %s: not a version 2 meter record" % path)
    if nic == "total":
        names = ["insns", "cpu_ns", "disk_read_bytes", "disk_write_bytes", "disk_read_ops",
                 "disk_write_ops", "net_rx_bytes", "net_tx_bytes", "uptime_ns"]
        print(head[4 + names.index(field)])
        return
    off = struct.calcsize(HEAD) + struct.calcsize(NIC) * int(nic)
    print(struct.unpack_from(NIC, data, off)[FIELDS.index(field)])


main()
