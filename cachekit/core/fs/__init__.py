"""The core's file-system jobs, one module each: ``walk`` (scan a tree, with ``forked``
workers), ``subtree`` (one directory's totals, for package-shaped caches), ``mounts``
(mount table, free space), ``remove`` (safe removal inside a root), ``lock`` (another
process's lock on a cache) and ``move`` (relocate's atomic write and checked move).
Import the one you need: this package imports nothing, so a host loads only what its op
uses."""
