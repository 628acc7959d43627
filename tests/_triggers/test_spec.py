"""Parsing and checking a workflow's ``triggers``; cron times with a fixed clock."""

from __future__ import annotations

import datetime as dt

import pytest

pytest.importorskip("croniter")

from _triggers.helpers import library, workflow

from llmos_jupyter import Workflow
from llmos_jupyter._triggers.spec import (
    FileTrigger,
    ScheduleTrigger,
    TriggerInvalid,
    WebhookTrigger,
    check_inputs,
    load_triggers,
    next_times,
    parse_triggers,
    previous_time,
)

UTC = dt.UTC


def test_parses_the_three_kinds_and_resolves_folders_against_the_file(tmp_path):
    path = workflow(tmp_path, [
        {"type": "schedule", "cron": "*/5  * * * *", "overrides": {"n.value": 1}},
        {"type": "file", "path": "inbox/", "pattern": "*.csv", "input": "n.value"},
        {"type": "webhook", "path": "/hooks/x", "input": "n.value", "secret_env": "HOOK_SECRET"},
    ])
    wf, triggers = load_triggers(path, library())
    assert wf.id == "hooked"
    assert triggers == [
        ScheduleTrigger(0, "*/5 * * * *", {"n.value": 1}),
        FileTrigger(1, (tmp_path / "inbox").resolve(), "*.csv", "n.value"),
        WebhookTrigger(2, "/hooks/x", "n.value", "HOOK_SECRET"),
    ]
    assert parse_triggers(Workflow.load(workflow(tmp_path, [], wid="plain"))) == []


@pytest.mark.parametrize("trigger, where", [
    ({"type": "cron"}, "triggers[0].type: 'cron' is not one of"),
    ({"type": "schedule", "cron": "61 * * * *"}, "triggers[0].cron: '61 * * * *' is not a valid"),
    ({"type": "schedule", "cron": "* * * *"}, "triggers[0].cron: '* * * *' is not a five-field"),
    ({"type": "file", "path": "in", "input": "n"}, "triggers[0].input: 'n' is not 'node.port'"),
    ({"type": "file", "input": "n.value"}, "triggers[0].path: expected a non-empty string"),
    ({"type": "file", "path": "in", "pattern": "a/*.csv", "input": "n.value"},
     "triggers[0].pattern: 'a/*.csv' must match file names"),
    ({"type": "webhook", "path": "hooks", "input": "n.value"}, "triggers[0].path: 'hooks' is not"),
    ({"type": "webhook", "path": "/a/../b", "input": "n.value"}, "triggers[0].path:"),
    ({"type": "webhook", "path": "/h", "input": "n.value", "secret_env": "A-B"},
     "triggers[0].secret_env: 'A-B' is not an environment variable name"),
    ({"type": "webhook", "path": "/h", "input": "n.value", "secert_env": "X"},
     "triggers[0]: unknown field(s) 'secert_env'"),
])
def test_shape_errors_name_the_file_the_index_and_the_field(tmp_path, trigger, where):
    path = workflow(tmp_path, [trigger])
    with pytest.raises(TriggerInvalid) as info:
        load_triggers(path, library())
    assert str(info.value).startswith(f"{path}: invalid trigger: ")
    assert where in str(info.value)


def test_every_problem_is_listed_and_duplicate_hooks_are_refused(tmp_path):
    path = workflow(tmp_path, [{"type": "webhook", "path": "/h", "input": "n.value"},
                               {"type": "webhook", "path": "/h", "input": "n.value"},
                               "nope"])
    with pytest.raises(TriggerInvalid) as info:
        load_triggers(path, library())
    assert info.value.problems == [
        "triggers[1].path: '/h' is already used by triggers[0]",
        "triggers[2]: expected an object, got str"]


@pytest.mark.parametrize("trigger, message", [
    ({"type": "webhook", "path": "/h", "input": "nx.value"},
     "triggers[0].input: 'nx.value': no node 'nx' in the workflow; did you mean 'n'?"),
    ({"type": "webhook", "path": "/h", "input": "n.valu"},
     "triggers[0].input: 'n.valu': skill 'echo' has no input 'valu' (inputs: value)"),
    ({"type": "file", "path": ".", "input": "n.scale"},
     "triggers[0].input: 'n.scale' is number, but a file trigger passes the file's path"),
    # The schedule gives no value: the required input stays missing.
    ({"type": "schedule", "cron": "0 * * * *"},
     "triggers[0]: the workflow cannot run on this schedule: node 'n', port 'value': required input"),
])
def test_inputs_are_checked_against_the_workflow_and_its_skills(tmp_path, trigger, message):
    skill = "read-text" if trigger["input" if "input" in trigger else "type"] == "n.scale" else "echo"
    path = workflow(tmp_path, [trigger], skill=skill)
    with pytest.raises(TriggerInvalid) as info:
        load_triggers(path, library())
    assert message in str(info.value), str(info.value)


def test_the_trigger_supplies_its_own_required_input_but_no_other(tmp_path):
    # read-text needs `path`: a file trigger on it makes the workflow valid ...
    wf = Workflow.load(workflow(tmp_path, [{"type": "file", "path": ".", "input": "n.path"}],
                                skill="read-text"))
    check_inputs(wf, parse_triggers(wf), library())
    # ... one on `scale` (a number, by a webhook) leaves `path` missing.
    wf = Workflow.load(workflow(tmp_path, [{"type": "webhook", "path": "/h", "input": "n.scale"}],
                                skill="read-text"))
    with pytest.raises(TriggerInvalid, match=r"cannot run when this trigger fires: node 'n', port 'path'"):
        check_inputs(wf, parse_triggers(wf), library())


def test_cron_next_and_previous_times_with_a_fixed_clock():
    t0 = dt.datetime(2026, 1, 31, 23, 57, 12, tzinfo=UTC)
    assert next_times("*/5 * * * *", t0, 3) == [
        dt.datetime(2026, 2, 1, 0, 0, tzinfo=UTC), dt.datetime(2026, 2, 1, 0, 5, tzinfo=UTC),
        dt.datetime(2026, 2, 1, 0, 10, tzinfo=UTC)]
    # Weekdays: 2026-02-02 is a Monday.
    assert next_times("30 9 * * 1-5", t0, 2) == [
        dt.datetime(2026, 2, 2, 9, 30, tzinfo=UTC), dt.datetime(2026, 2, 3, 9, 30, tzinfo=UTC)]
    # "Strictly after": a start on a fire time gives the next one. Naive means UTC.
    assert next_times("0 * * * *", dt.datetime(2026, 1, 1, 5, 0)) == [
        dt.datetime(2026, 1, 1, 6, 0, tzinfo=UTC)]
    assert previous_time("*/5 * * * *", t0) == dt.datetime(2026, 1, 31, 23, 55, tzinfo=UTC)
    assert previous_time("0 0 1 * *", dt.datetime(2026, 3, 1, 0, 0, tzinfo=UTC)) == \
        dt.datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
