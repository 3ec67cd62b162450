"""Run one command as a child and report its wall time and peak RSS, as one JSON line:

    python -m bench.rss_child -- python -m webhook decode --model aura-reference --input F

The child's stdout goes to /dev/null (its stderr is kept, for errors). Peak RSS is
``getrusage(RUSAGE_CHILDREN).ru_maxrss`` of THIS process, which has no other child, so it is
the command's own peak however many runs the caller makes (each in a fresh wrapper).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        raise SystemExit("usage: python -m bench.rss_child -- COMMAND ...")
    started = time.perf_counter()
    done = subprocess.run(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(
        json.dumps(
            {
                "returncode": done.returncode,
                "wall_s": wall,
                "cpu_s": usage.ru_utime + usage.ru_stime,
                "maxrss_kib": usage.ru_maxrss,  # Linux: kibibytes
            }
        )
    )


if __name__ == "__main__":
    main()
