"""Time ``cachekit report --users all`` against ``du -sb`` over the same users' caches.

Why: on a shared server an admin asks for every user's caches at once; each user's part
runs in a child that has become that user, and that must cost little more than reading
the trees. The target (issue 14): ``report --users all``, as root, on 20 users each
holding a 5,000-file pip cache, takes at most 1.2x the time of one ``du -sb`` over those
20 caches, medians of the same run.

The users (``ckub01``...) are created with ``useradd``, each given a copy of one
synthetic pip cache (``make_synthetic_pip_cache``), and removed at the end. Both commands
run in a private mount namespace whose ``/etc`` is a copy with a passwd of root and those
users only, so ``all`` means exactly them whatever else the machine has. One discarded
warm-up each, then ``--runs`` interleaved rounds. Exit status: 0 target met, 1 missed,
2 the benchmark could not run (needs root, ``useradd``, ``unshare``).

Usage: ``sudo python bench/bench_users.py [--users 20] [--files 5000] [--runs 7] [--json]``
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import shutil
import statistics
import subprocess
import sys
import tempfile

import make_synthetic_pip_cache as synth
from benchkit import BenchError, clean_env, run, time_rounds, timing_options

TARGET = 1.2  # cachekit median / du median must be at most this
REFERENCE_FILES = 100_001  # the synthetic cache at scale 1.0
PREFIX = "ckub"


def make_users(count: int, files: int, base: str) -> list[str]:
    """``count`` users, each with a copy of one synthetic pip cache of ``files`` files."""
    master = os.path.join(base, "master")
    synth.generate(master, scale=files / REFERENCE_FILES)
    made = []
    for i in range(1, count + 1):
        name = f"{PREFIX}{os.getpid() % 10000}{i:02d}"
        subprocess.run(["useradd", "-m", "-s", "/bin/bash", "-p", "*", name], check=True)
        made.append(name)
        cache = os.path.join(pwd.getpwnam(name).pw_dir, ".cache", "pip")
        os.makedirs(os.path.dirname(cache))
        subprocess.run(["cp", "-a", master, cache], check=True)
        subprocess.run(["chown", "-R", f"{name}:{name}",
                        os.path.dirname(cache)], check=True)
    return made


def private_etc(base: str, users: list[str]) -> str:
    """A copy of /etc whose passwd holds root (home: a directory of the benchmark's) and
    ``users``."""
    etc = os.path.join(base, "etc")
    subprocess.run(["cp", "-a", "/etc", etc], check=True)
    root_home = os.path.join(base, "roothome")
    os.mkdir(root_home, 0o700)
    lines = [f"root:x:0:0:root:{root_home}:/bin/bash"]
    for e in map(pwd.getpwnam, users):
        lines.append(f"{e.pw_name}:x:{e.pw_uid}:{e.pw_gid}::{e.pw_dir}:{e.pw_shell}")
    with open(os.path.join(etc, "passwd"), "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    return etc


def _file_bytes(root: str) -> int:
    """The apparent size of the files under ``root`` (what ``report`` counts)."""
    total = 0
    for folder, _dirs, files in os.walk(root):
        total += sum(os.lstat(os.path.join(folder, f)).st_size for f in files)
    return total


def in_namespace(etc: str, argv: list[str]) -> list[str]:
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c",
            'mount --bind "$0" /etc && exec "$@"', etc, *argv]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--files", type=int, default=5000, help="files in each user's cache")
    timing_options(ap, runs=7)
    args = ap.parse_args(argv)
    if os.geteuid() != 0 or not shutil.which("useradd") or not shutil.which("unshare"):
        print("bench_users: needs root, useradd and unshare", file=sys.stderr)
        return 2
    base = tempfile.mkdtemp(prefix="ckub-")
    users: list[str] = []
    try:
        users = make_users(args.users, args.files, base)
        etc = private_etc(base, users)
        caches = [os.path.join(pwd.getpwnam(u).pw_dir, ".cache", "pip") for u in users]
        env = clean_env(("PIP_", "XDG_", "CONDA", "MAMBA_", "UV_", "CACHEKIT_"),
                        HOME=os.path.join(base, "roothome"))
        report = [sys.executable, "-m", "cachekit", "report", "--users", "all"]
        doc = json.loads(run(in_namespace(etc, report + ["--format", "json"]), env))
        host = doc["hosts"][0]
        seen = {c["user"]: c.get("bytes", 0) for c in host["caches"] if c["manager"] == "pip"}
        sizes = [_file_bytes(c) for c in caches]
        if sorted(u["user"] for u in host["users"]) != sorted(["root", *users]):
            raise BenchError(f"--users all selected {[u['user'] for u in host['users']]}")
        times = time_rounds({"cachekit report --users all": (in_namespace(etc, report), env),
                             "du -sb": (in_namespace(etc, ["du", "-sb", *caches]), env)},
                            args.runs)
    except (BenchError, OSError, subprocess.CalledProcessError) as exc:
        print(f"bench_users: error: {exc}", file=sys.stderr)
        return 2
    finally:
        for name in users:
            subprocess.run(["userdel", "-r", "-f", name], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)
    medians = {k: statistics.median(v) for k, v in times.items()}
    ratio = medians["cachekit report --users all"] / medians["du -sb"]
    result = {"users": args.users, "files_per_user": args.files, "runs": args.runs,
              "medians_s": medians, "ratio": round(ratio, 3), "target": TARGET,
              "met": ratio <= TARGET,
              "bytes_agree": sorted(v for k, v in seen.items() if k != "root") == sorted(sizes)}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for name, median in medians.items():
            print(f"{name:32} median {median * 1000:8.1f} ms")
        agree = "agree" if result["bytes_agree"] else "DISAGREE"
        print(f"ratio {ratio:.2f} (target <= {TARGET}): {'met' if result['met'] else 'MISSED'};"
              f" per-user bytes {agree} with the files' sizes")
    return 0 if result["met"] and result["bytes_agree"] else 1


if __name__ == "__main__":
    sys.exit(main())
