"""The application layer: the ``cpss`` command line and the jobs it runs.

:mod:`~cpss.runs.cli` (the Typer app) over :mod:`~cpss.runs.simulation` (heuristic and learner
runs), :mod:`~cpss.runs.training` (native training), :mod:`~cpss.runs.rllib` (RLlib backend),
:mod:`~cpss.runs.learners` (trained policies of either backend),
:mod:`~cpss.runs.sweep` and :mod:`~cpss.runs.report` (experiments), :mod:`~cpss.runs.batch`
(paired days on the batched engine), :mod:`~cpss.runs.bandits` (bandit comparisons),
:mod:`~cpss.runs.runio` (atomic run folders) and :mod:`~cpss.runs.backends` (process pools, Ray).
"""
