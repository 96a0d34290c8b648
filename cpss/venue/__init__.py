"""The venue world: users visit items on a floor plan, guides recommend, the crowd interferes.

:mod:`~cpss.venue.model` is the Mesa model (``VenueModel``); its per-user state lives in numpy
arrays (:mod:`~cpss.venue.users`, :mod:`~cpss.venue.guides`) and a tick runs the compiled
kernels of :mod:`cpss.venue.kernels`. Every equation of the venue is written once per form in
:mod:`~cpss.venue.equations` (numpy/numba beside torch), reading the named parameter records of
:mod:`~cpss.venue.params`. The museum scenario (``scenarios/museum``) is built on it.
"""
