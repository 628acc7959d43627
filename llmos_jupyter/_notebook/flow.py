"""ipyflow integration: tell ipyflow what a skill cell reads and defines.

ipyflow traces ordinary cells by instrumenting their code, but it does not trace inside
cell magics, so a ``%%skill`` cell looks like a cell that reads and writes nothing. After
the node runs, :func:`link_cell` fills that in on ipyflow's current cell:

* ``override_live_refs`` — the variables the cell reads: upstream nodes' variables
  (``--in``) and names in parameter expressions (``bond_length = d``). ipyflow's
  liveness-based schedule uses them to mark the cell *ready* (stale) when one of those
  variables changes, and ``%flow mode reactive`` re-runs it;
* ``override_dead_refs`` — the variable the cell defines (the node's namespace), so
  cells reading ``vqe.eigenvalue`` wait on this cell;
* dynamic parent edges to the cells that last defined the variables read, for the
  DAG-based schedule and ``cells(n).dynamic_parents``;
* the node's variable as an ipyflow symbol that depends on what the cell read.

Only called when ``ipyflow`` is already imported (the ipyflow kernel); the import of
ipyflow modules happens here, inside the function. Every ipyflow API used is internal
and may move between versions: callers treat any exception as "no reactivity".
Checked against ipyflow 0.0.231.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["active", "link_cell"]


def active() -> bool:
    """True when this kernel is the ipyflow kernel with dataflow tracing on."""
    import sys

    if "ipyflow" not in sys.modules:
        return False
    try:
        from ipyflow import singletons

        return bool(singletons.flow().mut_settings.dataflow_enabled)
    except Exception:
        return False


def link_cell(reads: Iterable[str], bound: Mapping[str, Any], *, defines: str) -> bool:
    """Record on ipyflow's current cell that it reads ``reads`` and defines ``defines``
    (and upsert every variable in ``bound``, ``{name: value}``). Returns False when
    ipyflow is not active."""
    if not active():
        return False
    from ipyflow import singletons
    from ipyflow.data_model.timestamp import Timestamp
    from ipyflow.models import cells
    from ipyflow.slicing.context import dynamic_slicing_context

    flow = singletons.flow()
    reads = list(dict.fromkeys(reads))
    cell = cells().current_cell()
    cell.override_live_refs = reads
    cell.override_dead_refs = [defines, *(n for n in bound if n != defines)]

    symbols = set()
    for name in reads:
        sym = flow.global_scope.lookup_symbol_by_name_this_indentation(name)
        if sym is not None and sym.timestamp.is_initialized:
            symbols.add(sym)
    now = Timestamp(flow.cell_counter(), 0)
    with dynamic_slicing_context():
        for sym in symbols:
            if sym.timestamp.cell_num < now.cell_num:
                flow.add_data_dep(now, sym.timestamp, sym)
    for name, value in bound.items():
        flow.global_scope.upsert_symbol_for_name(
            name, value, deps=set(symbols) if name == defines else set())
    return True
