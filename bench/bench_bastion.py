"""Time ``cachekit report`` over 16 hosts behind one bastion against the same 16 hosts
reached directly, in the same run.

Why: hosts behind a bastion share one SSH session to it (a forwarded channel per host),
so the bastion should cost little more than the extra hop; one bastion login per host
would cost a full SSH handshake each. The target (issue 14, item 5): the median through
the bastion is at most 1.3x the median of the direct run.

The network is the jump-host tests' (tests/fixtures/netns_lab.py): network namespaces
where only the bastion reaches the 16 targets, each with its own synthetic pip cache,
real sshd's. Through the bastion, cachekit runs in the controller's namespace with
``ansible_ssh_common_args: -o ProxyJump=root@<bastion>``; directly, it runs in the
bastion's namespace (one network hop nearer, no jump) with the same inventory otherwise.
Both run as subprocesses with an isolated HOME: one discarded warm-up each, then
``--runs`` interleaved rounds; the median wall time counts. Before timing, both runs'
per-host file and byte counts are checked against the generator's, and the bastion's sshd
log must show exactly one login for a run through it. Needs root (namespaces).
Exit status: 0 target met, 1 missed or the counts disagree, 2 the benchmark could not run.

Usage: ``python bench/bench_bastion.py [--hosts 16] [--scale 0.04] [--runs 5] [--json]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import make_synthetic_pip_cache as synth
from bench_info import code_identity
from benchkit import (
    BenchError,
    clean_env,
    run,
    synthetic_cache_options,
    time_rounds,
    timing_options,
)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GROUP = "inner"
TARGET_RATIO = 1.3  # through the bastion / direct, medians, at most


def write_inventory(path: str, key: str, hosts: dict[str, tuple[str, str]], jump: str | None
                    ) -> str:
    import yaml  # cachekit's own dependency

    group_vars: dict[str, Any] = {"ansible_ssh_common_args": f"-o ProxyJump={jump}"} \
        if jump else {}
    entries = {name: {"ansible_host": address, "ansible_port": 22,
                      "cachekit_env": {"PIP_CACHE_DIR": cache,
                                       "XDG_CACHE_HOME": cache + ".xdg"}}
               for name, (address, cache) in hosts.items()}
    doc = {"all": {"vars": {"ansible_user": "root", "ansible_ssh_private_key_file": key},
                   "children": {GROUP: {"vars": group_vars, "hosts": entries}}}}
    with open(path, "w", encoding="utf-8") as fh:
        yaml.safe_dump(doc, fh)
    return path


def check(doc: dict[str, Any], generated: dict[str, dict[str, Any]]) -> list[str]:
    """Hosts whose row is not ok or whose figures differ from the generator's."""
    bad = []
    rows = {h["host"]: h for h in doc["hosts"]}
    for name, made in generated.items():
        row = rows.get(name, {})
        cache = (row.get("caches") or [{}])[0]
        if row.get("status") != "ok" or [cache.get("files"), cache.get("bytes")] != \
                [made["files"], made["bytes"]]:
            bad.append(f"{name}: {row.get('status')} {row.get('error') or ''} "
                       f"{cache.get('files')}/{cache.get('bytes')} files/bytes, generated "
                       f"{made['files']}/{made['bytes']}")
    return bad


def bench(args: argparse.Namespace, work: str, net: Any) -> dict[str, Any]:
    from tests.fixtures.netns_lab import BASTION, TARGETS

    home = os.path.join(work, "home")
    ssh = Path(home, ".ssh")
    ssh.mkdir(parents=True, mode=0o700)
    net.known_hosts(ssh / "known_hosts", ["bastion"], targets=True)
    shutil.copy(net.client_key, ssh / "id_ed25519")  # the bastion's login: the default key
    names = [f"b{n:02d}" for n in range(args.hosts)]
    hosts, generated = {}, {}
    for n, name in enumerate(names):
        cache = os.path.join(work, "caches", name)
        generated[name] = synth.generate(cache, args.scale, args.seed + n)
        hosts[name] = (TARGETS[n], cache)
    os.sync()  # dirty pages flushed now, not in a timed run
    key = str(net.client_key)
    jumped = write_inventory(os.path.join(work, "jumped.yml"), key, hosts, f"root@{BASTION}")
    direct = write_inventory(os.path.join(work, "direct.yml"), key, hosts, None)
    env = clean_env(("PIP_", "XDG_", "CACHEKIT_", "ANSIBLE_", "SSH_AUTH_SOCK"), HOME=home,
                    PYTHONPATH=REPO)

    def report(netns: str, inventory: str) -> list[str]:
        return ["ip", "netns", "exec", net.netns(netns), sys.executable, "-m", "cachekit",
                "report", "--hosts", GROUP, "--inventory", inventory]

    cmds = {"through the bastion": (report("ctl", jumped), env),
            "direct": (report("bastion", direct), env)}
    result: dict[str, Any] = {"hosts": args.hosts, "scale": args.scale, "runs": args.runs,
                              "generated_files": [g["files"] for g in generated.values()],
                              "machine": {"cpus": os.cpu_count(), **code_identity()}}
    bad = []
    for name, (argv, run_env) in cmds.items():
        before = net.logins("bastion")
        doc = json.loads(run(argv + ["--format", "json"], run_env))
        bad += [f"{name}: {b}" for b in check(doc, generated)]
        result[f"bastion logins ({name})"] = net.logins("bastion") - before
    if result["bastion logins (through the bastion)"] != 1:
        bad.append(f"{result['bastion logins (through the bastion)']} bastion logins in one run")
    result["correctness"] = bad
    times = time_rounds(cmds, args.runs)
    result["timings"] = {name: {"median_s": statistics.median(t), "min_s": min(t),
                                "max_s": max(t), "runs_s": [round(x, 4) for x in t]}
                         for name, t in times.items()}
    ratio = result["timings"]["through the bastion"]["median_s"] / \
        result["timings"]["direct"]["median_s"]
    result["ratio"] = {"value": ratio, "target": f"<= {TARGET_RATIO}",
                       "pass": ratio <= TARGET_RATIO}
    return result


def render(result: dict[str, Any]) -> str:
    files = result["generated_files"]
    lines = [f"hosts: {result['hosts']} targets in a network namespace behind one bastion, "
             f"each with a synthetic pip cache (scale {result['scale']}: "
             f"{min(files)}-{max(files)} files)",
             f"machine: {result['machine']['cpus']} CPUs; cachekit git "
             f"{result['machine']['git']}, sources {result['machine']['sources_sha256']}",
             f"runs: {result['runs']} per command after 1 warm-up each, interleaved", "",
             "correctness: every host ok, figures = generator's, one bastion login per run"
             if not result["correctness"] else "correctness: FAILED", *result["correctness"],
             "", f"{'command':<22} {'median s':>9} {'min s':>8} {'max s':>8}"]
    for name, t in result["timings"].items():
        lines.append(f"{name:<22} {t['median_s']:>9.3f} {t['min_s']:>8.3f} {t['max_s']:>8.3f}")
    r = result["ratio"]
    lines += ["", f"bastion/direct {r['value']:>6.2f}   target {r['target']}   "
                  f"{'PASS' if r['pass'] else 'FAIL'}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", type=int, default=16, help="hosts behind the bastion (1-16)")
    synthetic_cache_options(ap, 0.04, "size of each host's synthetic cache (0.04: about 4,000 "
                            "files)", "seed of the first host's cache")
    timing_options(ap)
    args = ap.parse_args(argv)
    if not 1 <= args.hosts <= 16 or args.runs < 1 or not 0 < args.scale <= 1:
        ap.error("--hosts must be 1-16, --runs at least 1, --scale in (0, 1]")
    if os.geteuid() != 0:
        print("bench_bastion: error: network namespaces need root", file=sys.stderr)
        return 2
    sys.path.insert(0, REPO)
    from tests.fixtures.netns_lab import netns_lab

    work = tempfile.mkdtemp(prefix="cachekit-bastion-bench-")
    try:
        with netns_lab(Path(work, "lab")) as net:
            result = bench(args, work, net)
    except (BenchError, RuntimeError, OSError, ValueError, KeyError) as exc:
        print(f"bench_bastion: error: {exc}", file=sys.stderr)
        return 2
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ok = not result["correctness"] and result["ratio"]["pass"]
    result["pass"] = ok
    print(json.dumps(result, indent=2) if args.json else render(result))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
