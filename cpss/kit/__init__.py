"""The world kit: what every scenario builds on.

Config base classes (:mod:`~cpss.kit.config`), the Mesa model base and its clock
(:mod:`~cpss.kit.model`), the scenario base class (:mod:`~cpss.kit.scenario`), the one
PettingZoo/Gymnasium adapter (:mod:`~cpss.kit.env`), the personalisation function ``f``
(:mod:`~cpss.kit.personalisation`), context and sensors (:mod:`~cpss.kit.context`), floor plans
(:mod:`~cpss.kit.floorplan`), plotting (:mod:`~cpss.kit.render`), statistics
(:mod:`~cpss.kit.stats`), the equation registry (:mod:`~cpss.kit.equations`), compiled kernels
(:mod:`~cpss.kit.jit`) and the dashboard base the scenario pages build on
(:mod:`~cpss.kit.dashboard`, :mod:`~cpss.kit.widgets`). The kit imports no scenario, no learner
and no application module.
"""
