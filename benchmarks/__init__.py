"""Benchmarks: this engine against micrograd 0.1.0 and hand-written floats.

Run ``python -m benchmarks`` (``--help`` for the options). Three workloads,
each written for every engine and checked to give the same gradients before
it is timed:

1. one training step of micrograd's moons demo (``MLP(2, [16, 16, 1])``,
   100 points, hinge loss with L2 penalty; forward, backward and SGD), for
   this engine interpreted and compiled (``autograd.compile_graph``);
2. a chain of 100,000 operations, then backward;
3. the sum of 100,000 products, then backward, summed left to right and as a
   balanced tree (pairwise);

plus the memory per graph node while building (2) and (3), and the time and
memory ``compile_graph`` takes on the moons graph. The table goes to
standard output and to ``benchmarks/RESULTS.md``. ``benchmarks.runner``
explains how the numbers are taken.
"""

from .runner import check_agreement, format_results, measure_memory, time_workload
from .workloads import Case, Workload, chain, moons, pairwise_sum, wide

__all__ = [
    "Case",
    "Workload",
    "chain",
    "check_agreement",
    "format_results",
    "measure_memory",
    "moons",
    "pairwise_sum",
    "time_workload",
    "wide",
]
