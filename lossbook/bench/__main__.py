"""``python -m lossbook.bench``: see :func:`lossbook.bench.record.main`."""

from lossbook.bench.record import main

raise SystemExit(main())
