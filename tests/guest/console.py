#!/usr/bin/python3
"""Drive a VM's serial console like a person would: wait for text, type a
line, wait for the answer.  Python standard library only.

usage: console.py SCRIPT -- COMMAND [ARGS...]

SCRIPT is a file of steps, one per line:
    expect TEXT      wait until TEXT appears in the output
    send TEXT        type TEXT and a newline
    exit CODE        wait for the command to end with exit status CODE
    host COMMAND     run a shell command on the host (e.g. kill a server)
Lines starting with # are comments.  Each wait has a generous deadline
(CONSOLE_TIMEOUT seconds, default 600) that only guards against hangs.
On failure the last part of the output is shown; CONSOLE_LOG=FILE keeps
all of it (stdout and stderr of the command) in FILE.
"""
import os
import select
import subprocess
import sys
import time


def fail(msg, out):
    keep_log(out)
    tail = out[-3000:].decode("utf-8", "replace")
    sys.stderr.write("---- console output (tail) ----\n%s\n---- %s\n" % (tail, msg))
    sys.exit(1)


def main():
    if "--" not in sys.argv:
        sys.exit(__doc__)
    sep = sys.argv.index("--")
    steps = [l.rstrip("\n") for l in open(sys.argv[1]) if l.strip() and not l.startswith("#")]
    cmd = sys.argv[sep + 1:]
    timeout = float(os.environ.get("CONSOLE_TIMEOUT", "600"))
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    out = b""
    pos = 0  # expect searches from here, so each step waits for new output
    for step in steps:
        verb, _, arg = step.partition(" ")
        deadline = time.monotonic() + timeout
        if verb == "host":
            subprocess.run(arg, shell=True, check=False)
        elif verb == "send":
            proc.stdin.write(arg.encode() + b"\n")
            proc.stdin.flush()
        elif verb == "expect":
            want = arg.encode()
            while out.find(want, pos) < 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    proc.kill()
                    fail("timed out waiting for %r" % arg, out)
                r, _, _ = select.select([proc.stdout], [], [], left)
                chunk = os.read(proc.stdout.fileno(), 65536) if r else b""
                if r and not chunk:
                    fail("the VM ended while waiting for %r (status %s)"
                         % (arg, proc.wait()), out)
                out += chunk
            pos = out.find(want, pos) + len(want)
        elif verb == "exit":
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    proc.kill()
                    fail("timed out waiting for the VM to exit", out)
                r, _, _ = select.select([proc.stdout], [], [], left)
                chunk = os.read(proc.stdout.fileno(), 65536) if r else b""
                if not chunk:
                    break
                out += chunk
            status = proc.wait()
            if status != int(arg):
                fail("exit status %d, expected %s" % (status, arg), out)
        else:
            sys.exit("console.py: bad step %r" % step)
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    keep_log(out)


def keep_log(out):
    if os.environ.get("CONSOLE_LOG"):
        with open(os.environ["CONSOLE_LOG"], "wb") as f:
            f.write(out)


if __name__ == "__main__":
    main()
