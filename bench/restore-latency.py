#!/usr/bin/env python3
"""Restore-to-running latency: from process start (posix_spawn) to the first
guest instruction of `condo run --restore DIR`, against the time this machine
takes to start a trivial C program (the floor no process start can beat).

Makes a snapshot of the default guest sitting at its shell prompt, then runs
`condo run --restore DIR --max-insns 1` N times with CONDO_LOG=debug and reads
the hart's "hart 0 runs at SEC.NSEC (monotonic)" debug line; the C program
prints CLOCK_MONOTONIC first thing in main.  Both are compared to
CLOCK_MONOTONIC read just before posix_spawn.

Usage: CONDO=build/condo bench/restore-latency.py [-n RUNS] [--mem SIZE]
       [--keep DIR]   (reuse / keep the snapshot in DIR)
       [--no-jail]    (also measure the restore with --no-jail)
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HART_LINE = re.compile(rb"hart \d+ runs at (\d+)\.(\d+) \(monotonic\)")
FLOOR_C = r"""
#include <stdio.h>
#include <time.h>
int main(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	printf("main at %lld.%09ld\n", (long long)ts.tv_sec, ts.tv_nsec);
	return 0;
}
"""
FLOOR_LINE = re.compile(rb"main at (\d+)\.(\d+)")


def die(msg):
    print("restore-latency: " + msg, file=sys.stderr)
    sys.exit(1)


def wait_for(pred, what, timeout, proc=None):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        if proc is not None and proc.poll() is not None:
            die("condo exited (%d) while waiting for %s" % (proc.returncode, what))
        time.sleep(0.05)
    die("timed out waiting for %s" % what)


def make_snapshot(condo, work, snap, mem):
    sock = os.path.join(work, "ctl.sock")
    log = os.path.join(work, "console.log")
    errlog = open(os.path.join(work, "boot.err"), "wb")
    argv = [condo, "run", "--mem", mem, "--control", sock, "--console", log]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=errlog, stderr=errlog)
    try:
        def at_prompt():
            try:
                with open(log, "rb") as f:
                    return f.read().endswith(b"# ")
            except FileNotFoundError:
                return False
        wait_for(at_prompt, "the guest's shell prompt", 300, proc)
        time.sleep(0.5)  # let the shell settle in its read
        r = subprocess.run([condo, "snapshot", "--control", sock, "--stop", snap],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            die("condo snapshot failed: " + r.stdout.decode(errors="replace").strip())
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        errlog.close()


def spawn_and_read(argv, env, pattern):
    """Seconds from just before posix_spawn to the monotonic time the child
    printed (matched by pattern on its stdout or stderr)."""
    rfd, wfd = os.pipe()
    actions = [(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
               (os.POSIX_SPAWN_DUP2, wfd, 1), (os.POSIX_SPAWN_DUP2, wfd, 2),
               (os.POSIX_SPAWN_CLOSE, rfd), (os.POSIX_SPAWN_CLOSE, wfd)]
    t0 = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    pid = os.posix_spawn(argv[0], argv, env, file_actions=actions)
    os.close(wfd)
    out = b""
    while True:
        chunk = os.read(rfd, 65536)
        if not chunk:
            break
        out += chunk
    os.close(rfd)
    _, status = os.waitpid(pid, 0)
    m = pattern.search(out)
    if not m:
        die("no timestamp from %s (status %d):\n%s" %
            (" ".join(argv), os.waitstatus_to_exitcode(status),
             out.decode(errors="replace")[-2000:]))
    t1 = int(m.group(1)) * 10**9 + int(m.group(2))
    return (t1 - t0) / 1e6


def measure(label, runs, argv, env, pattern):
    spawn_and_read(argv, env, pattern)  # warm the page cache
    v = [spawn_and_read(argv, env, pattern) for _ in range(runs)]
    return label, min(v), statistics.median(v)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", "--runs", type=int, default=20)
    ap.add_argument("--mem", default="256M")
    ap.add_argument("--keep", metavar="DIR", help="snapshot directory to reuse or keep")
    ap.add_argument("--no-jail", action="store_true", help="also measure with --no-jail")
    args = ap.parse_args()
    condo = os.environ.get("CONDO")
    if not condo:
        die("set CONDO to the condo binary (CONDO=build/condo)")
    condo = os.path.abspath(condo)
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        die("needs a C compiler (cc) for the floor program")
    work = tempfile.mkdtemp(prefix="condo-restore-bench.")
    try:
        snap = args.keep or os.path.join(work, "snap")
        if not os.path.exists(os.path.join(snap, "memory.raw")):
            make_snapshot(condo, work, snap, args.mem)
        floor = os.path.join(work, "floor")
        src = floor + ".c"
        with open(src, "w") as f:
            f.write(FLOOR_C)
        subprocess.run([cc, "-O2", "-o", floor, src], check=True)

        env = dict(os.environ, CONDO_LOG="debug")
        base = [condo, "run", "--restore", snap, "--max-insns", "1", "--console", "/dev/null"]
        rows = [measure("restore (jail)", args.runs, base, env, HART_LINE)]
        if args.no_jail:
            rows.append(measure("restore (--no-jail)", args.runs,
                                base + ["--no-jail"], env, HART_LINE))
        fl = measure("floor: C main()", args.runs, [floor], dict(os.environ), FLOOR_LINE)
        rows.append(fl)
        print("%d runs, guest %s; milliseconds from posix_spawn" % (args.runs, args.mem))
        print("%-22s %8s %8s %10s %13s" % ("", "min", "median", "min-floor", "median-floor"))
        for label, mn, med in rows:
            print("%-22s %8.2f %8.2f %10.2f %13.2f" % (label, mn, med, mn - fl[1], med - fl[2]))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
