"""The core's file-system jobs, one module each: ``walk`` (scan a tree, with ``forked``
workers), ``mounts`` (mount table, free space), ``remove`` (safe removal inside a root)
and ``lock`` (another process's lock on a cache). Import the one you need: this package
imports nothing, so a host loads only what its op uses."""
