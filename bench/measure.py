"""Run one command and write its wall time, peak RSS and CPU time as JSON:
``python bench/measure.py OUT.json CMD ARGS...``.

A separate small process, because a child's ``ru_maxrss`` counts the memory of the process it was
forked from until it execs: measured straight from a benchmark that has loaded torch, every child
would "peak" at the benchmark's own size.
"""

import json
import os
import sys
import time

out, argv = sys.argv[1], sys.argv[2:]
t = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(argv[0], argv)
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - t
with open(out, "w") as f:
    json.dump({"wall_s": wall, "rc": os.waitstatus_to_exitcode(status), "maxrss_mb": usage.ru_maxrss / 1024,
               "user_s": usage.ru_utime, "sys_s": usage.ru_stime}, f)
