"""Quality and speed of cxml on real data: ``python benchmarks/run.py TASK`` (see ``run.py``).

Not installed with cxml: the modules import cxml as a user does and each other as ``benchmarks``.
"""
