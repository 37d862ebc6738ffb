"""The example packs' fixtures live in `pack_harness` (a unique module name; see its docstring)."""

from pack_harness import fake_provider, pack_settings  # noqa: F401  (registers the fixtures)
