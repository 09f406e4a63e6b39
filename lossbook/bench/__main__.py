"""``python -m lossbook.bench``: see :func:`lossbook.bench.main`."""

from lossbook.bench import main

raise SystemExit(main())
