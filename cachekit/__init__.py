"""cachekit: find, measure and prune pip, conda and uv caches, here or across a fleet."""

__version__ = "0.1.0"
