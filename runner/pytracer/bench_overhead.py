"""Per-line-event cost of memlens's tracer next to memory_profiler's.

Usage: python3 bench_overhead.py [--n 200000] [--mp-python /usr/bin/python3]

Runs one @profile-decorated tight loop (2*n+3 line events) in fresh
processes: plain (the decorator does nothing), under memlens's tracer (RSS
throttled, the default; and RSS read on every event, memory_profiler's way),
and under the real memory_profiler when its interpreter can import it. Prints
microseconds per line event over plain for each, and the ratio. Meant for
`make bench`; machines are noisy, so it takes the best of --repeat runs.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

WORKLOAD = '''
import sys, time
from memory_profiler import profile

@profile
def loop(n):
    total = 0
    for i in range(n):
        total += i
    return total

t = time.perf_counter()
loop(%d)
sys.__stdout__.write("ELAPSED %%.9f\\n" %% (time.perf_counter() - t))
'''


def run(cmd, env):
    out = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    for line in out.stdout.splitlines():
        if line.startswith("ELAPSED "):
            return float(line.split()[1])
    raise RuntimeError("%s failed:\n%s%s" % (" ".join(cmd), out.stdout[-2000:], out.stderr[-2000:]))


def best(n, cmd, env):
    return min(run(cmd, env) for _ in range(n))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200000, help="loop iterations")
    ap.add_argument("--repeat", type=int, default=3, help="runs per mode (best is kept)")
    ap.add_argument("--python", default=sys.executable, help="interpreter for plain and memlens runs")
    ap.add_argument("--mp-python", default="/usr/bin/python3", help="interpreter that has memory_profiler")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args()

    events = 2 * args.n + 3
    tmp = tempfile.mkdtemp(prefix="memlens-bench-")
    script = os.path.join(tmp, "workload.py")
    with open(script, "w") as f:
        f.write(WORKLOAD % args.n)
    base_env = dict(os.environ)
    base_env.pop("PYTHONPATH", None)
    shim_env = dict(base_env, PYTHONPATH=os.path.join(HERE, "shim"))
    tracer = os.path.join(HERE, "memlens_tracer.py")
    out = os.path.join(tmp, "out.json")

    res = {"events": events}
    plain = best(args.repeat, [args.python, script], shim_env)
    res["plain_s"] = plain
    t = best(args.repeat, [args.python, tracer, script], dict(base_env, MEMLENS_OUT=out))
    res["memlens_us_per_event"] = (t - plain) / events * 1e6
    t = best(args.repeat, [args.python, tracer, script], dict(base_env, MEMLENS_OUT=out, MEMLENS_RSS_EVERY_EVENT="1"))
    res["memlens_rss_every_event_us_per_event"] = (t - plain) / events * 1e6

    has_mp = subprocess.run([args.mp_python, "-c", "import memory_profiler"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0
    if has_mp:
        mp_plain = best(args.repeat, [args.mp_python, script], shim_env) if args.mp_python != args.python else plain
        t = best(1, [args.mp_python, script], base_env)  # memory_profiler is slow: one run
        res["memory_profiler_us_per_event"] = (t - mp_plain) / events * 1e6
        res["speedup"] = res["memory_profiler_us_per_event"] / max(res["memlens_us_per_event"], 1e-9)
    else:
        res["memory_profiler"] = "not importable by %s (apt-get install python3-memory-profiler python3-psutil)" % args.mp_python

    if args.json:
        print(json.dumps(res, indent=2))
    else:
        print("line events:                    %d" % events)
        print("memlens (RSS throttled):        %.2f us/event" % res["memlens_us_per_event"])
        print("memlens (RSS every event):      %.2f us/event" % res["memlens_rss_every_event_us_per_event"])
        if has_mp:
            print("memory_profiler:                %.2f us/event" % res["memory_profiler_us_per_event"])
            print("memlens is %.1fx faster" % res["speedup"])
        else:
            print("memory_profiler:                %s" % res["memory_profiler"])


if __name__ == "__main__":
    main()
