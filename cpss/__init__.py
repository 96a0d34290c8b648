"""cpss: the CPSS world and its adapter.

The Mesa model (users, crowd, context, environment, personalisers, f), the scenario base class,
the PettingZoo/Gymnasium adapter, metrics, config and the CLI.
"""
