#!/usr/bin/env python3
"""Whole-process benchmark for classic daemonization (docs/daemonization.md).

Compares, for examples/ClassicDaemon:
  foreground: launch -> READY=1 received on a NOTIFY_SOCKET we bind (Type=notify style)
  daemon:     launch of `--daemon --pidfile` -> the launcher's exit (it exits after the
              daemon's READY=1 on the private socket), i.e. what an init script waits for
Usage: measure_daemonize.py PATH/TO/ClassicDaemon [runs]   (apphost built by dotnet build)
"""
import os, socket, statistics, subprocess, sys, tempfile, time

exe = os.path.abspath(sys.argv[1])
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 20
work = tempfile.mkdtemp(prefix="sdd-bench-")
pidfile = os.path.join(work, "d.pid")

def foreground():
    path = os.path.join(work, "notify")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    env = dict(os.environ, NOTIFY_SOCKET=path)
    start = time.perf_counter()
    p = subprocess.Popen([exe, "--exit-after-ready"], env=env, stdout=subprocess.DEVNULL)
    while True:
        data = s.recv(4096)
        if b"READY=1" in data.split(b"\n"):
            break
    elapsed = time.perf_counter() - start
    p.wait()
    s.close(); os.unlink(path)
    return elapsed

def daemon():
    env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
    start = time.perf_counter()
    rc = subprocess.run([exe, "--daemon", "--pidfile", pidfile], env=env).returncode
    elapsed = time.perf_counter() - start
    assert rc == 0, rc
    subprocess.run([exe, "--stop", "--pidfile", pidfile], stdout=subprocess.DEVNULL, check=True)
    return elapsed

for name, fn in (("foreground to READY=1", foreground), ("--daemon to launcher exit", daemon)):
    fn()  # warm the page cache
    samples = sorted(fn() * 1000 for _ in range(runs))
    print(f"{name:28} median {statistics.median(samples):7.1f} ms  min {samples[0]:7.1f}  max {samples[-1]:7.1f}  (n={runs})")
