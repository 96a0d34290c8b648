"""Every registered equation agrees across its numpy, numba and torch forms; parameters flow by name.

The test walks the registry (:data:`cpss.kit.equations.EQUATIONS`): a new equation, or a new
field with a default in a parameter record, is covered without editing this file.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import textwrap
import typing

import numpy as np
import pytest
import torch

import cpss
import scenarios
from cpss.kit.config import SensorConfig
from cpss.kit.context import SensorParams
from cpss.kit.equations import EQUATIONS, Domain, Equation
from cpss.venue import params as vp
from cpss.venue.config import VenueConfig


def _import_equation_modules() -> None:
    for package in (cpss, scenarios):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if info.name.rsplit(".", 1)[-1] in {"equations", "personalisation"}:
                importlib.import_module(info.name)


_import_equation_modules()
N_RANDOM = 200


def _draw(domain: Domain, rng: np.random.Generator, shift: int) -> np.ndarray:
    """Edge values first (each input rotates through its edges differently), then random values."""
    n_edge = 12
    edges = np.array([domain.edges[(i + shift) % len(domain.edges)] for i in range(n_edge)]) if domain.edges else None
    if domain.integer:
        rand = rng.integers(int(domain.low), int(domain.high) + 1, N_RANDOM).astype(float)
    else:
        rand = rng.uniform(domain.low, domain.high, N_RANDOM)
    if edges is None:
        return rand
    return np.concatenate([np.full(1, domain.edges[0]), edges, rand])


def _record(kind: type, rng: np.random.Generator | None) -> typing.Any:
    """A parameter record: the defaults, or each float field drawn in [0.5, 1.5] x its default."""
    values = {}
    for name, default in kind._field_defaults.items():  # type: ignore[attr-defined]
        if rng is not None and isinstance(default, float):
            values[name] = default * rng.uniform(0.5, 1.5) if default != 0.0 else rng.uniform(0.0, 1.0)
    return kind(**values)


def _cases(eq: Equation, seed: int) -> tuple[list[np.ndarray], list[typing.Any]]:
    rng = np.random.default_rng(seed)
    n = None
    columns = []
    for k, domain in enumerate(eq.inputs.values()):
        col = _draw(domain, rng, k)
        n = col.size if n is None else min(n, col.size)
        columns.append(col)
    columns = [c[:n] for c in columns]
    records = [_record(kind, None if seed == 0 else rng) for kind in eq.params]
    return columns, records


IDS = sorted(EQUATIONS)


def test_the_registry_holds_the_venue_equations():
    names = {eq.name for eq in EQUATIONS.values()}
    expected = {"user_term", "crowd_term", "social_proof", "crowding", "acceptance", "attention", "dwell_time"}
    expected |= {"expected_wait", "zone_noise", "choice_utility", "leave_value", "crowd_aware_score", "trust_update"}
    assert expected <= names, expected - names


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("key", IDS)
def test_numpy_numba_and_torch_forms_agree(key, seed):
    eq = EQUATIONS[key]
    columns, records = _cases(eq, seed)
    with np.errstate(all="ignore"):
        expected = np.broadcast_to(np.asarray(eq.numpy(*columns, *records), dtype=float), columns[0].shape)
    compiled = np.array([float(eq.compiled(*(c[i] for c in columns), *records)) for i in range(columns[0].size)])
    tensors = [torch.as_tensor(c, dtype=torch.float64) for c in columns]
    via_torch = eq.torch(*tensors, *records)
    via_torch = np.broadcast_to(torch.as_tensor(via_torch, dtype=torch.float64).numpy(), columns[0].shape)
    assert np.isfinite(expected).all(), f"{key}: non-finite values on its declared domain"
    np.testing.assert_allclose(compiled, expected, rtol=1e-12, atol=1e-12, err_msg=f"{key}: numba vs numpy")
    np.testing.assert_allclose(via_torch, expected, rtol=1e-12, atol=1e-12, err_msg=f"{key}: torch vs numpy")


def _fields_read(eq: Equation) -> list[tuple[int, str]]:
    """(record position, field) for every ``record.field`` the numpy form's own body reads."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(eq.numpy)))
    fn = tree.body[0]
    names = [a.arg for a in fn.args.args][-len(eq.params) :] if eq.params else []
    reads = {
        (names.index(node.value.id), node.attr)
        for node in ast.walk(fn)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in names
    }
    return sorted(reads)


@pytest.mark.parametrize("key", [k for k in IDS if EQUATIONS[k].params])
def test_every_field_an_equation_reads_moves_it(key):
    """Each ``record.field`` an equation reads changes its value somewhere on its domain (no dead reads)."""
    eq = EQUATIONS[key]
    columns, records = _cases(eq, 1)
    base = np.asarray(eq.numpy(*columns, *records), dtype=float)
    reads = _fields_read(eq)
    for r, name in reads:
        bumped = list(records)
        bumped[r] = records[r]._replace(**{name: getattr(records[r], name) * 1.3 + 0.1})
        moved = np.asarray(eq.numpy(*columns, *bumped), dtype=float)
        assert not np.allclose(moved, base), f"{key}: {type(records[r]).__name__}.{name} does not change it"


def _config_fields() -> list[tuple[str, str]]:
    out = []
    for family_name, family in typing.get_type_hints(vp.VenueParams).items():
        for field in family._fields:
            if field not in vp.CONSTANTS:
                out.append((family_name, field))
    return out


def _config_with(section: str, key: str) -> VenueConfig:
    """The default config with ``section.key`` moved to the first other value its validation accepts."""
    raw = VenueConfig().model_dump()
    old = raw[section][key]
    for value in (old * 0.5, old * 1.5 + 0.25, 0.25, 0.75):
        if value != old:
            raw[section][key] = value
            try:
                return VenueConfig.model_validate(raw)
            except ValueError:
                continue
    raise AssertionError(f"{section}.{key}: no other valid value found")


@pytest.mark.parametrize(("family", "field"), _config_fields())
def test_each_parameter_is_read_from_its_own_config_key(family, field):
    """Changing one config key changes exactly the parameter of the same name, in every family."""
    base = vp.venue_params(VenueConfig())
    if field in vp.RENAMED:
        section, key = vp.RENAMED[field]
    else:
        kind = typing.get_type_hints(vp.VenueParams)[family]
        (section,) = [s for s in vp.SOURCES[kind] if field in type(getattr(VenueConfig(), s)).model_fields]
        key = field
    changed = vp.venue_params(_config_with(section, key))
    diffs = [
        (fam, name)
        for fam in vp.VenueParams._fields
        for name in getattr(base, fam)._fields
        if getattr(getattr(base, fam), name) != getattr(getattr(changed, fam), name)
    ]
    assert diffs == [(family, field)]


def test_a_field_in_no_config_section_is_an_error():
    class Stray(typing.NamedTuple):
        not_a_config_key: float = 1.0

    vp.SOURCES[Stray] = ("crowd",)
    try:
        with pytest.raises(TypeError, match=r"Stray\.not_a_config_key"):
            vp.read(Stray, VenueConfig())
    finally:
        del vp.SOURCES[Stray]


def test_sensor_keys_reach_their_fields():
    base = SensorParams.of(SensorConfig())
    for name in SensorParams._fields:
        changed = SensorParams.of(SensorConfig(**{name: getattr(SensorConfig(), name) * 0.5}))
        assert [f for f in SensorParams._fields if getattr(changed, f) != getattr(base, f)] == [name]


def test_register_refuses_domains_that_do_not_match_the_signature():
    from cpss.kit.equations import UNIT, register

    def rule(a, b, p):
        return a + b

    def rule_torch(a, c, p):
        return a + c

    with pytest.raises(TypeError, match="must name the inputs"):
        register(rule, params=(SensorParams,), a=UNIT, c=UNIT)
    with pytest.raises(TypeError, match="signature must be"):
        register(rule, rule_torch, params=(SensorParams,), a=UNIT, b=UNIT)
