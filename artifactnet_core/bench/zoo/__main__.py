"""``python -m artifactnet_core.bench.zoo``: see :func:`artifactnet_core.bench.zoo.main`."""

from artifactnet_core.bench.zoo import main

raise SystemExit(main())
