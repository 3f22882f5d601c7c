"""``make bench``: measure on the embedded AWS and print tables (no assertions on time)."""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from contextlib import nullcontext
from pathlib import Path

from bench import addon, client, coldstart, downtime, extrapolation, history, outage, package, runner, svg
from bench.cost import LambdaAssumptions, memory_mb
from bench.scenario import Timeline, lane, start_emulator
from bench.table import render
from emulator import Emulator, ExecutionRun, FleetDeployment
from fleet_migration.executions import execution_name


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="migrations per poll interval (default 5)")
    parser.add_argument("--quick", action="store_true", help="2 runs, 3 cold starts per module, 1 client run")
    parser.add_argument(
        "--intervals",
        default="default,1,5,10",
        help='poll_interval_seconds to compare; "default" leaves it out (default default,1,5,10)',
    )
    parser.add_argument("--drain-seconds", type=float, default=0.5, help="a service task takes this long to stop")
    parser.add_argument("--task-start-seconds", type=float, default=0.5, help="the migration task's start")
    parser.add_argument("--task-run-seconds", type=float, default=5.0, help="the migration task's run")
    parser.add_argument("--service-start-seconds", type=float, default=0.5, help="a service task's start")
    parser.add_argument(
        "--jitter-seconds",
        type=float,
        default=None,
        help="drain and task run last up to this much longer, at random (default: the largest "
        "interval, at least 5 s, so polls land at random moments; 0 for none)",
    )
    parser.add_argument("--concurrency", type=int, default=6, help="migrations running at once (default 6)")
    parser.add_argument("--cold-starts", type=int, default=10, help="fresh interpreters per module (default 10)")
    parser.add_argument("--client-runs", type=int, default=3, help="runs of the Terraform client (default 3)")
    parser.add_argument("--lambda-ms", type=float, default=100, help="assumed billed ms per warm invocation")
    parser.add_argument("--init-ms", type=float, default=1000, help="assumed billed INIT ms per function per migration")
    parser.add_argument(
        "--only",
        default="downtime,history,client,coldstart,package,outage",
        help="sections to run, comma-separated (history needs downtime's migrations)",
    )
    parser.add_argument(
        "--outage-speed",
        type=float,
        default=outage.DEFAULT_SPEED,
        help="the outage section's emulator clock, times real time (default %(default)g)",
    )
    parser.add_argument(
        "--figures",
        type=Path,
        default=svg.FIGURES,
        help="where the outage section writes each run's timeline, JSON and SVG (default docs/performance)",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed of the jitter")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.cold_starts, args.client_runs = min(args.runs, 2), min(args.cold_starts, 3), 1
    args.intervals = [None if p == "default" else int(p) for p in args.intervals.split(",")]
    args.only = set(args.only.split(","))
    if "history" in args.only:
        args.only.add("downtime")
    if args.jitter_seconds is None:
        args.jitter_seconds = float(max([5] + [p for p in args.intervals if p is not None]))
    return args


SHARED_EMULATOR = {"coldstart", "downtime", "history", "client"}  # the sections that run on one server-mode emulator


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    began = time.monotonic()
    timeline = Timeline(
        args.drain_seconds,
        args.task_start_seconds,
        args.task_run_seconds,
        args.service_start_seconds,
        args.jitter_seconds,
    )
    out = sys.stdout
    if args.only & SHARED_EMULATOR:
        print(f"fleet-migration benchmark on the embedded AWS (speed 1); ECS: {timeline.describe()}\n", flush=True)
    else:
        print("fleet-migration benchmark on the embedded AWS\n", flush=True)
    targets: list[list[str]] = []
    if "outage" in args.only:
        # its own emulators, one per row, before the shared one starts (one embedded AWS at a time)
        fleet_timeline = outage.FleetTimeline()
        rows = outage.measure_all(speed=args.outage_speed, timeline=fleet_timeline)
        out.write(outage.report(rows, speed=args.outage_speed, timeline=fleet_timeline, markdown=args.markdown) + "\n")
        targets += outage.targets(rows)
        drawn = [svg.write(row.timeline, args.figures) for row in rows]
        out.write("Timelines drawn: " + ", ".join(str(p) for p in drawn) + "\n\n")
        out.flush()
    migrations = []
    with start_emulator(server=True) if args.only & SHARED_EMULATOR else nullcontext() as aws:
        fleet = aws.seed_fleet(revisions=2) if aws is not None else None

        # first, while the simulator holds few tasks: every ECS call the steps make walks them all
        if "coldstart" in args.only:
            events, extra_env = _cold_start_events(aws, fleet)
            baseline, handlers = coldstart.measure(aws, events, extra_env, args.cold_starts)
            out.write(coldstart.report(baseline, handlers, markdown=args.markdown) + "\n")
            worst = max(handlers, key=lambda h: h.total)
            ratio = worst.total / baseline.total
            targets.append(
                [
                    f"cold start, slowest handler ({worst.name.split(' ')[0]})",
                    f"{ratio:.2f} × baseline",
                    "≤ 1.50 ×",
                    _met(ratio <= 1.5),
                ]
            )
            out.flush()

        if "downtime" in args.only:
            migrations = runner.run_migrations(
                aws,
                fleet,
                intervals=args.intervals,
                runs=args.runs,
                timeline=timeline,
                concurrency=args.concurrency,
                seed=args.seed,
            )
            if not _all_succeeded([(m.name, m.run) for m in migrations]):
                return 1
            measured = [downtime.measure(aws, m) for m in migrations]
            out.write(downtime.report(measured, args.intervals, markdown=args.markdown) + "\n")
            for interval in args.intervals:
                if interval is None:
                    worst = downtime.worst_total(measured, None)
                    plain = addon.phases(
                        timeline.drain_seconds,
                        timeline.task_start_seconds,
                        timeline.task_run_seconds,
                        timeline.service_start_seconds,
                    )
                    targets.append(
                        [
                            "added downtime in total, default settings (max)",
                            f"{worst:.2f} s",
                            f"≤ {downtime.DEFAULT_TOTAL_TARGET:g} s (Fleet's addon: {plain['total']:.1f} s)",
                            _met(worst <= downtime.DEFAULT_TOTAL_TARGET),
                        ]
                    )
                    below = statistics.median(r.below_count for r in measured if r.interval is None)
                    targets.append(
                        [
                            "Fleet below full strength, default settings (median)",
                            f"{below:.2f} s",
                            f"Fleet's addon: {downtime.median_addon(measured, 'below_count'):.1f} s "
                            f"({plain['below_count']:.1f} s without jitter)",
                            "",
                        ]
                    )
                    continue
                worst = downtime.worst_waiting_phase(measured, interval)
                targets.append(
                    [
                        f"added downtime per waiting phase, poll {interval} s (max)",
                        f"{worst:.2f} s",
                        f"≤ {interval + 1} s",
                        _met(worst <= interval + 1),
                    ]
                )
            out.flush()

        if "history" in args.only and migrations:
            loops = history.loop_states()
            default = extrapolation.DEFAULTS["poll_interval_seconds"]
            chosen = None if None in args.intervals else min(args.intervals, key=lambda p: abs(p - default))
            shapes = [history.Shape.of(m.run.events, loops) for m in migrations if m.interval == chosen]
            shape = history.median_shape(shapes)
            lam = LambdaAssumptions(args.lambda_ms, args.init_ms, shape.functions, memory_mb())
            table, found = extrapolation.report(shape, lam, chosen, markdown=args.markdown)
            out.write(table + "\n")
            day = next(t for name, t in found if name.startswith("24-hour"))
            worst = next(t for name, t in found if name.startswith("worst"))
            targets.append(
                [
                    "24-hour migration's history (defaults)",
                    f"{day['events']:.0f} events",
                    f"< {history.HISTORY_LIMIT // 2:,}",
                    _met(day["events"] < history.HISTORY_LIMIT / 2),
                ]
            )
            targets.append(
                [
                    "worst case's history (poll 1 s, every wait to its limit)",
                    f"{worst['events']:.0f} events",
                    f"< {history.HISTORY_LIMIT:,} (the hard limit)",
                    _met(worst["events"] < history.HISTORY_LIMIT),
                ]
            )
            out.flush()

        if "client" in args.only:
            results = client.measure(
                aws,
                fleet,
                runs=args.client_runs,
                timeline=Timeline(
                    args.drain_seconds, args.task_start_seconds, args.task_run_seconds, args.service_start_seconds
                ),
                seed=args.seed,
            )
            out.write(client.report(results, markdown=args.markdown) + "\n")
            out.flush()
            if any(r.exit_code != 0 for r in results):
                codes = [r.exit_code for r in results]
                print(
                    f"benchmark failed: the Terraform client's migrations did not all succeed (exit codes {codes})",
                    file=sys.stderr,
                )
                return 1

    if "package" in args.only:
        found = package.measure()
        rows = [
            ["functions/ (our code)", _mb(found.code_bytes)],
            ["functions/requirements.txt, installed", _mb(found.dependency_bytes)],
            ["unzipped, total (Lambda limit 250 MB)", _mb(found.unzipped_bytes)],
            ["zipped (Lambda limit 50 MB direct upload)", _mb(found.zipped_bytes)],
        ]
        out.write(
            render(
                "Deployment package (MB, without bytecode; boto3 comes with the runtime)",
                ["", "size"],
                rows,
                markdown=args.markdown,
                notes=[", ".join(found.distributions)],
            )
            + "\n"
        )

    if targets:
        out.write(render("Targets", ["target", "measured", "goal", ""], targets, markdown=args.markdown) + "\n")
    print(f"benchmark took {time.monotonic() - began:.0f} s")
    return 0


def _cold_start_events(aws: Emulator, fleet: FleetDeployment) -> tuple[dict, dict]:
    """A real event for every function: one successful and one failing migration, and a trigger event."""
    aws.next_migration(exit_code=0, start_seconds=0.5, run_seconds=0.5)
    name = execution_name(fleet.cluster, fleet.service, fleet.latest_revision)
    succeeded = runner.wait(aws, aws.start(fleet.migration_input(poll_interval_seconds=1), name))
    failing = lane(aws, fleet, "cold-start", Timeline(0.5, 0.5, 0.5, 0.5), random.Random(0))
    aws.next_migration(exit_code=1, start_seconds=0.5, run_seconds=0.5)
    failed = runner.wait(
        aws,
        aws.start(
            fleet.migration_input(
                ecs_service=failing.service, vuln_service=failing.vuln_service, poll_interval_seconds=1
            ),
            "bench-cold-start-failing",
        ),
    )
    if not _all_succeeded([("cold-start", succeeded)]):
        raise SystemExit(1)
    if failed.error != "MigrationFailed":
        print(
            f"benchmark failed: migration 'bench-cold-start-failing' should fail with MigrationFailed, "
            f"it ended {failed.status} with {failed.error}: {failed.cause}",
            file=sys.stderr,
        )
        raise SystemExit(1)
    events = coldstart.events_from([succeeded, failed])
    arn = aws.client("ecs").describe_task_definition(taskDefinition=f"{fleet.task_definition}:{fleet.latest_revision}")[
        "taskDefinition"
    ]["taskDefinitionArn"]
    # What EventBridge hands over for a RegisterTaskDefinition (CloudTrail): the revision whose
    # migration already succeeded, so the trigger's first call reports it instead of starting another.
    events["TriggerFunction"] = {
        "version": "0",
        "source": "aws.ecs",
        "detail-type": "AWS API Call via CloudTrail",
        "detail": {
            "eventSource": "ecs.amazonaws.com",
            "eventName": "RegisterTaskDefinition",
            "requestParameters": {"family": fleet.task_definition},
            "responseElements": {
                "taskDefinition": {
                    "taskDefinitionArn": arn,
                    "family": fleet.task_definition,
                    "revision": fleet.latest_revision,
                }
            },
        },
    }
    extra_env = {
        "TriggerFunction": {
            "STATE_MACHINE_ARN": aws.state_machine_arn,
            "ECS_CLUSTER": fleet.cluster,
            "ECS_SERVICE": fleet.service,
            "VULN_SERVICE": fleet.vuln_service or "",
            "TASK_DEFINITION_FAMILY": fleet.task_definition,
            "SUBNETS": ",".join(fleet.subnets),
            "SECURITY_GROUPS": ",".join(fleet.security_groups),
            "INPUT_OVERRIDES": "{}",
        }
    }
    return events, extra_env


def _all_succeeded(runs: list[tuple[str, ExecutionRun]]) -> bool:
    """Figures from a benchmark whose migrations failed would measure something else: say which, and stop."""
    failed = [(name, run) for name, run in runs if run.status != "SUCCEEDED"]
    for name, run in failed:
        message = (run.cause or {}).get("message") or (run.cause or {}).get("errorMessage") or run.cause
        print(f"benchmark failed: migration {name!r} ended {run.status} with {run.error}: {message}", file=sys.stderr)
    if failed:
        print(
            f"benchmark failed: {len(failed)} of {len(runs)} migrations did not succeed; no figures printed from them",
            file=sys.stderr,
        )
    return not failed


def _met(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f}"


if __name__ == "__main__":
    sys.exit(main())
