"""Generate a large synthetic pip cache in pip's real on-disk layout, deterministically.

Why: ``cachekit info`` has to be fast on big caches, and a benchmark needs the same big
cache every time. Real pip caches that large cannot be made offline in reasonable time,
so this writes one that has pip's exact paths and hashing (see the pip cache notes,
section 1.2) and the file counts and sizes of the reference 100k-file cache (section 3):

* 44,000 ``http-v2/a/b/c/d/e/<sha224>`` metadata files (``b"cc=4,"`` + msgpack, as
  cachecontrol writes them) plus their ``<sha224>.body`` files;
* 2,000 legacy ``http/a/b/c/d/e/<sha224>`` files (pip < 23.3, body inline);
* 5,000 built wheels ``wheels/aa/bb/cc/<50 hex>/<name>-<ver>-py3-none-any.whl``, each
  with the ``origin.json`` pip writes next to it;
* one ``selfcheck/<sha224>`` file.

At ``--scale 1.0`` that is 100,001 files whose apparent bytes add up exactly to the
reference's 1,044,824,316 (``pip cache info``: 794.1 MB / 90000 HTTP files, 250.7 MB /
5000 wheels). Every byte is really written (filler from one seeded buffer), so ``du`` and
pip see a realistic, fully allocated tree. A smaller ``--scale`` keeps a prefix of the
same entries, so a quick cache is a subset of the full one.

Usage: ``python bench/make_synthetic_pip_cache.py DIR [--scale 1.0] [--seed 0] [--sparse]``
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import struct
import sys
import time
from typing import Any, NamedTuple

# The reference cache (pip cache notes, section 3).
HTTP_V2_ENTRIES = 44_000
HTTP_LEGACY_FILES = 2_000
WHEELS = 5_000
TOTAL_BYTES = 1_044_824_316  # apparent bytes of all files
HTTP_BYTES = 794_100_000  # http/ + http-v2/ files: pip prints "794.1 MB"
# wheels/ (.whl + origin.json) get TOTAL_BYTES - HTTP_BYTES - the selfcheck file: 250.7 MB.

PAGE_SHARE = 4  # one http-v2 entry in PAGE_SHARE is an index page, the rest are files
FILLER_BYTES = 1 << 20  # bodies are slices of one seeded buffer (os.urandom is too slow)
MAX_BODY = 160_000
MIN_BODY = 1_200


class Entry(NamedTuple):
    """One file to write: its path relative to the cache root, a header, and filler."""

    path: str
    head: bytes  # written first
    filler: int  # then this many filler bytes


def _sha224(text: str) -> str:
    """pip's cache keys are sha224 hex digests (HTTP: of the URL; wheels: of a JSON key)."""
    return hashlib.sha224(text.encode()).hexdigest()


def _msgpack(obj: Any) -> bytes:
    """Just enough msgpack for cachecontrol's metadata (no dependency on msgpack)."""
    if obj is None:
        return b"\xc0"
    if isinstance(obj, bool):
        return b"\xc3" if obj else b"\xc2"
    if isinstance(obj, int):
        if 0 <= obj < 0x80:
            return bytes([obj])
        if 0 <= obj <= 0xFFFF:
            return b"\xcd" + struct.pack(">H", obj)
        return b"\xce" + struct.pack(">I", obj)
    if isinstance(obj, str):
        raw = obj.encode()
        if len(raw) < 32:
            return bytes([0xA0 | len(raw)]) + raw
        if len(raw) < 256:
            return b"\xd9" + bytes([len(raw)]) + raw
        return b"\xda" + struct.pack(">H", len(raw)) + raw
    if isinstance(obj, bytes):
        return b"\xc6" + struct.pack(">I", len(obj)) + obj
    if isinstance(obj, dict):
        head = bytes([0x80 | len(obj)]) if len(obj) < 16 else b"\xde" + struct.pack(">H", len(obj))
        return head + b"".join(_msgpack(k) + _msgpack(v) for k, v in obj.items())
    raise TypeError(f"cannot encode {type(obj).__name__}")


class Headers(NamedTuple):
    """The per-response header values (all fixed-width, so templates can be filled in)."""

    etag: str  # 34 chars
    date: str  # 29 chars
    modified: str  # 29 chars
    served_by: str  # 22 chars


def _http_date(rng: random.Random) -> str:
    """An RFC 7231 date, always 29 characters, so it fits its template slot."""
    day = rng.randrange(1, 29)
    return f"Mon, {day:02d} Jul 2026 {rng.randrange(24):02d}:{rng.randrange(60):02d}:00 GMT"


def _draw_headers(rng: random.Random) -> Headers:
    """Per-entry header values, so no two metadata files are identical."""
    return Headers(f'"{rng.getrandbits(128):032x}"', _http_date(rng), _http_date(rng),
                   f"cache-fra-etou{rng.randrange(8000, 9000)}-FRA")


# Placeholders of the same width as the values they stand for.
_SLOTS = Headers("\x02" * 34, "\x03" * 29, "\x04" * 29, "\x05" * 22)
_LENGTH_SLOT = "\x01"


def _response(h: Headers, page: bool, length: str, inline: bytes = b"") -> dict:
    """The dict cachecontrol serialises: headers pip's index sends, body empty or inline."""
    if page:
        headers = {
            "Content-Type": "application/vnd.pypi.simple.v1+json",
            "Cache-Control": "max-age=600, public",
        }
    else:
        headers = {
            "Content-Type": "application/octet-stream",
            "Cache-Control": "max-age=365000000, immutable, public",
            "Last-Modified": h.modified,
            "Accept-Ranges": "bytes",
        }
    headers.update({"ETag": h.etag, "Date": h.date, "Content-Length": length,
                    "X-Served-By": h.served_by, "Vary": "Accept-Encoding"})
    # Key order puts the body last, so a legacy file is "metadata, then the raw body".
    return {"vary": {}, "response": {"headers": headers, "status": 200, "version": 11,
                                     "reason": "OK", "decode_content": True, "body": inline}}


class MetaTemplate(NamedTuple):
    """An http-v2 metadata file, split around its Content-Length value.

    Why: encoding msgpack in pure Python for 44,000 entries, several times while the body
    sizes settle, takes seconds; filling fixed-width slots takes milliseconds.
    """

    before: bytes
    after: bytes

    @classmethod
    def make(cls, page: bool) -> MetaTemplate:
        whole = b"cc=4," + _msgpack(_response(_SLOTS, page, _LENGTH_SLOT))
        before, after = whole.split(_msgpack(_LENGTH_SLOT))
        return cls(before, after)

    def size(self, body_len: int) -> int:
        """Length of the filled file, without building it (used while sizes settle)."""
        return len(self.before) + len(self.after) + len(_msgpack(str(body_len)))

    def fill(self, h: Headers, body_len: int) -> bytes:
        """The metadata file of one entry."""
        out = self.before + _msgpack(str(body_len)) + self.after
        for slot, value in zip(_SLOTS, h):
            out = out.replace(slot.encode(), value.encode())
        return out


def _legacy_head(h: Headers, body_len: int) -> bytes:
    """A pre-23.3 entry: the metadata with the body inline; the body is the filler after it."""
    whole = b"cc=4," + _msgpack(_response(h, False, str(body_len), inline=b"\0" * body_len))
    return whole[: len(whole) - body_len]


def _body_size(rng: random.Random, mean: float) -> int:
    """Skewed sizes, a few kB to tens of kB (index pages and small distributions)."""
    raw = rng.lognormvariate(0.0, 0.6) / 1.197  # mean 1.0
    return max(MIN_BODY, min(MAX_BODY, int(raw * mean)))


def _fan(bucket: str, key: str) -> str:
    """pip's HTTP cache path: five one-character levels, then the full key."""
    return "/".join([bucket, *key[:5], key])


def _wheel_dir(key: str) -> str:
    """pip's ``Cache._get_cache_path_parts``: key split 2/2/2/50 under wheels/."""
    return "/".join(["wheels", key[:2], key[2:4], key[4:6], key[6:]])


def _scale_to(sizes: list[int], target: int) -> list[int]:
    """Scale sizes proportionally so they add up to exactly ``target``."""
    factor = target / sum(sizes)
    out = [max(MIN_BODY, int(s * factor)) for s in sizes]
    out[-1] += target - sum(out)
    return out


def plan(seed: int = 0, times: int = 1) -> dict[str, list[Entry]]:
    """Every file of the full-scale cache (``times`` over), by bucket, in a fixed order."""
    rng = random.Random(seed)
    wheel_count, legacy_count, v2_count = WHEELS * times, HTTP_LEGACY_FILES * times, \
        HTTP_V2_ENTRIES * times
    total_bytes, http_bytes = TOTAL_BYTES * times, HTTP_BYTES * times

    selfcheck_prefix = "/srv/synthetic/venv"
    selfcheck = Entry(
        f"selfcheck/{_sha224(selfcheck_prefix)}",
        json.dumps({"key": selfcheck_prefix, "last_check": "2026-07-01T00:00:00Z",
                    "pypi_version": "26.3"}).encode(),
        0,
    )

    # Wheels: real cache keys (sha224 of pip's canonical JSON key), origin.json as pip writes.
    wheel_heads: list[tuple[str, bytes]] = []
    whl_sizes: list[int] = []
    for i in range(wheel_count):
        name, version = f"synth_pkg_{i // 2:04d}", f"{1 + i % 2}.{rng.randrange(20)}.0"
        sha = f"{rng.getrandbits(256):064x}"
        url = f"https://files.pythonhosted.org/packages/{sha[:2]}/{sha[2:4]}/{sha[4:]}/" \
              f"{name}-{version}.tar.gz"
        key = _sha224(json.dumps({"url": url, "sha256": sha, "subdirectory": None,
                                  "interpreter_name": "cp", "interpreter_version": "311"},
                                 sort_keys=True, separators=(",", ":")))
        origin = json.dumps({"archive_info": {"hash": f"sha256={sha}",
                                              "hashes": {"sha256": sha}}, "url": url})
        wheel_heads.append((f"{_wheel_dir(key)}/{name}-{version}-py3-none-any.whl",
                            origin.encode()))
        whl_sizes.append(_body_size(rng, 50_000))
    wheels_target = total_bytes - http_bytes - len(selfcheck.head)
    whl_sizes = _scale_to(whl_sizes, wheels_target - sum(len(o) for _, o in wheel_heads))
    wheels: list[Entry] = []
    for (whl_path, origin), size in zip(wheel_heads, whl_sizes):
        wheels.append(Entry(whl_path, b"PK\x03\x04", size - 4))
        wheels.append(Entry(whl_path.rsplit("/", 1)[0] + "/origin.json", origin, 0))

    # Legacy http/: one file per entry, metadata and body together.
    legacy: list[Entry] = []
    for i in range(legacy_count):
        key = _sha224(f"https://files.pythonhosted.org/packages/legacy/old_pkg_{i}-1.0.tar.gz")
        body = _body_size(rng, 16_000)
        legacy.append(Entry(_fan("http", key), _legacy_head(_draw_headers(rng), body), body))

    # http-v2/: metadata + .body; bodies take the rest of the HTTP bytes.
    urls, pages, body_sizes = [], [], []
    for i in range(v2_count):
        page = i % PAGE_SHARE == 0
        name = f"dep_{i // PAGE_SHARE:05d}"
        if page:
            urls.append(f"https://pypi.org/simple/{name}/")
        else:
            urls.append(f"https://files.pythonhosted.org/packages/{i % 256:02x}/{i % 251:02x}/"
                        f"{rng.getrandbits(240):060x}/{name}-{i % 7}.{i % 13}-py3-none-any.whl")
        pages.append(page)
        body_sizes.append(_body_size(rng, 16_500))
    headers = [_draw_headers(rng) for _ in range(v2_count)]
    templates = {page: MetaTemplate.make(page) for page in (False, True)}
    legacy_bytes = sum(len(e.head) + e.filler for e in legacy)

    # Content-Length in the metadata depends on the body size: settle both together.
    for _ in range(8):
        meta_bytes = sum(templates[p].size(n) for p, n in zip(pages, body_sizes))
        rest = http_bytes - legacy_bytes - meta_bytes
        if sum(body_sizes) == rest:
            break
        body_sizes = _scale_to(body_sizes, rest)
    else:
        raise AssertionError("http-v2 sizes did not settle")
    http_v2: list[Entry] = []
    for url, page, h, size in zip(urls, pages, headers, body_sizes):
        path = _fan("http-v2", _sha224(url))
        http_v2.append(Entry(path, templates[page].fill(h, size), 0))
        http_v2.append(Entry(path + ".body", b"", size))
    return {"http-v2": http_v2, "http": legacy, "wheels": wheels, "selfcheck": [selfcheck]}


def select(full: dict[str, list[Entry]], scale: float) -> list[Entry]:
    """The first ``scale`` share of each bucket (whole entries: pairs stay together)."""
    per_entry = {"http-v2": 2, "wheels": 2, "http": 1, "selfcheck": 1}
    chosen: list[Entry] = []
    for bucket, entries in full.items():
        n = len(entries) // per_entry[bucket]
        keep = n if bucket == "selfcheck" else max(1, round(n * scale))
        chosen += entries[: keep * per_entry[bucket]]
    return chosen


def write(root: str, entries: list[Entry], seed: int = 0, sparse: bool = False) -> int:
    """Write the files (and their directories) under ``root``; return directories made.

    ``sparse`` leaves the filler as a hole (``ftruncate``): every apparent size is the
    same, but a million-file cache takes seconds and little disk (for memory benches).
    """
    filler = memoryview(random.Random(seed ^ 0x5EED).randbytes(FILLER_BYTES))
    made = {""}
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for i, e in enumerate(entries):
        parent = e.path.rsplit("/", 1)[0]
        if parent not in made:
            parts = parent.split("/")
            for depth in range(1, len(parts) + 1):
                d = "/".join(parts[:depth])
                if d not in made:
                    os.mkdir(os.path.join(root, d))  # root started empty: never exists
                    made.add(d)
        fd = os.open(os.path.join(root, e.path), flags, 0o644)
        try:
            if e.head:
                os.write(fd, e.head)
            left, offset = e.filler, (i * 4099) % (FILLER_BYTES // 2)
            if sparse and left:
                os.ftruncate(fd, len(e.head) + left)
                left = 0
            while left:
                n = os.write(fd, filler[offset: offset + min(left, FILLER_BYTES - offset)])
                left -= n
                offset = (offset + n) % FILLER_BYTES
        finally:
            os.close(fd)
    return len(made) - 1


def pip_size(n: int) -> str:
    """pip's ``format_size``, so the summary reads like ``pip cache info``."""
    if n > 1_000_000:
        return f"{n / 1_000_000:.1f} MB"
    if n > 10_000:
        return f"{int(n / 1000)} kB"
    if n > 1000:
        return f"{n / 1000:.1f} kB"
    return f"{n} bytes"


def generate(root: str, scale: float = 1.0, seed: int = 0, sparse: bool = False
             ) -> dict[str, Any]:
    """Create the cache at ``root`` (which must not exist or be empty); return a summary.

    A ``scale`` above 1 repeats the reference's mix with new keys: 10 makes 1,000,001 files.
    """
    if not 0 < scale <= 100:
        raise ValueError("scale must be in (0, 100]: 1 is the reference cache")
    if os.path.isdir(root) and os.listdir(root):
        raise FileExistsError(f"{root} is not empty; refusing to mix a synthetic cache into it")
    started = time.perf_counter()
    os.makedirs(root, exist_ok=True)
    times = max(1, -int(-scale // 1))
    entries = select(plan(seed, times), scale / times)
    dirs = write(root, entries, seed, sparse)
    sizes = {e.path: len(e.head) + e.filler for e in entries}
    http = [p for p in sizes if p.split("/", 1)[0] in ("http", "http-v2")]
    wheel_files = [p for p in sizes if p.startswith("wheels/")]
    return {
        "dir": root, "scale": scale, "seed": seed, "files": len(entries), "dirs": dirs + 1,
        "bytes": sum(sizes.values()), "http_files": len(http),
        "http_bytes": sum(sizes[p] for p in http),
        "wheels": sum(1 for p in wheel_files if p.endswith(".whl")),
        "wheels_bytes": sum(sizes[p] for p in wheel_files),
        "seconds": round(time.perf_counter() - started, 2),
    }


def summary_line(s: dict[str, Any]) -> str:
    """One line that says what was generated, in the units ``pip cache info`` uses."""
    return (f"synthetic pip cache: {s['files']} files in {s['dirs']} dirs, {s['bytes']:,} "
            f"apparent bytes (HTTP {pip_size(s['http_bytes'])} / {s['http_files']} files, "
            f"wheels {pip_size(s['wheels_bytes'])} / {s['wheels']}) at {s['dir']} "
            f"in {s['seconds']:.1f} s (scale {s['scale']}, seed {s['seed']})")


def main(argv: list[str] | None = None) -> int:
    """Command line: generate DIR and print the summary line; exit 1 on an error."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir", help="where to create the cache (must not exist, or be empty)")
    ap.add_argument("--scale", type=float, default=1.0,
                    help="share of the reference entry counts, in (0, 100] "
                         "(1.0 = 100,001 files, ~1.5 GB on disk; 10 = 1,000,001 files)")
    ap.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    ap.add_argument("--sparse", action="store_true",
                    help="leave file contents as holes: the same sizes, little disk")
    args = ap.parse_args(argv)
    try:
        s = generate(args.dir, args.scale, args.seed, args.sparse)
    except (OSError, ValueError) as exc:
        print(f"make_synthetic_pip_cache: error: {exc}", file=sys.stderr)
        return 1
    print(summary_line(s))
    return 0


if __name__ == "__main__":
    sys.exit(main())
