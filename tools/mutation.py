#!/usr/bin/env python3
"""Mutation testing of xent with mutmut (pinned in requirements-dev.txt), one module at a time.

    pip install -r requirements-dev.txt
    nice python tools/mutation.py loss            # mutate code/xent/loss.py, run the xent unit tests
    nice python tools/mutation.py softmax information _checks
    python tools/mutation.py loss --show          # the diff of every surviving mutant

mutmut 3 mutates only packages under ./, src/ or source/ and imports them from its own copy, so the
script lays out a scratch project (default /tmp/xent-mutmut/<module>): src/xent = a copy of
code/xent, tests/ = a copy of tests/test_xent_*.py, and a setup.cfg that restricts mutation to the
one module (only_mutate) and the test run to that module's own test file (TESTS below) with -x;
without --full it leaves out the 50-digit accuracy tests (-k "not 50_digits"), which cost seconds
per mutant; the small exact-value tests of the lost tail, float16 rounding and the true-class
gradient stay in. It then runs
`mutmut run`, prints killed / survived / no-tests counts and the score, and lists the survivors.
The score counts timeouts and segfaults as killed; "no tests" mutants count against it.
Equivalent mutants (survivors that cannot be killed) are listed in CONTRIBUTING.md with the reason.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
MODULES = ("_checks", "softmax", "information", "loss")
# the unit tests run against each module's mutants: its own file (the others import it too, but
# running every file for every mutant of a module that everything calls costs hours)
TESTS = {"_checks": ("information", "softmax", "loss"), "softmax": ("softmax",), "information": ("information",),
         "loss": ("loss",)}


def layout(work: pathlib.Path, module: str, full: bool) -> None:
    if work.exists():
        shutil.rmtree(work)
    (work / "src").mkdir(parents=True)
    shutil.copytree(ROOT / "code" / "xent", work / "src" / "xent", ignore=shutil.ignore_patterns("__pycache__"))
    (work / "tests").mkdir()
    for test in sorted((ROOT / "tests").glob("test_xent_*.py")):
        shutil.copy(test, work / "tests" / test.name)
    mine = [f"tests/test_xent_{m}.py" for m in TESTS[module]]
    (work / "setup.cfg").write_text(
        "[mutmut]\n"
        "source_paths=src/xent\n"
        f"only_mutate=src/xent/{module}.py\n"
        "timeout_multiplier=5\ntimeout_constant=10\n"  # a hung mutant waits 5× the clean run + 10 s
        "pytest_add_cli_args=\n  -p\n  no:cacheprovider\n  -x\n  -q\n"
        + ("" if full else "  -k\n  not 50_digits\n")
        + "pytest_add_cli_args_test_selection=\n" + "".join(f"  {t}\n" for t in mine)
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="+", choices=MODULES)
    parser.add_argument("--work", type=pathlib.Path, default=pathlib.Path("/tmp/xent-mutmut"))
    parser.add_argument("--max-children", type=int, default=1)
    parser.add_argument("--show", action="store_true", help="only print the survivors' diffs of an earlier run")
    parser.add_argument("--full", action="store_true",
                        help="also run the 50-digit mpmath accuracy tests for every mutant (hours, not minutes)")
    args = parser.parse_args()
    # one thread: mutmut forks a process per mutant, and a child forked from a parent whose torch / OpenMP
    # thread pool is running can hang until the timeout
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    totals = {"killed": 0, "survived": 0, "no_tests": 0, "timeout": 0, "suspicious": 0, "total": 0}
    for module in args.modules:
        work = args.work / module
        if not args.show:
            layout(work, module, args.full)
            subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children", str(args.max_children)],
                           cwd=work, env=env, check=False)
            subprocess.run([sys.executable, "-m", "mutmut", "export-cicd-stats"], cwd=work, env=env, check=False)
        stats = json.loads((work / "mutants" / "mutmut-cicd-stats.json").read_text())
        survivors = subprocess.run([sys.executable, "-m", "mutmut", "results"], cwd=work, env=env,
                                   capture_output=True, text=True).stdout.split()
        survivors = [s.rstrip(":") for s in survivors if s.startswith("xent.")]
        killed = stats["killed"] + stats.get("timeout", 0) + stats.get("segfault", 0)
        print(f"{module}: {stats['total']} mutants, {killed} killed, {stats['survived']} survived, "
              f"{stats['no_tests']} with no tests")
        for name in survivors:
            print("  survived:", name)
            if args.show:
                print(subprocess.run([sys.executable, "-m", "mutmut", "show", name], cwd=work, env=env,
                                     capture_output=True, text=True).stdout)
        for key in totals:
            totals[key] += stats.get(key, 0)
    killed = totals["killed"] + totals["timeout"]
    scored = killed + totals["survived"] + totals["no_tests"]
    if scored:
        print(f"score: {killed}/{scored} = {killed / scored:.1%} killed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
