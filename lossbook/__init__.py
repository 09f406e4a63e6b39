"""lossbook: the helper package of the book on PyTorch losses for binary classification.

Every chapter starts with::

    import lossbook as lb
    lb.setup()

Modules: :mod:`~lossbook.functional` (reference losses written from their formulas),
:mod:`~lossbook.modules` (``nn.Module`` wrappers of the losses torch lacks),
:mod:`~lossbook.checks` (input validation with explanatory errors),
:mod:`~lossbook.diagnosis` (``diagnose``: the classic mistakes in a loss call, in words),
:mod:`~lossbook.data` (seeded data, the same on every CPU), :mod:`~lossbook.train` (a
deterministic training loop), :mod:`~lossbook.metrics` (classification and calibration
metrics), :mod:`~lossbook.plots` (house style and recurring figures),
:mod:`~lossbook.explore` (explorable figures), :mod:`~lossbook.compare` (side-by-side
tables), :mod:`~lossbook.bench` (timings),
:mod:`~lossbook.external` (other libraries' references), :mod:`~lossbook.notebooks`
(re-execute chapters).
"""

from lossbook import (bench, checks, compare, data, diagnosis, explore, external, functional,
                      metrics, modules, plots, train)
from lossbook._setup import setup
from lossbook.diagnosis import diagnose

__version__ = "0.1.0"

__all__ = ["bench", "checks", "compare", "data", "diagnose", "diagnosis", "explore", "external", "functional",
           "metrics", "modules", "plots", "setup", "train"]
