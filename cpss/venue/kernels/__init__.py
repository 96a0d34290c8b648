"""Compiled (numba) kernels of the venue's tick.

:mod:`~cpss.venue.kernels.choice` (who decides, users' own choice), :mod:`~.movement` (arrivals,
walking, queues, crowd fields), :mod:`~.visits` (views and what guides learn), :mod:`~.guides`
(what guides know and recommend, acceptance) and :mod:`~.stats` (day metrics). Kernels draw no
random numbers: the model draws them in Python and passes them in.
"""
