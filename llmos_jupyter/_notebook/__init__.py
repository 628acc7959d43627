"""The notebook layer: ``%%skill`` cells as a workflow.

* ``cells.py``   — the ``%%skill`` line and body grammar (pure; shared by both sides);
* ``mapping.py`` — notebook ⇄ :class:`~llmos_jupyter.Workflow` over nbformat (pure: the
  CLI runs notebooks through it, no kernel needed);
* ``display.py`` — rich output for the magics (HTML tables, PNG, SVG graph, three.js);
* ``session.py`` — the kernel's state: the skill cells run so far, their results and the
  variables they bind; used by ``llmos_jupyter._magics``.

Nothing here imports IPython or ipyflow at module level.
"""
