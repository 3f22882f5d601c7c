"""The outage pictures (bench/svg.py) and the text timeline (bench/timeline.py), from recorded timelines."""

from __future__ import annotations

import json

import pytest

from bench import svg
from bench.outage import Outage, report, targets
from bench.timeline import FLEET, NO_TARGET, PAGE, Phases, Probe, classify, one_line
from emulator.elb import SERVED, UNAVAILABLE

TIMELINE = {
    "name": "ours, defaults",
    "slug": "defaults",
    "axis": 300,
    "end": 250.0,
    "answers": [[0.0, "fleet"], [10.0, "page"], [180.0, "fleet"]],
    "healthy": [[0.0, 2], [10.5, 0], [179.5, 2]],
    "phases": [["drain", 10.5, 17.5], ["migration", 60.0, 120.0]],
    "workflow": [0.0, 200.0],
    "outage": [10.0, 180.0],
    "settings": [[0.0, "delay 300 s, checks 5 x 15 s"], [9.0, "delay 5 s, checks 2 x 5 s"]],
}


@pytest.mark.parametrize("source, drawn", svg.figure_pairs(), ids=lambda p: p.name)
def test_each_committed_outage_picture_is_what_its_committed_timeline_draws(source, drawn):
    # a renderer change without `python -m bench.svg --write` (or a bench run) shows here
    assert drawn.read_text() == svg.render(json.loads(source.read_text()))


def test_the_benchmark_has_committed_a_picture_of_each_run():
    assert {source.stem for source, _ in svg.figure_pairs()} == {
        "outage-defaults",
        "outage-snapshot",
        "outage-page",
        "outage-addon",
        "outage-config-only",
    }


def test_a_picture_says_the_outage_a_client_saw():
    assert "outage a client sees: 170.0 s (10.0 to 180.0 s)" in svg.render(TIMELINE)


def test_a_picture_draws_each_answer_a_client_got_for_as_long_as_it_got_it():
    drawn = svg.render(TIMELINE)
    assert "<title>maintenance page: 10.0 to 180.0 s</title>" in drawn
    assert "<title>Fleet: 180.0 to 250.0 s</title>" in drawn


def test_pictures_of_different_runs_share_their_time_axis():
    # the same moment lands on the same x whatever the run's own length
    short = dict(TIMELINE, end=100.0, answers=[[0.0, "fleet"], [50.0, "no target"]])
    x = svg.LEFT + (svg.WIDTH - svg.LEFT - svg.RIGHT) * 50 / 300
    assert f'<rect x="{x:.1f}" y="0"' in svg.render(short)


def test_check_reports_a_picture_that_differs_from_its_timeline(tmp_path, capsys):
    (tmp_path / "outage-defaults.json").write_text(json.dumps(TIMELINE))
    (tmp_path / "outage-defaults.svg").write_text("<svg/>")
    assert svg.main(["--check", "--folder", str(tmp_path)]) == 1
    assert "outage-defaults.svg" in capsys.readouterr().err


def test_write_draws_the_picture_again_from_its_timeline(tmp_path):
    (tmp_path / "outage-defaults.json").write_text(json.dumps(TIMELINE))
    svg.main(["--write", "--folder", str(tmp_path)])
    assert svg.main(["--check", "--folder", str(tmp_path)]) == 0


def test_a_request_gets_fleet_the_load_balancers_503_or_the_page():
    assert [classify(SERVED), classify(UNAVAILABLE), classify((503, "text/html", "<p>Back soon</p>"))] == [
        FLEET,
        NO_TARGET,
        PAGE,
    ]


def _probe(answers):
    probe = Probe(aws=None, listener_arn="", group_arn="")  # type: ignore[arg-type]
    probe.answers = answers
    return probe


def test_with_the_page_the_outage_runs_from_the_first_request_that_got_it_to_the_first_that_got_fleet_again():
    probe = _probe([(0.0, FLEET), (10.0, PAGE), (155.0, FLEET)])
    assert probe.outage([(0.0, 2), (11.0, 0), (150.0, 2)]) == (10.0, 155.0)


def test_without_the_page_the_outage_is_the_time_with_no_healthy_target_even_when_the_probe_looked_late():
    # GIVEN a probe that saw the 503 1 s late and Fleet again 10 s late (a loaded machine delays its thread)
    probe = _probe([(0.0, FLEET), (12.5, NO_TARGET), (160.0, FLEET)])
    # THEN the health history's moments bound the outage
    assert probe.outage([(0.0, 2), (11.5, 0), (150.0, 2)]) == (11.5, 150.0)


def test_a_client_that_always_reached_fleet_saw_no_outage():
    assert _probe([(0.0, FLEET)]).outage([(0.0, 2)]) is None


def test_the_text_timeline_gives_each_phase_its_seconds_in_order_and_the_tasks_exit_code():
    found = Phases(
        scale_down=10.0,
        drained=15.0,
        run_task=16.0,
        task_running=26.0,
        task_stopped=36.0,
        task_exit=1,
        scale_up=37.0,
        healthy=50.0,
    )
    assert one_line(found, 40.0) == (
        "drain 5s → task start 10s → migration 10s (exit 1) → start + checks 13s; no healthy target 40s"
    )


def test_the_text_timeline_of_a_run_that_changed_nothing_says_so():
    assert one_line(Phases()) == "no Fleet task stopped, no migration task"


def _row(slug: str, outage: float, work: float = 0.0) -> Outage:
    return Outage(slug, slug, outage, outage, work, "delay 5 s, checks 2 x 5 s", None, None, 3, "SUCCEEDED", 1.0)


ROWS = [
    _row("defaults", 160.0, 157.0),
    _row("snapshot", 163.0),
    _row("page", 170.0),
    _row("addon", 550.0),
    _row("config-only", 0.0),
]


def test_the_outage_table_has_a_row_per_run_with_the_settings_its_work_ran_with():
    from bench.outage import FleetTimeline

    table = report(ROWS, speed=30, timeline=FleetTimeline())
    lines = [line for line in table.splitlines() if line.startswith(("defaults", "addon", "config-only"))]
    assert len(lines) == 3 and all("delay 5 s, checks 2 x 5 s" in line for line in lines)


def test_the_targets_say_met_or_not_met_for_each_of_the_five_goals():
    found = targets(ROWS)
    assert [row[-1] for row in found] == ["met", "met", "met", "met", "NOT MET"]
