"""Which walker walks the rest of a big walk: this interpreter, or GNU find.

Standard library only, Python 3.8+: this module is shipped to remote hosts.

Why a rule and not one winner: a walk's CPU is the kernel's (listing, ``lstat``) plus
the walker's own per entry. ``find`` spends less of its own than an interpreter, but more
of the kernel's (fts keeps more descriptors), and its records must still be folded here;
so it pays only where the interpreter is slow per entry. ``walk.fan_out`` measures that
on the first subtrees it walks (see ``find_pays``).
"""

import os

# "python", "find" (GNU find where the host has it, see ``gnu_find``) or "auto" (the
# sample decides)
WALKER_ENV = "CACHEKIT_WALKER"
# The sample that decides between the walkers: ``os.times`` counts in 10 ms ticks, so it
# runs to 50 ms of CPU, when the rest looks like twice that (sampling serially for 40 ms
# more costs at most 20 ms of the wall clock on two cores; early estimates run low).
DECIDE_S = 0.05
WORTH_DECIDING_S = 0.1
# Run the rest with GNU find when the sample spent more than this much user CPU per
# second of system CPU. Measured on a 2-core VM, a 100,000-entry pip cache: the Python
# walker costs U = 0.30 s user + S = 0.87 s sys; two finds over halves of it cost 0.23 s
# user + 1.00 s sys, the parent folding their records 0.13 s user + 0.07 s sys. The
# kernel's share and find's C code scale with S (the host's native speed), the folding's
# user CPU with U (the interpreter's): find costs (0.23 + 1.00 + 0.07) / 0.87 S = 1.49 S
# plus 0.13 / 0.30 U = 0.43 U, against U + S for Python. find wins when 0.49 S < 0.57 U,
# that is U / S > 0.87; rounded up to 1.0 so that only a clear win leaves the walker that
# reports errors itself (a slow interpreter measured U / S = 1.14 on the same cache).
# Near the threshold both cost about the same, so a noisy sample costs little.
FIND_ABOVE_USER_PER_SYS = 1.0


def walker_choice() -> str:
    """``CACHEKIT_WALKER``: "python", "find" or (the default, and for anything else) "auto"."""
    mode = os.environ.get(WALKER_ENV, "auto").strip().lower()
    return mode if mode in ("python", "find") else "auto"


def find_pays(user_s: float, sys_s: float) -> bool:
    """Would GNU find walk the rest for less CPU than the Python walker, given a sample of
    the Python walker's user and system CPU? (see ``FIND_ABOVE_USER_PER_SYS``)"""
    return user_s > 0 and user_s > FIND_ABOVE_USER_PER_SYS * sys_s
