"""Under the ipyflow kernel, an ordinary cell that a skill cell reads is a dependency."""

from __future__ import annotations

import pytest
from nbformat import v4

CHECK = """
from ipyflow import cells, flow

skill_cell = next(c for c in cells().current_cells_for_each_id()
                  if (c.override_dead_refs or [None])[0] == "stats")
reader = next(c for c in cells().current_cells_for_each_id() if c.raw_cell == "m = stats.mean")
schedule = flow().check_and_link_multiple_cells(
    cells_to_check=list(cells().current_cells_for_each_id()))
print("parents", {p.cell_id for p in skill_cell.dynamic_parents})
print("ready", sorted(schedule.ready_cells), "skill cell", skill_cell.cell_id)
assert skill_cell.override_live_refs == ["values"]
assert skill_cell.cell_id in schedule.ready_cells       # marked: it read `values`
assert reader.cell_id not in schedule.ready_cells       # not yet: `stats` has not changed
"""

RERUN = """
# What ipyflow's front-end does in reactive mode: execute the ready cells in order.
assert stats.mean == 2
for cell_id in sorted(schedule.ready_cells):
    get_ipython().run_cell(cells(cell_id).raw_cell)
assert stats.mean == 5, stats.mean
schedule = flow().check_and_link_multiple_cells(
    cells_to_check=list(cells().current_cells_for_each_id()))
assert reader.cell_id in schedule.ready_cells           # now the reader of `stats` is next
"""


def _has_ipyflow_kernel() -> bool:
    try:
        from jupyter_client.kernelspec import KernelSpecManager

        return "ipyflow" in KernelSpecManager().find_kernel_specs()
    except Exception:
        return False


@pytest.mark.slow
@pytest.mark.skipif(not _has_ipyflow_kernel(), reason="the ipyflow kernel is not installed")
def test_a_plain_cell_feeds_a_skill_cell_and_changing_it_marks_the_skill_cell():
    from nbclient import NotebookClient

    nb = v4.new_notebook(cells=[v4.new_code_cell(s) for s in [
        "%load_ext llmos_jupyter",
        "values = [1, 2, 3]",
        "%%skill stats --uses data-analysis\ndata = values",
        "m = stats.mean",
        "values = [4, 5, 6]",
        CHECK,
        RERUN,
    ]])
    NotebookClient(nb, timeout=120, kernel_name="ipyflow").execute()
    printed = "".join(o.get("text", "") for o in nb.cells[5].outputs)
    assert "ready" in printed
