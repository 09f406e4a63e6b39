"""lossbook: the helper package of the book on PyTorch losses for binary classification.

Every chapter starts with::

    import lossbook as lb
    lb.setup()

Modules: :mod:`~lossbook.functional` (reference losses written from their formulas),
:mod:`~lossbook.checks` (input validation with explanatory errors), :mod:`~lossbook.data`
(seeded data), :mod:`~lossbook.plots` (house style and recurring figures),
:mod:`~lossbook.compare` (side-by-side tables), :mod:`~lossbook.train` (a deterministic
training loop), :mod:`~lossbook.notebooks` (re-execute chapters).
"""

from lossbook import (bench, checks, compare, data, diagnosis, functional, metrics, modules,
                      plots, train)
from lossbook._setup import setup
from lossbook.diagnosis import diagnose

__version__ = "0.1.0"

__all__ = ["bench", "checks", "compare", "data", "diagnose", "diagnosis", "functional",
           "metrics", "modules", "plots", "setup", "train"]
