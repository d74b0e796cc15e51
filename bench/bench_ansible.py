"""Time ``ansible -m cachekit.caches.info`` on loopback SSH hosts against Ansible's own
``du -sb`` and against ``cachekit report`` on the same hosts.

Why: the module carries cachekit's core inside Ansible's payload; its own work must not
add more than the engine costs. The target (issue 17) is:

* 16 hosts, ``-f 16``, pipelining on: ``ansible -m cachekit.caches.info`` takes at most
  1.2x the wall time of ``ansible -m shell -a 'du -sb DIR'``;

and the ratio to ``cachekit report`` on the same hosts is stated (no target: Ansible's
engine, not the module, sets it). Every host is a real ``sshd`` (tests/fixtures/sshd_lab.py)
on 127.0.0.121 and up, port 2223 (clear of bench_fleet.py's), each with its own synthetic
pip cache; sessions get an empty HOME (bench_fleet.py says why). The collection is built
from this checkout (scripts/build_collection.py). Before timing, the module's per-host file
and byte counts are checked against cachekit report's and the generator's. One discarded
warm-up per command, then ``--runs`` interleaved rounds; the median counts. Exit status:
0 the target met, 1 missed or the counts disagree, 2 the benchmark could not run.

Usage: ``python bench/bench_ansible.py [--hosts 16] [--scale 0.04] [--runs 5] [--json]``
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import make_synthetic_pip_cache as synth
from bench_fleet import (
    BenchError,
    clean_env,
    machine,
    quiet_login_sshd,
    remote_python,
    run_all,
    ssh_options,
    time_all,
    write_inventory,
)
from benchkit import synthetic_cache_options, timing_options

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
FIXTURES = os.path.join(REPO, "tests", "fixtures")
FIRST_ADDRESS = 121  # 127.0.0.121 and up: clear of the tests and of bench_fleet's 101+
PORT = 2223
GROUP = "bench"
INFO_VS_DU_MAX = 1.2  # 16 hosts: module median / du -sb median, at most


def commands(work: str, home: str, lab: Any, inventory: str, known_hosts: str,
             collections: str) -> dict[str, Any]:
    """The timed commands, as a user would run them."""
    ansible = shutil.which("ansible", path=os.path.dirname(sys.executable))
    if ansible is None:
        raise BenchError("ansible is not installed (pip install ansible-core)")
    env = clean_env(home)
    ansible_env = clean_env(
        home, ANSIBLE_CONFIG=os.path.join(work, "ansible.cfg"), ANSIBLE_PIPELINING="True",
        ANSIBLE_HOST_KEY_CHECKING="True", ANSIBLE_NOCOLOR="1",
        ANSIBLE_COLLECTIONS_PATH=collections,
        ANSIBLE_LOCAL_TEMP=os.path.join(work, "ansible-local"),
        ANSIBLE_REMOTE_TEMP=os.path.join(work, "ansible-remote"),
        ANSIBLE_SSH_ARGS=shlex.join(["-C", "-o", "ControlMaster=no",
                                     *ssh_options(str(lab.client_key), known_hosts)]))
    quoted_dir = "{{ cachekit_env.PIP_CACHE_DIR | quote }}"
    return {
        "ansible cachekit.caches.info": ([[ansible, GROUP, "-i", inventory, "-m",
                                           "cachekit.caches.info", "-a",
                                           "environ={{ cachekit_env }}", "-f", "16"]],
                                         ansible_env),
        "ansible du -sb": ([[ansible, GROUP, "-i", inventory, "-m", "shell",
                             "-a", f"du -sb {quoted_dir}", "-f", "16"]], ansible_env),
        "cachekit report": ([[sys.executable, "-m", "cachekit", "report", "--hosts", GROUP,
                              "--inventory", inventory]], env),
    }


def check_counts(cmds: dict[str, Any], work: str, names: list[str],
                 generated: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The module's files and bytes per host against cachekit report's and the generator's."""
    tree = os.path.join(work, "tree")
    argvs, env = cmds["ansible cachekit.caches.info"]
    run_all(([argvs[0] + ["--tree", tree]], env), work)
    argvs, env = cmds["cachekit report"]
    doc = json.loads(run_all(([argvs[0] + ["--format", "json"]], env), work, capture=True)[0])
    ours = {h["host"]: h for h in doc["hosts"]}
    rows = {}
    for n in names:
        with open(os.path.join(tree, n), encoding="utf-8") as fh:
            module = json.load(fh)
        cache = (module.get("caches") or [{}])[0]
        theirs = ((ours.get(n) or {}).get("caches") or [{}])[0]
        row = {"generated": [generated[n]["files"], generated[n]["bytes"]],
               "module": [cache.get("files"), cache.get("bytes")],
               "cachekit": [theirs.get("files"), theirs.get("bytes")]}
        row["ok"] = module.get("changed") is False and row["module"] == row["cachekit"] == \
            row["generated"]
        rows[n] = row
    return {"ok": all(r["ok"] for r in rows.values()), "hosts": rows}


def render(result: dict[str, Any]) -> str:
    m = result["machine"]
    lines = [f"hosts: {result['hosts']} sshd servers on 127.0.0.{FIRST_ADDRESS}+:{PORT}, "
             f"synthetic pip caches (scale {result['scale']}); session HOME empty",
             f"machine: {m['cpus']} CPUs, Python {m['python']}, ansible-core {m['ansible']}, "
             f"{m['openssh']}",
             f"cachekit: {m['cachekit']} (git {m['git']}, sources {m['sources_sha256']})",
             f"runs: {result['runs']} per command after 1 warm-up each, interleaved; 1-min load "
             f"average {m['load_1min'][0]} before, {m['load_1min'][1]} after", ""]
    bad = [n for n, r in result["correctness"]["hosts"].items() if not r["ok"]]
    lines.append("correctness: module files/bytes = cachekit report = generator on every host"
                 if not bad else f"correctness: MISMATCH on {', '.join(bad)}")
    lines += [f"  {n}: {result['correctness']['hosts'][n]}" for n in bad]
    lines += ["", f"{'command':<30} {'median s':>9} {'min s':>8} {'max s':>8}"]
    for name, t in result["timings"].items():
        lines.append(f"{name:<30} {t['median_s']:>9.3f} {t['min_s']:>8.3f} {t['max_s']:>8.3f}")
    lines.append("")
    for name, r in result["ratios"].items():
        verdict = "" if r["target"] is None else ("PASS" if r["pass"] else "FAIL")
        target = "(stated)" if r["target"] is None else f"target {r['target']}"
        lines.append(f"{name:<30} {r['value']:>6.2f}   {target:<12} {verdict}")
    return "\n".join(lines)


def bench(args: argparse.Namespace, work: str, lab: Any) -> dict[str, Any]:
    names = [f"a{i + 1:02d}" for i in range(args.hosts)]
    addresses = [f"127.0.0.{FIRST_ADDRESS + i}" for i in range(args.hosts)]
    python = remote_python()
    print(f"starting {args.hosts} sshd servers, building the collection ...", file=sys.stderr)
    caches, generated = {}, {}
    for i, (name, address) in enumerate(zip(names, addresses)):
        lab.start(name, address, PORT)
        caches[name] = os.path.join(work, "caches", name)
        generated[name] = synth.generate(caches[name], args.scale, args.seed + i)
    os.sync()
    collections = os.path.join(work, "collections")
    subprocess.run([sys.executable, os.path.join(REPO, "scripts", "build_collection.py"),
                    "--tree-only", "--tree",
                    os.path.join(collections, "ansible_collections", "cachekit", "caches")],
                   check=True, stdout=subprocess.DEVNULL)
    home = os.path.join(work, "home")
    os.makedirs(home)
    known_hosts = str(lab.write_known_hosts(Path(home), names))
    with open(os.path.join(work, "ansible.cfg"), "w", encoding="utf-8") as fh:
        fh.write("# empty: Ansible's defaults, plus the ANSIBLE_* variables the benchmark sets\n")
    inventory = os.path.join(work, "inventory.yml")
    write_inventory(inventory, lab, names, caches, python, PORT)
    cmds = commands(work, home, lab, inventory, known_hosts, collections)
    result: dict[str, Any] = {"hosts": args.hosts, "scale": args.scale, "runs": args.runs,
                              "machine": machine()}
    result["correctness"] = check_counts(cmds, work, names, generated)
    print(f"timing: 1 warm-up + {args.runs} runs of each command ...", file=sys.stderr)
    load_before = os.getloadavg()[0]
    result["timings"] = time_all(cmds, args.runs, work)
    result["machine"]["load_1min"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    med = {k: float(v["median_s"]) for k, v in result["timings"].items()}
    info_du = med["ansible cachekit.caches.info"] / med["ansible du -sb"]
    result["ratios"] = {
        "module/du -sb": {"value": info_du, "target": f"<= {INFO_VS_DU_MAX}",
                          "pass": info_du <= INFO_VS_DU_MAX},
        "module/cachekit report": {"value": med["ansible cachekit.caches.info"]
                                   / med["cachekit report"], "target": None, "pass": True},
    }
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", type=int, default=16, help="loopback hosts (default 16)")
    synthetic_cache_options(ap, 0.04, "size of each host's synthetic cache (0.04: about 4,000 "
                            "files)", "seed of the first host's cache")
    timing_options(ap)
    args = ap.parse_args(argv)
    if args.runs < 1 or not 1 <= args.hosts <= 120:
        ap.error("--runs must be at least 1 and --hosts between 1 and 120")
    sys.path.insert(0, FIXTURES)
    import sshd_lab

    work = tempfile.mkdtemp(prefix="cachekit-ansible-bench-")
    lab = None
    try:
        sshd_lab.SSHD = quiet_login_sshd(work, sshd_lab.SSHD)
        lab = sshd_lab.SshLab(Path(work, "lab"))
        result = bench(args, work, lab)
    except (BenchError, RuntimeError, OSError, subprocess.SubprocessError, ValueError,
            KeyError) as exc:
        print(f"bench_ansible: error: {exc}", file=sys.stderr)
        return 2
    finally:
        if lab is not None:
            lab.stop_all()
        shutil.rmtree(work, ignore_errors=True)
    ok = result["correctness"]["ok"] and all(r["pass"] for r in result["ratios"].values())
    result["pass"] = ok
    print(json.dumps(result, indent=2) if args.json else render(result))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
