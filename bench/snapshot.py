#!/usr/bin/env python3
"""Snapshots, restore, fork and live migration: condo and QEMU side by side.

For a 256 MiB guest (the default guest at its shell prompt) this measures
  - snapshot: condo snapshot --stop, and QEMU's stop + migrate to a file;
  - restore to the guest answering on its console: a process started from
    the snapshot is sent `echo pong` at once; the time until `pong` comes
    back (condo run --restore; qemu-system-riscv64 -incoming exec:cat FILE);
  - fork: host memory (PSS) per idle clone of condo run --restore --fork N,
    against one freshly booted idle VM, and how many fit in MemAvailable;
  - live migration of an idle and of a busy guest (one rewriting 64 MiB of
    tmpfs in a loop) between two processes on this host: total time and
    downtime (condo migrate; QEMU's migrate with `info migrate`).
Every figure is the min and median of BENCH_RUNS runs (default 5).
Usage: CONDO=build/condo bench/snapshot.py
"""
import glob, json, os, re, shutil, socket, statistics, subprocess, sys, tempfile, time

CONDO = os.path.abspath(os.environ.get("CONDO", "build/condo"))
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
CLONES = int(os.environ.get("BENCH_CLONES", "16"))
GUEST = os.environ.get("GUEST_DIR") or os.path.expanduser("~/.cache/condo/guest")
KERNEL, INITRD = GUEST + "/Image", GUEST + "/initramfs.cpio.gz"
QEMU = shutil.which("qemu-system-riscv64")
BUSY = "mkdir -p /dev/shm/b; while :; do yes 0123456789abcdef | head -c 67108864 >/dev/shm/b/x; done &"


class Proc:
    """A process whose stdout we read without blocking."""

    def __init__(self, argv, **kw):
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, **kw)
        os.set_blocking(self.p.stdout.fileno(), False)
        self.buf = b""

    def wait_for(self, pattern, timeout=60):
        end = time.monotonic() + timeout
        rx = re.compile(pattern)
        while time.monotonic() < end:
            if rx.search(self.buf):
                return time.monotonic()
            try:
                d = os.read(self.p.stdout.fileno(), 65536)
                if d:
                    self.buf += d
                    continue
                if self.p.poll() is not None:
                    break
            except BlockingIOError:
                pass
            time.sleep(0.0005)
        raise RuntimeError("timed out waiting for %r: %r %r" % (pattern, self.buf[-300:],
                                                               self.p.stderr.read()[-300:] if self.p.poll() is not None else b""))

    def send(self, text):
        self.p.stdin.write(text.encode())
        self.p.stdin.flush()

    def end(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait()


def stats(xs):
    return "%9.1f %9.1f" % (min(xs), statistics.median(xs))


def monitor(path, cmd):
    """One QEMU human-monitor command; its output."""
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.settimeout(30)
    out = b""
    while not out.endswith(b"(qemu) "):
        out += s.recv(4096)
    s.sendall(cmd.encode() + b"\n")
    out = b""
    while not out.endswith(b"(qemu) "):
        d = s.recv(65536)
        if not d:
            break
        out += d
    s.close()
    return out.decode(errors="replace")


def qemu_argv(mon, extra=()):
    return [QEMU, "-M", "virt", "-m", "256M", "-smp", "1", "-display", "none", "-serial", "stdio",
            "-monitor", "unix:%s,server=on,wait=off" % mon, "-kernel", KERNEL, "-initrd", INITRD,
            "-append", "console=ttyS0 quiet", *extra]


def condo_boot(work, name, extra=(), busy=False):
    sock = os.path.join(work, name + ".sock")
    vm = Proc([CONDO, "run", "--control", sock, "--append", "console=ttyS0 quiet", *extra])
    vm.wait_for(rb"# $")
    if busy:
        vm.send(BUSY + "\n")
        time.sleep(2)
    return vm, sock


def qemu_boot(work, name, extra=(), busy=False):
    mon = os.path.join(work, name + ".mon")
    vm = Proc(qemu_argv(mon, extra))
    vm.wait_for(rb"# $")
    if busy:
        vm.send(BUSY + "\n")
        time.sleep(2)
    return vm, mon


def answer_time(argv):
    """Start argv, type `echo pong`, ms until pong comes back."""
    t0 = time.monotonic()
    vm = Proc(argv)
    # again every 5 ms: a UART may drop what comes while it is being loaded
    while True:
        vm.send("\necho po''ng\n")
        try:
            t = vm.wait_for(rb"\npong", timeout=0.005)
            break
        except RuntimeError:
            if time.monotonic() - t0 > 60:
                raise
    vm.end()
    return (t - t0) * 1e3


def condo_snapshot(work):
    snaps, paused = [], []
    for i in range(RUNS):
        vm, sock = condo_boot(work, "s%d" % i)
        d = os.path.join(work, "snap%d" % i)
        t0 = time.monotonic()
        r = subprocess.run([CONDO, "snapshot", "--control", sock, "--stop", d], capture_output=True, text=True)
        snaps.append((time.monotonic() - t0) * 1e3)
        if r.returncode:
            raise RuntimeError(r.stderr)
        vm.p.wait()
    used = sum(os.stat(f).st_blocks * 512 for f in glob.glob(os.path.join(work, "snap0", "*")))
    return snaps, os.path.join(work, "snap0"), used


def qemu_snapshot(work):
    times = []
    for i in range(RUNS):
        vm, mon = qemu_boot(work, "q%d" % i)
        f = os.path.join(work, "qemu%d.state" % i)
        # no bandwidth cap (QEMU's default throttles); not stopped first, so
        # the state says "running" and -incoming resumes it by itself
        monitor(mon, "migrate_set_parameter max-bandwidth 100G")
        t0 = time.monotonic()
        monitor(mon, "migrate \"exec:cat > %s\"" % f)
        while True:
            info = monitor(mon, "info migrate")
            if "completed" in info:
                break
            time.sleep(0.002)
        # QEMU's own count (polling its monitor adds to the wall time)
        times.append(float(re.search(r"total time: (\d+) ms", info).group(1)))
        vm.end()
    return times, os.path.join(work, "qemu0.state")


def pss_kib(pids):
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/smaps_rollup" % pid) as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def children(pid):
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


def fork_memory(work, snap):
    logs = os.path.join(work, "clone%d.log")
    t0 = time.monotonic()
    p = subprocess.Popen([CONDO, "run", "--restore", snap, "--fork", str(CLONES), "--console", logs,
                          "--control", os.path.join(work, "clone%d.sock")], stdin=subprocess.DEVNULL)
    # each clone answers its control socket once it runs
    for i in range(CLONES):
        sock = os.path.join(work, "clone%d.sock" % i)
        while subprocess.run([CONDO, "control", sock, "status"], capture_output=True).returncode:
            time.sleep(0.01)
    started = (time.monotonic() - t0) * 1e3
    time.sleep(3)  # idle: the guests' timers tick
    pss = pss_kib(children(p.pid)) / CLONES
    for i in range(CLONES):
        subprocess.run([CONDO, "control", os.path.join(work, "clone%d.sock" % i), "quit"], capture_output=True)
    p.wait()
    vm, sock = condo_boot(work, "fresh")
    time.sleep(3)
    fresh = pss_kib([vm.p.pid])
    subprocess.run([CONDO, "control", sock, "quit"], capture_output=True)
    vm.end()
    return pss, fresh, started


def condo_migrate(work, busy):
    total, down = [], []
    for i in range(RUNS):
        vm, sock = condo_boot(work, "m%d" % i, busy=busy)
        addr = "unix:" + os.path.join(work, "mig%d.sock" % i)
        dst = Proc([CONDO, "run", "--incoming", addr])
        for _ in range(2000):  # until the destination listens
            r = subprocess.run([CONDO, "migrate", "--control", sock, "--to", addr],
                               capture_output=True, text=True)
            if "refused" not in r.stderr and "No such file" not in r.stderr:
                break
            time.sleep(0.005)
        m = re.search(r"migrated in ([\d.]+) ms.*paused ([\d.]+) ms", r.stdout)
        if not m:
            raise RuntimeError(r.stdout + r.stderr)
        total.append(float(m.group(1)))
        down.append(float(m.group(2)))
        dst.send("echo mi''grated\n")
        dst.wait_for(rb"\nmigrated")
        dst.end()
        vm.end()
    return total, down


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def qemu_migrate(work, busy):
    total, down = [], []
    for i in range(RUNS):
        vm, mon = qemu_boot(work, "qm%d" % i, busy=busy)
        port = free_port()
        monitor(mon, "migrate_set_parameter max-bandwidth 100G")
        dmon = os.path.join(work, "qd%d.mon" % i)
        dst = Proc(qemu_argv(dmon, ["-incoming", "tcp:127.0.0.1:%d" % port]))
        time.sleep(0.3)
        monitor(mon, "migrate -d tcp:127.0.0.1:%d" % port)
        while True:
            info = monitor(mon, "info migrate")
            if "completed" in info or "failed" in info:
                break
            time.sleep(0.01)
        t = re.search(r"total time: (\d+) ms", info)
        d = re.search(r"downtime: (\d+) ms", info)
        if not t or not d:
            raise RuntimeError(info)
        total.append(float(t.group(1)))
        down.append(float(d.group(1)))
        dst.end()
        vm.end()
    return total, down


def main():
    if not os.access(KERNEL, os.R_OK):
        sys.exit("bench-snapshot: no default guest (make guest)")
    work = tempfile.mkdtemp(prefix="condo-bench-snapshot.")
    try:
        mem_total = int(re.search(r"MemAvailable:\s+(\d+)", open("/proc/meminfo").read()).group(1))
        print("snapshots, 256 MiB default guest at its shell prompt, %d runs (%d cores, %s)"
              % (RUNS, os.cpu_count(), time.strftime("%Y-%m-%d", time.gmtime())))
        print("%-44s %9s %9s" % ("", "min_ms", "median_ms"))
        snaps, snap, used = condo_snapshot(work)
        print("%-44s %s   (%.1f MiB on disk)" % ("condo snapshot --stop", stats(snaps), used / 2**20))
        if QEMU:
            qs, qstate = qemu_snapshot(work)
            print("%-44s %s   (%.1f MiB)" % ("qemu migrate to a file (virsh save)", stats(qs),
                                             os.path.getsize(qstate) / 2**20))
        cr = [answer_time([CONDO, "run", "--restore", snap]) for _ in range(RUNS)]
        print("%-44s %s" % ("condo run --restore: to the console's answer", stats(cr)))
        if QEMU:
            qr = [answer_time(qemu_argv(os.path.join(work, "r.mon"), ["-incoming", "exec:cat " + qstate]))
                  for _ in range(RUNS)]
            print("%-44s %s   (condo/qemu %.2fx)" % ("qemu -incoming exec:cat: to the answer", stats(qr),
                                                    statistics.median(cr) / statistics.median(qr)))
        for busy in (False, True):
            kind = "busy" if busy else "idle"
            t, d = condo_migrate(work, busy)
            print("%-44s %s" % ("condo migrate, %s guest: total" % kind, stats(t)))
            print("%-44s %s" % ("                       downtime", stats(d)))
            if QEMU:
                qt, qd = qemu_migrate(work, busy)
                print("%-44s %s" % ("qemu migrate, %s guest: total" % kind, stats(qt)))
                print("%-44s %s" % ("                       downtime", stats(qd)))
        pss, fresh, started = fork_memory(work, snap)
        print("fork: %d idle clones running %.0f ms after the start; PSS per clone %.1f MiB, "
              "a freshly booted idle VM %.1f MiB; MemAvailable %.1f GiB holds about %d such clones"
              % (CLONES, started, pss / 1024, fresh / 1024, mem_total / 2**20, mem_total / pss))
    finally:
        subprocess.run(["pkill", "-f", work], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
