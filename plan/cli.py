"""`python -m plan <command>`: exit 0 ok, 1 policy violation, 2 bad input, 3 program failure."""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import sys
import tempfile
import traceback
from pathlib import Path

from plan import charts as charts_module
from plan import checkov, policy
from plan.cost import FORMATS, cost_section, estimate_record, price_table, render_cost
from plan.critical_path import render_critical_path
from plan.diff import SideSpec, StackArgs, diff_sides, render_diff
from plan.engine import (
    PROJECT_DIR,
    ConfigError,
    PlanRecord,
    ProgramError,
    resolve_stack_file,
    run_program,
    shipped_stack_files,
    stack_name_for,
)
from plan.preview import render_preview
from plan.progress import progress_on
from plan.render import helm_releases, releases_file, write_manifests
from plan.workloads import render_workloads
from stacks import load_stack_file

EXIT_OK, EXIT_POLICY, EXIT_BAD_INPUT, EXIT_PROGRAM = 0, 1, 2, 3


def _add_stack_arguments(parser: argparse.ArgumentParser, record: bool = False) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--stack", help="stack name: reads Pulumi.<stack>.yaml")
    source.add_argument("--config", help="path of any stack file (e.g. examples/aws-eks.yaml)")
    if record:
        source.add_argument("--record", metavar="FILE", help="a plan record written by `preview --json`")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m plan", description=__doc__)
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    commands = parser.add_subparsers(dest="command", required=True)

    preview = commands.add_parser("preview", help="what the stack would create")
    _add_stack_arguments(preview)
    preview.add_argument("--json", metavar="FILE", help="write the full plan record as JSON")
    preview.set_defaults(handler=cmd_preview)

    check = commands.add_parser(
        "policy", help="run the policy pack on the plan; exit 1 on a mandatory violation"
    )
    _add_stack_arguments(check, record=True)
    check.add_argument(
        "--policy-pack-config",
        metavar="FILE",
        help="policy config instead of policies/config/<environment>.json (the budget is still merged in)",
    )
    check.add_argument("--json", metavar="FILE", help="also write the verdicts as JSON")
    check.add_argument("--list", action="store_true", help="list the rules (Markdown table) and exit")
    check.add_argument(
        "--scanner",
        choices=("pack", "checkov"),
        default="pack",
        help="pack: this project's rules (default); checkov: checkov's own Terraform-plan and ARM checks on "
        "the plan converted to those formats (plan/checkov.py); exit 1 on a failed check",
    )
    check.set_defaults(handler=cmd_policy)

    pack_config = commands.add_parser(
        "policy-config",
        help="print the --policy-pack-config JSON for `pulumi preview --policy-pack policies` on a stack",
    )
    _add_stack_arguments(pack_config)
    pack_config.set_defaults(handler=cmd_policy_config)

    render = commands.add_parser("render", help="write the Kubernetes objects as YAML manifests")
    _add_stack_arguments(render)
    render.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="manifests directory (kubectl apply -R -f DIR); Helm releases go to DIR.helm-releases.yaml",
    )
    render.set_defaults(handler=cmd_render)

    cost = commands.add_parser(
        "cost", help="monthly cost envelope: floor (pools at min) and ceiling (at max)"
    )
    _add_stack_arguments(cost)
    _add_format_argument(cost)
    cost.set_defaults(handler=cmd_cost)

    schema = commands.add_parser(
        "schema", help="regenerate schema/stack.schema.json and docs/config-reference.md from the models"
    )
    schema.add_argument("--check", action="store_true", help="exit 2 when the files differ from the models")
    schema.set_defaults(handler=cmd_schema)

    charts = commands.add_parser(
        "charts",
        help="render every Helm release with its real chart at the pinned version (plan/charts.py); "
        "exit 1 on a problem",
    )
    _add_stack_arguments(charts)
    charts.add_argument(
        "--charts-dir",
        required=True,
        metavar="DIR",
        help="pulled charts: <name>-<version>.tgz (helm pull) or <name>-<version>/ directories",
    )
    charts.add_argument(
        "--print-pulls",
        action="store_true",
        help="print the `helm pull` commands that fill --charts-dir, one per chart version, and exit",
    )
    charts.add_argument(
        "--record",
        action="store_true",
        help=f"write the value paths verified to {charts_module.RECORD_FILE.relative_to(PROJECT_DIR)}",
    )
    charts.set_defaults(handler=cmd_charts)

    diff = commands.add_parser("diff", help="what a change does: added, removed and changed resources")
    diff.add_argument("--base", required=True, metavar="FILE|REF", help="plan record file or git ref")
    diff.add_argument(
        "--head",
        metavar="FILE|REF",
        help="plan record file or git ref (default: the working tree, run in this process)",
    )
    _add_stack_arguments(diff)
    _add_format_argument(diff)
    diff.set_defaults(handler=cmd_diff)
    return parser


def _add_format_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default=None,
        help="markdown (for a PR comment) or text; default: text on a terminal, markdown otherwise",
    )


def output_format(requested: str | None) -> str:
    """An explicit --format wins; else text for a person at a terminal, Markdown for a pipe."""
    if requested:
        return requested
    return "text" if sys.stdout.isatty() else "markdown"


def plan_of(stack_file: Path) -> PlanRecord:
    """Run the program on a stack file, showing progress on a terminal only."""
    with progress_on(sys.stderr) as progress:
        record = run_program(stack_file, progress=progress)
    # The run leaves the SDK's objects behind as cyclic garbage (millions of them on a big
    # stack); this process exits after printing, so skip the seconds-long collection of it.
    gc.freeze()
    return record


def cmd_render(args: argparse.Namespace) -> int:
    record = plan_of(resolve_stack_file(args.stack, args.config))
    written = write_manifests(record, args.out)
    releases = len(helm_releases(record))
    print(
        f"wrote {len(written)} manifests to {args.out}"
        + (f", {releases} Helm releases in {releases_file(args.out)}" if releases else "")
    )
    return EXIT_OK


def cmd_charts(args: argparse.Namespace) -> int:
    """Every shipped stack and example unless one is named."""
    stack_files = (
        [resolve_stack_file(args.stack, args.config)] if args.stack or args.config else shipped_stack_files()
    )
    charts_dir = Path(args.charts_dir)
    if args.print_pulls:
        releases = {
            r.key: r for stack_file in stack_files for r in charts_module.releases_of(plan_of(stack_file))
        }
        for key in sorted(releases):
            print(charts_module.pull_command(releases[key], charts_dir))
        return EXIT_OK
    if not charts_dir.is_dir():
        raise ConfigError(f"--charts-dir {charts_dir}: no such directory (pull the charts into it first)")
    reports = []
    failed = 0
    try:
        for stack_file in stack_files:
            config = load_stack_file(stack_file)
            stack = charts_module.check_stack(config, plan_of(stack_file), charts_dir)
            failed += stack.failed
            for report in stack.releases:
                reports.append(report)
                status = "ok" if not report.problems else f"{len(report.problems)} problem(s)"
                print(f"{stack_file.name}: {report.release}: {status}")
                for line in report.problems:
                    print(f"  problem: {line}")
                for line in report.notes:
                    print(f"  note: {line}")
            for line in stack.chains:
                print(f"{stack_file.name}: problem: {line}")
    except charts_module.ChartUnavailableError as exc:
        raise ConfigError(str(exc)) from exc
    rendered = sum(bool(report.rendered) for report in reports)
    print(
        f"{rendered} of {len(reports)} releases rendered with their charts in {len(stack_files)} "
        f"stack(s), {failed} stack(s) with problems"
    )
    if args.record:
        record = charts_module.updated_record(charts_module.read_record(), reports, datetime.date.today())
        charts_module.write_record(record)
        print(f"recorded the verified values in {charts_module.RECORD_FILE.relative_to(PROJECT_DIR)}")
    return EXIT_POLICY if failed else EXIT_OK


def cmd_preview(args: argparse.Namespace) -> int:
    stack_file = resolve_stack_file(args.stack, args.config)
    # The program itself logs the config's warnings (as on a real run).
    config = policy.pack_config_for(stack_name_for(stack_file), load_stack_file(stack_file))
    record = plan_of(stack_file)
    if args.json:
        record.write(args.json)
    sections = [render_workloads, render_critical_path, policy.preview_section(config), cost_section]
    sys.stdout.write(render_preview(record, sections=sections))
    return EXIT_OK


def cmd_policy(args: argparse.Namespace) -> int:
    if args.list:
        print(policy.rules_table())
        return EXIT_OK
    override = Path(args.policy_pack_config) if args.policy_pack_config else None
    if args.record:
        record = policy.read_record(Path(args.record))
        config = policy.pack_config_for(record.stack, policy.stack_config_of(record), override)
    else:
        stack_file = resolve_stack_file(args.stack, args.config)
        config = policy.pack_config_for(stack_name_for(stack_file), load_stack_file(stack_file), override)
        record = plan_of(stack_file)
    if args.scanner == "checkov":
        with tempfile.TemporaryDirectory() as workdir:
            result = checkov.scan(record, Path(workdir))
        print(result.render())
        return EXIT_POLICY if result.failed else EXIT_OK
    report = policy.evaluate(record, config)
    if args.json:
        Path(args.json).write_text(report.to_json())
    print(policy.render(report))
    return EXIT_POLICY if report.mandatory else EXIT_OK


def cmd_policy_config(args: argparse.Namespace) -> int:
    stack_file = resolve_stack_file(args.stack, args.config)
    stack_config = load_stack_file(stack_file)
    config = policy.pack_config_for(stack_name_for(stack_file), stack_config)
    print(json.dumps(config.document, indent=2, sort_keys=True))
    return EXIT_OK


def cmd_cost(args: argparse.Namespace) -> int:
    stack_file = resolve_stack_file(args.stack, args.config)
    stack = load_stack_file(stack_file)
    record = plan_of(stack_file)
    title = f"Cost envelope of {record.stack} ({record.source})"
    envelope = estimate_record(record, price_table(stack))
    output = render_cost(
        envelope, output_format(args.format), title=title, budget=stack.budget.monthly_max_usd
    )
    sys.stdout.write(output + "\n")
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    from plan.schema import generated

    stale = []
    for path, text in generated().items():
        if path.exists() and path.read_text() == text:
            continue
        stale.append(path.relative_to(PROJECT_DIR))
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    if args.check and stale:
        print(
            f"error: out of date: {', '.join(map(str, stale))}; run `python -m plan schema`", file=sys.stderr
        )
        return EXIT_BAD_INPUT
    print(f"{'wrote' if stale and not args.check else 'up to date:'} {', '.join(map(str, stale)) or 'all'}")
    return EXIT_OK


def cmd_diff(args: argparse.Namespace) -> int:
    stack = StackArgs(stack=args.stack, config=args.config)
    diff = diff_sides(SideSpec(args.base), SideSpec(args.head), stack)
    sys.stdout.write(render_diff(diff, output_format(args.format)))
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ProgramError as exc:
        if args.debug:
            traceback.print_exception(exc.__cause__ or exc)
        print(f"error: the program failed: {exc} (run with --debug for the traceback)", file=sys.stderr)
        return EXIT_PROGRAM
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
