"""Top frames of a py-spy profile in collapsed ("raw") format: self time and inclusive time.

    py-spy record --format raw --rate 200 --duration 20 --pid <sentinai pid> -o /tmp/sentinai-bench/w1.txt
    .venv/bin/python bench/tools/pyspy_top.py /tmp/sentinai-bench/w1.txt [--top 25] [--by module|function]

py-spy needs its own environment (e.g. `python3 -m venv /tmp/sentinai-bench/pyspy-venv` and
`pip install py-spy` there) and root or ptrace rights. Idle samples (the event loop waiting in
epoll / select) are reported separately and left out of the percentages.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

IDLE = re.compile(r"\b(select|poll|epoll_wait|_run_once \(asyncio/base_events|run_forever)\b")
FRAME = re.compile(r"^(?P<func>[^ ]+) \((?P<file>[^:)]+)(?::\d+)?\)$")


def parse(path: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        stack, _, count = line.rpartition(" ")
        stacks.append((stack.split(";"), int(count)))
    return stacks


def label(frame: str, by: str) -> str:
    m = FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    file = m["file"]
    for marker in ("site-packages/", "/src/", "python3.11/"):
        if marker in file:
            file = file.split(marker, 1)[1]
    if by == "module":
        return _package(file)
    return f"{m['func']} ({file})"


def _package(file: str) -> str:
    parts = file.replace(".py", "").split("/")
    if parts[0] == "sentinai" and len(parts) > 1:
        return "/".join(parts[:2])
    return parts[0]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("profile", type=Path)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--by", choices=("function", "module"), default="function")
    args = ap.parse_args()
    stacks = parse(args.profile)
    total = sum(c for _, c in stacks)
    busy = [(s, c) for s, c in stacks if not IDLE.search(s[-1])]
    busy_total = sum(c for _, c in busy) or 1
    own, incl = Counter(), Counter()
    for frames, count in busy:
        labels = [label(f, args.by) for f in frames]
        own[labels[-1]] += count
        for name in set(labels):
            incl[name] += count
    print(f"{total} samples, {busy_total} busy ({busy_total / max(total, 1):.0%}); percentages of busy samples\n")
    print(f"{'self %':>7}  frame")
    for name, c in own.most_common(args.top):
        print(f"{100 * c / busy_total:6.1f}%  {name}")
    print(f"\n{'incl %':>7}  frame")
    for name, c in incl.most_common(args.top):
        print(f"{100 * c / busy_total:6.1f}%  {name}")


if __name__ == "__main__":
    main()
