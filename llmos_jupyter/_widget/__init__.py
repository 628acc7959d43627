"""The canvas widget (anywidget). Imported only on demand: ``llmos_jupyter.Canvas``."""
