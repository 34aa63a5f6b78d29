"""Mutation testing of the core modules with mutmut 3 (`make mutation`; not part of `make test`).

Why mutmut: it forks each mutant from a process that has already imported torch and collected the tests
(torch alone takes seconds to import, so a tool that starts a fresh interpreter per mutant, like
cosmic-ray, spends most of its time importing), and it runs only the tests that reach the mutated
function. Each group of modules below is mutated in its own copy of the repository under
`build/mutation/<group>/` against its own test files only, with a time budget; the score is
killed / (killed + survived + no tests), timeouts counted as killed. Survivors that are equivalent
(no test can tell them apart from the original) are listed with the reason in
`tools/mutation_equivalent.toml`; any other survivor is printed with its diff.

    python tools/mutation.py                     # every group, report in build/mutation/report.md
    python tools/mutation.py metrics layout      # some groups
    python tools/mutation.py --budget 120        # seconds per group (default 600)
    python tools/mutation.py --report            # no run: the last results against the equivalents list now
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "build" / "mutation"
EQUIVALENT_FILE = REPO / "tools" / "mutation_equivalent.toml"
# what the tests read besides the package and the tests themselves
SUPPORT = ["params.yaml", "dvc.yaml", "configs", "scene_graphs", "stages"]

# group -> (modules mutated, the tests that guard them; in-process tests only: a subprocess would not see
# the mutant)
GROUPS: dict[str, tuple[list[str], list[str]]] = {
    "metrics": (["sg2im/metrics/boxes.py", "sg2im/metrics/diversity.py", "sg2im/metrics/fid.py"],
                ["tests/test_metrics_boxes.py", "tests/test_metrics_diversity.py", "tests/test_metrics_fid.py"]),
    "vg_preprocess": (["sg2im/data/vg_preprocess/*.py"], ["tests/test_preprocess_vg.py"]),
    "layout": (["sg2im/model/layout.py"], ["tests/test_model_layout.py"]),
    "checkpoint_resume": (["sg2im/checkpoint.py", "sg2im/training/identity.py"],
                          ["tests/test_model_checkpoint.py", "tests/test_run_identity.py", "tests/test_strip.py"]),
    "scene_graph": (["sg2im/scene_graph.py"], ["tests/test_scene_graph.py"]),
    "strip": (["sg2im/strip.py"], ["tests/test_strip.py"]),
}
KILLED = {"killed", "timeout", "segfault"}
# Lines not mutated: what they print is for people (log lines, progress bars), not behaviour a test asserts.
# Error messages stay mutated: a message that names the file and the fix is behaviour.
NOT_MUTATED = [r"^\s*log\(", r"^\s*print\(", r"\bprogress\(", r"^\s*bar\.(update|close|set_postfix)",
               r"^\s*(logger|LOG)\.(debug|info|warning)\("]


def _toml_list(items: list[str]) -> str:
    return "[" + ", ".join(json.dumps(i) for i in items) + "]"


def prepare(group: str) -> Path:
    """A fresh copy of the package, the tests and what they read, with a mutmut section for `group`."""
    modules, tests = GROUPS[group]
    work = OUT / group
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ["sg2im", "tests", *SUPPORT]:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, work / name, ignore=ignore)
        elif src.exists():
            shutil.copy2(src, work / name)
    pytest_section = (REPO / "pyproject.toml").read_text().split("[tool.pytest.ini_options]")[1].split("\n[")[0]
    (work / "pyproject.toml").write_text(
        "[tool.pytest.ini_options]" + pytest_section + "\n[tool.mutmut]\n"
        'source_paths = ["sg2im"]\n'
        f"only_mutate = {_toml_list(modules)}\n"
        f"pytest_add_cli_args_test_selection = {_toml_list(tests)}\n"
        'pytest_add_cli_args = ["-q", "-p", "no:cacheprovider"]\n'
        'process_isolation = "forkserver"\n'
        f"do_not_mutate_patterns = {_toml_list(NOT_MUTATED)}\n"
        f"also_copy = {_toml_list(SUPPORT)}\n")
    return work


def _mutmut() -> str:
    return str(Path(sys.executable).with_name("mutmut"))


def results_of(group: str) -> dict[str, str]:
    """mutant name -> verdict of the group's last run (``mutmut results``)."""
    listing = subprocess.run([_mutmut(), "results", "--all", "true"], cwd=OUT / group, capture_output=True,
                             text=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}).stdout
    status = {}
    for line in listing.splitlines():
        name, sep, verdict = line.strip().rpartition(": ")
        if sep and name.startswith("sg2im."):
            status[name] = verdict
    return status


def run_group(group: str, budget: float, children: int) -> dict:
    """mutmut run in the group's copy, stopped (its results kept) when the budget is spent."""
    work = prepare(group)
    mutmut = _mutmut()
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    started = time.monotonic()
    with open(work / "mutmut.log", "w") as log:
        proc = subprocess.Popen([mutmut, "run", "--max-children", str(children)], cwd=work, stdout=log,
                                stderr=subprocess.STDOUT, env=env, start_new_session=True)
        try:
            proc.wait(timeout=budget)
            finished = True
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGINT)  # mutmut saves what it has on an interrupt
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            finished = False
    seconds = time.monotonic() - started
    return {"group": group, "finished": finished, "seconds": round(seconds, 1), "status": results_of(group),
            "exit_code": proc.returncode}


def summarise(result: dict, equivalent: dict[str, str]) -> dict:
    status = result["status"]
    counts: dict[str, int] = {}
    for verdict in status.values():
        counts[verdict] = counts.get(verdict, 0) + 1
    tested = {n: v for n, v in status.items() if v in KILLED or v in ("survived", "no tests")}
    killed = sum(v in KILLED for v in tested.values())
    survivors = sorted(n for n, v in tested.items() if v in ("survived", "no tests"))
    explained = [n for n in survivors if n in equivalent]
    score = killed / len(tested) if tested else float("nan")
    score_equivalent_removed = (killed / (len(tested) - len(explained))
                                if len(tested) > len(explained) else float("nan"))
    return {**{k: v for k, v in result.items() if k != "status"}, "counts": counts, "mutants": len(status),
            "tested": len(tested), "killed": killed, "score": round(score, 4),
            "score_without_equivalent": round(score_equivalent_removed, 4),
            "equivalent": explained, "unexplained_survivors": [n for n in survivors if n not in equivalent]}


def diff_of(group: str, name: str) -> str:
    return subprocess.run([_mutmut(), "show", name], cwd=OUT / group, capture_output=True, text=True).stdout


def report(summaries: list[dict]) -> str:
    lines = ["| group | modules | mutants | tested | killed | survived (equivalent) | score | score, equivalent "
             "removed | time |", "|---|---|---|---|---|---|---|---|---|"]
    for s in summaries:
        modules = ", ".join(f"`{m}`" for m in GROUPS[s["group"]][0])
        survived = len(s["equivalent"]) + len(s["unexplained_survivors"])
        note = "" if s["finished"] else " (budget spent)"
        lines.append(f"| {s['group']} | {modules} | {s['mutants']} | {s['tested']}{note} | {s['killed']} | "
                     f"{survived} ({len(s['equivalent'])}) | {s['score']:.1%} | "
                     f"{s['score_without_equivalent']:.1%} | {s['seconds']:.0f} s |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("groups", nargs="*", help=f"groups to run (default: all): {', '.join(GROUPS)}")
    parser.add_argument("--budget", type=float, default=600, help="seconds per group (default 600)")
    parser.add_argument("--show", type=int, default=10, help="diffs of unexplained survivors printed per group")
    parser.add_argument("--children", type=int, default=os.cpu_count() or 2, help="mutants run at once")
    parser.add_argument("--report", action="store_true",
                        help="no run: classify each group's last results again (after editing the equivalents)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.groups) - set(GROUPS))
    if unknown:
        parser.error(f"unknown group(s) {', '.join(unknown)}; choose from {', '.join(GROUPS)}")
    equivalent = tomllib.loads(EQUIVALENT_FILE.read_text())["equivalent"] if EQUIVALENT_FILE.exists() else {}
    summaries = []
    for group in args.groups or [g for g in GROUPS if not args.report or (OUT / g / "summary.json").exists()]:
        doing = "last results of" if args.report else f"mutating (budget {args.budget:.0f} s)"
        print(f"== {group}: {doing} {', '.join(GROUPS[group][0])} against {', '.join(GROUPS[group][1])} "
              f"(log in {OUT / group / 'mutmut.log'})", flush=True)
        if args.report:
            last = json.loads((OUT / group / "summary.json").read_text())
            result = {k: last[k] for k in ("group", "finished", "seconds", "exit_code")} | {"status": results_of(group)}
        else:
            result = run_group(group, args.budget, args.children)
        s = summarise(result, equivalent)
        summaries.append(s)
        print(f"   {s['killed']}/{s['tested']} killed ({s['score']:.1%}), {len(s['equivalent'])} equivalent, "
              f"{len(s['unexplained_survivors'])} unexplained survivors, {s['seconds']:.0f} s", flush=True)
        survivors = OUT / group / "survivors.txt"
        survivors.write_text("".join(f"{n}\n" for n in s["unexplained_survivors"]))
        for name in s["unexplained_survivors"][:args.show]:
            print(diff_of(group, name))
        if s["unexplained_survivors"]:
            print(f"   all {len(s['unexplained_survivors'])} listed in {survivors}; the diff of one: "
                  f"cd {OUT / group} && mutmut show NAME")
        (OUT / group / "summary.json").write_text(json.dumps(s, indent=2) + "\n")
    # the report covers every group's latest run (a group run alone updates its row)
    latest = [json.loads((OUT / g / "summary.json").read_text()) for g in GROUPS if (OUT / g / "summary.json").exists()]
    table = report(latest)
    (OUT / "report.md").write_text(table + "\n")
    (OUT / "report.json").write_text(json.dumps(latest, indent=2) + "\n")
    print(table)
    print(f"report: {OUT / 'report.md'}, {OUT / 'report.json'}")
    return 1 if any(s["unexplained_survivors"] for s in summaries) else 0


if __name__ == "__main__":
    raise SystemExit(main())
