"""Run the suite in parallel by default: `python -m pytest` is `-n auto --dist loadfile`.

`--dist loadfile` keeps each notebook in one kernel (plain `-n` would split its cells across
workers and break it), so any `-n N` given without `--dist` also gets `loadfile`. Pass `-n 0`,
or `-p no:xdist`, to run in one process.
"""

import os

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config):
    if hasattr(config, "workerinput") or "PYTEST_XDIST_WORKER" in os.environ:
        return  # inside an xdist worker: never start workers of its own
    if not config.pluginmanager.hasplugin("xdist") or config.option.collectonly:
        return
    if config.option.numprocesses is None:
        config.option.numprocesses = "auto"
    if config.option.dist == "no" and config.option.numprocesses not in (0, "0"):
        config.option.dist = "loadfile"
