"""Example kind packs: the job systems of seeds 001-004 running on WellQueue, one pack per document.

Load one with `WELLQUEUE_KIND_MODULES='["examples.pam"]'` (run from the repository root with
`PYTHONPATH=$PWD`); each pack's queues carry its name as a prefix (`pam.webhooks`), so packs load together
and never replace WellFlow's own queues.
"""
