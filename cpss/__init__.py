"""cpss: the CPSS world, its engines and the application around them.

Four layers, imported one way only (top to bottom; ``[tool.importlinter]`` in pyproject.toml):

* :mod:`cpss.runs` and :mod:`cpss.viz` — the application: the ``cpss`` command line, training,
  sweeps, reports, batched studies, the dashboard app;
* ``scenarios`` (a sibling package) — each scenario's hooks, world, observations, batched env
  and dashboard page;
* :mod:`cpss.batched` over :mod:`cpss.venue` — the engines: the batched torch days over the
  numpy/numba venue world (its equations in :mod:`cpss.venue.equations`);
* :mod:`cpss.kit` — the world kit: config, model base, scenario base, the PettingZoo adapter,
  ``f`` (:mod:`cpss.kit.personalisation`), the equation registry, context, statistics.
"""
