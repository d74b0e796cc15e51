"""The prune-caches action: cachekit's core, run by the runner's own python3.

Nothing is installed: the core and the policy parser use only the standard library. The
inputs arrive as CACHEKIT_* variables (never pasted into the shell); the outputs go to
$GITHUB_OUTPUT and a before/after table to $GITHUB_STEP_SUMMARY.
"""

import os
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
sys.path.insert(0, REPO)

from cachekit import policy_input  # noqa: E402
from cachekit.core import agent  # noqa: E402
from cachekit.errors import CachekitError  # noqa: E402


def _flag(name: str) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if value in ("", "false", "0", "no"):
        return False
    if value in ("true", "1", "yes"):
        return True
    raise CachekitError(f"input {name[9:].lower().replace('_', '-')} must be true or false, "
                        f"not {value!r}")


def _sizes(managers):
    result = agent.run({"op": "info", "managers": managers})
    sizes = {}
    for cache in result["caches"]:
        if cache.get("exists"):
            sizes[cache["manager"]] = sizes.get(cache["manager"], 0) + (cache.get("bytes") or 0)
    return sizes


def _human(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n} B" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000.0
    return f"{n} B"


def main() -> int:
    env = os.environ
    managers = [m.strip() for m in env.get("CACHEKIT_MANAGERS", "").split(",") if m.strip()]
    keep = [k.strip() for k in env.get("CACHEKIT_KEEP", "").replace("\n", ",").split(",")
            if k.strip()]
    policy = policy_input.policy(env.get("CACHEKIT_OLDER_THAN") or None,
                          env.get("CACHEKIT_MAX_SIZE") or None, keep,
                          env.get("CACHEKIT_MIN_FREE") or None, _flag("CACHEKIT_CI"))
    if not any(policy.get(k) for k in ("older_than_s", "min_free", "ci")) and \
            policy.get("max_size_bytes") is None:
        raise CachekitError("no policy: give older-than, max-size, min-free or ci")
    dry_run = _flag("CACHEKIT_DRY_RUN")
    before = _sizes(managers or None)
    done = agent.run({"op": "prune", "managers": managers or None, "policy": policy,
                      "apply": not dry_run})
    if done["status"] != "ok":
        raise CachekitError(f"prune {done['status']}: {done['error']}")
    after = before if dry_run else _sizes(managers or None)
    if dry_run:
        reclaimed = sum(c.get("reclaimable_bytes") or 0 for c in done["caches"])
    else:
        reclaimed = done["reclaimed_bytes"]
    total_before, total_after = sum(before.values()), sum(after.values())
    if env.get("GITHUB_OUTPUT"):  # unset when the runner hook runs this between jobs
        with open(env["GITHUB_OUTPUT"], "a", encoding="utf-8") as out:
            out.write(f"reclaimed-bytes={reclaimed}\nbefore-bytes={total_before}\n"
                      f"after-bytes={total_after}\n")
    rows = ["| cache | before | after |", "|---|---:|---:|"]
    rows += [f"| {m} | {_human(before[m])} | {_human(after.get(m, 0))} |" for m in sorted(before)]
    rows.append(f"| **total** | **{_human(total_before)}** | **{_human(total_after)}** |")
    verb = "would free" if dry_run else "freed"
    summary = [f"### Caches pruned by cachekit{' (dry run)' if dry_run else ''}", "",
               *rows, "", f"{len(done['removed'])} paths, {verb} {_human(reclaimed)}."]
    notes = [f"- {w}" for c in done["caches"] for w in c.get("warnings") or []]
    notes += [f"- {c['manager']}: {c['error']}" for c in done["caches"] if c.get("error")]
    if env.get("GITHUB_STEP_SUMMARY"):
        with open(env["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as out:
            out.write("\n".join(summary + ([""] + notes if notes else [])) + "\n")
    print(f"cachekit: {verb} {_human(reclaimed)} ({_human(total_before)} -> "
          f"{_human(total_after)})")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except CachekitError as exc:
        print(f"::error title=prune-caches::{exc}", file=sys.stderr)
        sys.exit(1)
