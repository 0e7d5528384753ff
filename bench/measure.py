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
# Peak RssAnon as well, sampled every 5 ms from /proc: the process's own memory. ru_maxrss also
# counts the file pages it maps (a memory-mapped index), and how many of those are mapped depends on
# the page cache: with the index's files cached, each page fault maps up to 16 neighbouring cached
# pages (the kernel's fault-around), so the same cold ask at 100k paragraphs peaked at 350 MB or at
# 523 MB depending on what other runs had just read.
anon = 0
while True:
    done, status, usage = os.wait4(pid, os.WNOHANG)
    if done:
        break
    try:
        with open(f"/proc/{pid}/status") as st:
            for line in st:
                if line.startswith("RssAnon:"):
                    anon = max(anon, int(line.split()[1]))
    except OSError:
        pass
    time.sleep(0.005)
wall = time.perf_counter() - t
with open(out, "w") as f:
    json.dump({"wall_s": wall, "rc": os.waitstatus_to_exitcode(status), "maxrss_mb": usage.ru_maxrss / 1024,
               "anon_peak_mb": anon / 1024, "user_s": usage.ru_utime, "sys_s": usage.ru_stime}, f)
