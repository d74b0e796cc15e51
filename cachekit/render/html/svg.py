"""The pages' charts as plain SVG, written from the figures.

Plain SVG rather than a charting library: the charts are stacked bars and step lines,
a few dozen lines of arithmetic; a library would add a dependency, and most of them
draw in the browser with JavaScript or emit far larger markup (500 hosts must stay under
a megabyte). Everything written here is numbers and class names: host names, paths and
errors never reach this module, so nothing here needs escaping. Colours come from CSS
classes (``c0`` ... ``c11``), so the light and dark schemes and print pick their own.
"""

from typing import List, Optional, Sequence, Tuple

from markupsafe import Markup

PALETTE = 12  # colour slots the stylesheet defines (c0 ... c11)
BAR_W, BAR_H = 1000, 10
CHART_W, CHART_H = 300, 40


def _n(x: float) -> str:
    """A coordinate, short: 12.3 -> '12.3', 12.0 -> '12'."""
    text = f"{x:.1f}"
    return text[:-2] if text.endswith(".0") else text


def stacked_bar(segments: Sequence[Tuple[int, int, int]], scale: int) -> Markup:
    """One bar of ``(colour slot, bytes, reclaimable bytes)`` segments, left to right, on
    a common ``scale``; each segment's reclaimable part is hatched at its end."""
    parts = [f'<svg class="bar" viewBox="0 0 {BAR_W} {BAR_H}" preserveAspectRatio="none" '
             'aria-hidden="true">']
    x = 0.0
    for slot, size, reclaimable in segments:
        if size <= 0:
            continue
        w = size * BAR_W / scale
        parts.append(f'<rect class="c{slot}" x="{_n(x)}" width="{_n(max(w, 0.5))}" '
                     f'height="{BAR_H}"/>')
        if reclaimable > 0:
            rw = min(reclaimable, size) * BAR_W / scale
            parts.append(f'<rect class="r" x="{_n(x + w - rw)}" width="{_n(max(rw, 0.5))}" '
                         f'height="{BAR_H}"/>')
        x += w
    parts.append("</svg>")
    return Markup("".join(parts))


def disk_bar(caches: int, free: Optional[int], total: Optional[int]) -> Markup:
    """The disk the caches are on: caches, the rest used, and free space, to its size."""
    if not total or free is None:
        return Markup("")
    caches = min(caches, total - free) if total - free >= 0 else 0
    used = max(total - free - caches, 0)
    c, u = caches * 100.0 / total, used * 100.0 / total
    return Markup(f'<svg class="disk" viewBox="0 0 100 {BAR_H}" preserveAspectRatio="none" '
                  f'aria-hidden="true"><rect class="dc" width="{_n(c)}" height="{BAR_H}"/>'
                  f'<rect class="du" x="{_n(c)}" width="{_n(u)}" height="{BAR_H}"/>'
                  f'<rect class="df" x="{_n(c + u)}" width="{_n(100 - c - u)}" '
                  f'height="{BAR_H}"/></svg>')


Run = Tuple[float, int, Optional[int]]  # (time, size before, size after or None)


def history_chart(runs: Sequence[Run], start: float, end: float, top: int,
                  threshold: Optional[int] = None,
                  projection: Optional[Tuple[float, int]] = None) -> Markup:
    """A host's size over time on the fleet's common time axis: a step line that rises
    to each run's size and drops to its size after the prune (a prune is the drop); a
    dashed line for the threshold, a dotted one for the projection to it."""
    span = max(end - start, 1.0)
    top = max(top, 1)

    def x(t: float) -> int:
        return round((t - start) * CHART_W / span)

    def y(v: float) -> int:
        return round(CHART_H - min(v, top) * (CHART_H - 2) / top)

    path: List[str] = []
    drops: List[str] = []
    px = py = None
    ahead = 0  # a horizontal stretch not written yet: flat nights merge into one
    for t, before, after in runs:
        nx, ny = x(t), y(before)
        if px is None or py is None:
            path.append(f"M{nx} {ny}")
        elif ny != py:
            path.append(f"h{ahead + nx - px}v{ny - py}")
            ahead = 0
        else:
            ahead += nx - px
        px, py = nx, ny
        if after is not None and after < before and y(after) != py:
            ay = y(after)
            path.append(f"{f'h{ahead}' if ahead else ''}v{ay - py}")
            drops.append(f"M{nx} {py}V{ay}")
            ahead, py = 0, ay
    if ahead:
        path.append(f"h{ahead}")
    parts = [f'<svg class="hist" viewBox="0 0 {CHART_W} {CHART_H}" preserveAspectRatio="none" '
             f'aria-hidden="true">']
    if threshold is not None and threshold <= top:
        ty = y(threshold)
        parts.append(f'<path class="th" d="M0 {ty}H{CHART_W}"/>')
    if path:
        parts.append(f'<path class="size" d="{"".join(path)}"/>')
    if drops:
        parts.append(f'<path class="prune" d="{"".join(drops)}"/>')
    if projection is not None and px is not None and py is not None:
        when, value = projection
        parts.append(f'<path class="proj" d="M{px} {py}L{min(x(when), CHART_W)} {y(value)}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))
