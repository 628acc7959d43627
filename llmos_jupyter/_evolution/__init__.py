"""Evolution: repeated sub-workflows in the trace notebooks become compound skills.

``traces.py`` reads trace metadata fast, ``mining.py`` finds the patterns, ``compound.py``
turns one into a skill file, ``evolve.py`` writes them to the user volume (one commit each).
"""

from llmos_jupyter._evolution.compound import Compound, Learned, build_compound
from llmos_jupyter._evolution.evolve import Candidate, EvolveReport, evolve
from llmos_jupyter._evolution.mining import Member, Occurrence, Pattern, mine
from llmos_jupyter._evolution.traces import iter_traces, read_trace, read_traces, trace_files

__all__ = [
    "Candidate",
    "Compound",
    "EvolveReport",
    "Learned",
    "Member",
    "Occurrence",
    "Pattern",
    "build_compound",
    "evolve",
    "iter_traces",
    "mine",
    "read_trace",
    "read_traces",
    "trace_files",
]
