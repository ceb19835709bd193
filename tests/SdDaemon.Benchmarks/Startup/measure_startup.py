#!/usr/bin/env python3
"""Start-up benchmark: exec to READY=1, and peak RSS, of a daemon that only notifies its manager.

Subjects, run interleaved in one process so that they share the machine's state:
  C + libsystemd     ready.c: sd_notify(0, "READY=1") (the floor)
  NativeAOT          ReadyNotifier published with PublishAot=true, default globalization
  NativeAOT, invariant  the same with InvariantGlobalization=true
  NativeAOT, raw     the NativeAOT binary sending READY=1 by a socket() and sendto() of its own,
                     without SdDaemon: the runtime's start-up alone
  NativeAOT, lazy libc  the same as NativeAOT without SdDaemon's DirectPInvoke of libc (the state
                     before it: the first P/Invoke looks libc up, which loads ICU)
  JIT                ReadyNotifier framework-dependent (the apphost, the shared runtime)
Each run: a datagram socket bound as NOTIFY_SOCKET, the clock started just before the spawn and
stopped when READY=1 arrives; the program (run with --hold) then sleeps, its peak RSS (VmHWM) is
read and it is killed. (Not ru_maxrss: exec records the spawning Python's RSS there.) CPU time is
what all its threads ran until then (/proc/PID/task/*/schedstat): on a busy machine wall time
mostly measures the wait for a core, CPU time much less so.
Usage: measure_startup.py [--runs N] [--keep DIR [--no-build]]   (from anywhere; builds what it
runs into a temporary folder, or into DIR and keeps it; --no-build measures DIR's binaries again)
"""
import argparse, os, shutil, socket, statistics, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT = os.path.join(HERE, "ReadyNotifier", "ReadyNotifier.csproj")


def publish(out, *properties, build=True):
    """dotnet publish into out/bin with its own artifacts folder, so variants do not share obj/."""
    if build:
        subprocess.run(["dotnet", "publish", PROJECT, "-c", "Release", "-r", "linux-x64", "--nologo", "-v", "q",
                        "--artifacts-path", os.path.join(out, "artifacts"), "-o", os.path.join(out, "bin"), *properties],
                       check=True, stdout=subprocess.DEVNULL)
    return os.path.join(out, "bin", "ReadyNotifier")


def build(work, build=True):
    c = os.path.join(work, "ready")
    if build:
        subprocess.run(["gcc", "-O2", "-o", c, os.path.join(HERE, "ready.c"), "-lsystemd"], check=True)
    aot = publish(os.path.join(work, "aot"), "-p:PublishAot=true", build=build)
    return [
        ("C + libsystemd `sd_notify` (the floor)", [c]),
        ("**NativeAOT**, default globalization", [aot]),
        ("NativeAOT, a raw `sendto` instead of SdDaemon (the runtime alone)", [aot, "--raw"]),
        ("NativeAOT, InvariantGlobalization", [publish(os.path.join(work, "aot-invariant"), "-p:PublishAot=true", "-p:InvariantGlobalization=true", build=build)]),
        ("NativeAOT without DirectPInvoke of libc (before)", [publish(os.path.join(work, "aot-lazy"), "-p:PublishAot=true", "-p:LazyLibc=true", build=build)]),
        ("JIT, framework-dependent", [publish(os.path.join(work, "jit"), "-p:PublishAot=false", "-p:SelfContained=false", build=build)]),
    ]


def run_once(argv, work):
    path = os.path.join(work, "notify")
    if os.path.exists(path):
        os.unlink(path)
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.bind(path)
        s.settimeout(30)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NOTIFY_SOCKET", "WATCHDOG_", "LISTEN_"))}
        env["NOTIFY_SOCKET"] = path
        start = time.perf_counter()
        child = subprocess.Popen([*argv, "--hold"], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        data = s.recv(4096)
        elapsed = time.perf_counter() - start
        with open(f"/proc/{child.pid}/status") as status:
            peak_kib = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
        cpu_ns = 0
        for task in os.listdir(f"/proc/{child.pid}/task"):
            with open(f"/proc/{child.pid}/task/{task}/schedstat") as schedstat:
                cpu_ns += int(schedstat.read().split()[0])
        child.kill()
        child.wait()
    if data != b"READY=1":
        sys.exit(f"{argv}: got {data!r}")
    return elapsed * 1000, peak_kib / 1024, cpu_ns / 1e6  # ms, MiB, ms


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--keep", help="build into this folder and keep it")
    parser.add_argument("--no-build", action="store_true", help="measure the binaries already in --keep")
    args = parser.parse_args()
    if args.no_build and not args.keep:
        parser.error("--no-build needs --keep")
    work = args.keep or tempfile.mkdtemp(prefix="sdd-startup-")
    os.makedirs(work, exist_ok=True)
    try:
        subjects = build(work, build=not args.no_build)
        for _, exe in subjects:  # warm the page cache
            run_once(exe, work)
            run_once(exe, work)
        samples = {name: [] for name, _ in subjects}
        for _ in range(args.runs):
            for name, exe in subjects:
                samples[name].append(run_once(exe, work))
        def median(name, column):
            return statistics.median(sample[column] for sample in samples[name])

        floor, cpu_floor = median(subjects[0][0], 0), median(subjects[0][0], 2)
        print(f"| Daemon | exec to READY=1 (median of {args.runs}) | Ratio to C | CPU time to READY=1 | Ratio to C | peak RSS at READY=1 |")
        print("|---|---:|---:|---:|---:|---:|")
        for name, _ in subjects:
            wall, cpu = median(name, 0), median(name, 2)
            print(f"| {name} | {wall:.1f} ms | {wall / floor:.2f} | {cpu:.1f} ms | {cpu / cpu_floor:.2f} | {median(name, 1):.1f} MiB |")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
