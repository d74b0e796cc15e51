"""One package per package manager, each behind ``base.Manager``; see ``core/registry``."""
