#!/usr/bin/env python3
"""Read condod's store directly, whichever layout it has (docs/condod.md,
"Data isolation"): the control database DATA/condod.db, and the VMs in it
(shared) or in DATA/tenants/*/tenant.db (per-tenant).

  store.py DATA pid VM     the VM's VMM pid
  store.py DATA dump       every row of tenants, tokens, images and vms
  store.py DATA layout     "shared" or "per-tenant", and whether the files agree
"""
import glob
import sqlite3
import sys


def vm_dbs(data):
    ctl = sqlite3.connect(f"{data}/condod.db")
    if ctl.execute("select 1 from sqlite_master where name = 'vms'").fetchone():
        return [ctl]
    return [sqlite3.connect(p) for p in sorted(glob.glob(f"{data}/tenants/*/tenant.db"))]


def main():
    data, verb = sys.argv[1], sys.argv[2]
    if verb == "pid":
        for db in vm_dbs(data):
            row = db.execute("select pid from vms where id = ?", (sys.argv[3],)).fetchone()
            if row:
                print(row[0])
                return
        sys.exit(f"no VM {sys.argv[3]}")
    elif verb == "dump":
        ctl = sqlite3.connect(f"{data}/condod.db")
        for t in ("tenants", "tokens", "images"):
            print(t, sorted(ctl.execute("select * from " + t).fetchall()))
        print("vms", sorted(r for db in vm_dbs(data) for r in db.execute("select * from vms")))
    elif verb == "layout":
        ctl = sqlite3.connect(f"{data}/condod.db")
        mode = ctl.execute("select value from settings where key = 'data_isolation'").fetchone()[0]
        in_ctl = bool(ctl.execute("select 1 from sqlite_master where name = 'vms'").fetchone())
        print(mode, "vms-in-control" if in_ctl else "vms-per-tenant")
    else:
        sys.exit(f"unknown verb {verb}")


main()
