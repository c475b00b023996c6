"""The option catalogue and the prescribing rule data, read from TOML files.

The data lives beside this module (`options.toml`, `dose_rules.toml`) so that a
service can review every option, product and threshold with its source. This
module only reads and checks those files; the rules that use them are in
`careplans.rules.medication`.

Options a service cannot provide locally are still returned, with
`available_locally=False`: they are still discussed with the client, and choosing
one records an unmet need.
"""

from __future__ import annotations

import copy
import tomllib
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

from careplans.vocab import SUBSTANCES

__all__ = [
    "KINDS",
    "QS23_CATEGORIES",
    "SEVERITIES",
    "CatalogueError",
    "Option",
    "Product",
    "load_dose_rules",
    "load_frequencies",
    "load_options",
    "load_supervision_modes",
    "option_by_code",
    "options_for_substances",
    "product_by_code",
]

_HERE = Path(__file__).parent
OPTIONS_FILE = _HERE / "options.toml"
DOSE_RULES_FILE = _HERE / "dose_rules.toml"

KINDS = frozenset({"medication", "support"})
QS23_CATEGORIES = frozenset({"harm_reduction", "maintenance", "detoxification", "abstinence"})
SEVERITIES = frozenset({"error", "warning", "suggestion"})


class CatalogueError(ValueError):
    """A catalogue or rule file is malformed, or a code given to the loader is unknown."""


@dataclass(frozen=True)
class Product:
    code: str
    option_code: str
    name: str
    form: str
    route: str
    strengths: tuple[str, ...]
    """Strengths as printed on the pack, for people to read."""
    strengths_mg: tuple[float, ...]
    """Numeric strengths; only binding when `dose_must_be_a_strength`."""
    dose_must_be_a_strength: bool
    frequencies: tuple[str, ...]
    controlled_drug_schedule: int | None
    professional_administration_only: bool
    home_office_licence_required: bool
    notes: str
    source: str


@dataclass(frozen=True)
class Option:
    code: str
    name: str
    kind: str
    plain_description: str
    qs23_category: str | None
    source: str
    opioid: bool = False
    products: tuple[Product, ...] = ()
    available_locally: bool = True
    substances: tuple[str, ...] = SUBSTANCES.codes
    """What the option is for; every substance when the catalogue names none."""

    def is_for(self, substances: Iterable[str]) -> bool:
        return bool(set(self.substances) & set(substances))


def _require(table: dict[str, Any], key: str, where: str) -> Any:
    value = table.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise CatalogueError(f"{where}: '{key}' is missing or empty")
    return value


def _read_toml(path: Path) -> dict[str, Any]:
    with path.open("rb") as fh:
        return tomllib.load(fh)


@lru_cache(maxsize=1)
def _options_data() -> dict[str, Any]:
    data = _read_toml(OPTIONS_FILE)
    for section in ("frequencies", "supervision"):
        for code, entry in data.get(section, {}).items():
            _require(entry, "name", f"{section}.{code}")
            _require(entry, "source", f"{section}.{code}")
    _require(data.get("local_availability", {}), "source", "local_availability")
    return data


def _parse_product(raw: dict[str, Any], option_code: str, frequencies: dict[str, Any]) -> Product:
    where = f"product {raw.get('code', '?')} of option {option_code}"
    product = Product(
        code=_require(raw, "code", where),
        option_code=option_code,
        name=_require(raw, "name", where),
        form=_require(raw, "form", where),
        route=_require(raw, "route", where),
        strengths=tuple(raw.get("strengths", ())),
        strengths_mg=tuple(float(s) for s in raw.get("strengths_mg", ())),
        dose_must_be_a_strength=bool(raw.get("dose_must_be_a_strength", False)),
        frequencies=tuple(_require(raw, "frequencies", where)),
        controlled_drug_schedule=raw.get("controlled_drug_schedule"),
        professional_administration_only=bool(raw.get("professional_administration_only", False)),
        home_office_licence_required=bool(raw.get("home_office_licence_required", False)),
        notes=raw.get("notes", ""),
        source=_require(raw, "source", where),
    )
    unknown = set(product.frequencies) - set(frequencies)
    if unknown:
        raise CatalogueError(f"{where}: unknown frequencies {sorted(unknown)}")
    if product.dose_must_be_a_strength and not product.strengths_mg:
        raise CatalogueError(f"{where}: dose_must_be_a_strength needs strengths_mg")
    return product


@lru_cache(maxsize=1)
def _all_options() -> tuple[Option, ...]:
    data = _options_data()
    frequencies = data.get("frequencies", {})
    options: list[Option] = []
    seen_options: set[str] = set()
    seen_products: set[str] = set()
    for raw in data.get("options", []):
        where = f"option {raw.get('code', '?')}"
        code = _require(raw, "code", where)
        kind = _require(raw, "kind", where)
        if kind not in KINDS:
            raise CatalogueError(f"{where}: kind must be one of {sorted(KINDS)}, not {kind!r}")
        qs23 = raw.get("qs23_category")
        if qs23 is not None and qs23 not in QS23_CATEGORIES:
            raise CatalogueError(f"{where}: qs23_category {qs23!r} is not a QS23 category")
        products = tuple(_parse_product(p, code, frequencies) for p in raw.get("products", ()))
        if kind == "medication" and not products:
            raise CatalogueError(f"{where}: a medication option needs at least one product")
        if kind == "support" and products:
            raise CatalogueError(f"{where}: a support option has no products")
        substances = tuple(raw.get("substances", SUBSTANCES.codes))
        unknown_substances = set(substances) - set(SUBSTANCES.codes)
        if unknown_substances or not substances:
            raise CatalogueError(f"{where}: substances must be some of {list(SUBSTANCES.codes)}, "
                                 f"not {sorted(unknown_substances)}")
        if code in seen_options:
            raise CatalogueError(f"{where}: duplicate option code")
        seen_options.add(code)
        for product in products:
            if product.code in seen_products:
                raise CatalogueError(f"product {product.code}: duplicate product code")
            seen_products.add(product.code)
        options.append(
            Option(
                code=code,
                name=_require(raw, "name", where),
                kind=kind,
                plain_description=_require(raw, "plain_description", where),
                qs23_category=qs23,
                source=_require(raw, "source", where),
                opioid=bool(raw.get("opioid", False)),
                products=products,
                substances=substances,
            )
        )
    return tuple(options)


@lru_cache(maxsize=32)
def _options_with_availability(unavailable: frozenset[str]) -> tuple[Option, ...]:
    options = _all_options()
    from_file = frozenset(_options_data().get("local_availability", {}).get("unavailable", ()))
    marked = unavailable | from_file
    unknown = marked - {o.code for o in options}
    if unknown:
        raise CatalogueError(f"unknown option codes marked unavailable: {sorted(unknown)}")
    return tuple(replace(o, available_locally=o.code not in marked) for o in options)


def load_options(unavailable: Iterable[str] = frozenset()) -> list[Option]:
    """Every option in catalogue order.

    `unavailable` holds codes of options this service cannot provide locally; they
    are combined with `[local_availability] unavailable` in options.toml. Those
    options are still returned, with `available_locally=False`. An unknown code
    raises CatalogueError, so that a typing error does not silently hide nothing.
    """
    return list(_options_with_availability(frozenset(unavailable)))


def option_by_code(code: str, unavailable: Iterable[str] = frozenset()) -> Option | None:
    """The option with this code, or None if the catalogue has no such option."""
    for option in _options_with_availability(frozenset(unavailable)):
        if option.code == code:
            return option
    return None


def options_for_substances(substances: Iterable[str], unavailable: Iterable[str] = frozenset()
                           ) -> tuple[list[Option], list[Option]]:
    """(options for these substances, every other option), each in catalogue order. With no
    substances chosen yet, every option is in the first list."""
    chosen = set(substances)
    first: list[Option] = []
    rest: list[Option] = []
    for option in load_options(unavailable):
        (first if not chosen or option.is_for(chosen) else rest).append(option)
    return first, rest


@lru_cache(maxsize=1)
def _products() -> dict[str, Product]:
    return {p.code: p for o in _all_options() for p in o.products}


def product_by_code(code: str) -> Product | None:
    """The product with this code, or None if the catalogue has no such product."""
    return _products().get(code)


def load_frequencies() -> dict[str, dict[str, Any]]:
    """Frequency code -> {"name", "times_per_day"?, "source"}."""
    return copy.deepcopy(_options_data().get("frequencies", {}))


def load_supervision_modes() -> dict[str, dict[str, Any]]:
    """Supervision code -> {"name", "description", "source"}."""
    return copy.deepcopy(_options_data().get("supervision", {}))


@lru_cache(maxsize=1)
def _dose_rules() -> dict[str, Any]:
    data = _read_toml(DOSE_RULES_FILE)
    option_codes = {o.code for o in _all_options()}
    for code, rule in data.get("rules", {}).items():
        where = f"rule {code}"
        severity = _require(rule, "severity", where)
        if severity not in SEVERITIES:
            raise CatalogueError(f"{where}: severity must be one of {sorted(SEVERITIES)}")
        if not isinstance(rule.get("check"), bool):
            raise CatalogueError(f"{where}: 'check' must be true or false")
        # DOMAIN.md: a fact from a secondary or non-UK source is a warning a
        # clinician can acknowledge, never a hard block.
        if rule["check"] and severity == "error":
            raise CatalogueError(f"{where}: a [check] fact can never be an error")
        for key in ("description", "message", "source"):
            _require(rule, key, where)
        applies_to = _require(rule, "applies_to", where)
        unknown = set(applies_to) - option_codes - {"*"}
        if unknown:
            raise CatalogueError(f"{where}: applies_to names unknown options {sorted(unknown)}")
    products = _products()
    for code, ceiling in data.get("ceilings", {}).items():
        if code not in products:
            raise CatalogueError(f"ceiling for unknown product {code}")
        _require(ceiling, "max_daily_mg", f"ceiling {code}")
        _require(ceiling, "source", f"ceiling {code}")
    _require(data.get("buvidal_conversion", {}), "source", "buvidal_conversion")
    _require(data.get("co_use", {}), "source", "co_use")
    return data


def load_dose_rules() -> dict[str, Any]:
    """The parsed and checked dose_rules.toml (a copy: changing it changes nothing)."""
    return copy.deepcopy(_dose_rules())
