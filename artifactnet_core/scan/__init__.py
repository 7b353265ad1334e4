"""Catalogue scans: ``artifactnet scan ROOT... --out results.parquet``.

A scan scores every audio file under its roots exactly as ``artifactnet detect`` does and writes
one row per file into a folder of Parquet shards, so that it survives being stopped:

- :mod:`~artifactnet_core.scan.shards`: the row schema (``detect``'s CSV columns plus model id and
  file hash), atomic shards, what an output already holds;
- :mod:`~artifactnet_core.scan.plan`: which files a run scores (roots, ``--shard i/n``, files
  already done, ``--limit``);
- :mod:`~artifactnet_core.scan.decode` (no torch) and :mod:`~artifactnet_core.scan.score`: the two
  halves of one file's detection, so that decoding can run in other processes or machines;
- :mod:`~artifactnet_core.scan.local`: decoder processes feeding the model on this machine;
- :mod:`~artifactnet_core.scan.ray_engine`: the same with Ray Data across a cluster;
- :mod:`~artifactnet_core.scan.cli`: the ``scan`` subcommand.

Needs the ``scan`` extra (``pip install artifactnet-core[scan]``: pyarrow, and Ray for
``--engine ray``). Importing this package imports nothing heavy.
"""
