"""How a fault declares itself: its YAML ``type:``, what it may target, the parameters it takes,
which of them is its duration and how a plan words its heal. A pure module (no Docker, no network):
the loader, ``plan`` and ``schema`` read declarations only.

A fault is one module of ``chaos.faults``; its declaration sits next to its inject and heal, on
its class (``chaos.faults.base.Fault``), which registers both when the class is defined::

    class Pause(Fault):
        decl = FaultDecl(
            type="pause", targets=("service", "site"),
            params=(Param("duration_s", "duration", required=True, above=0, doc="..."),),
            duration="duration_s",  # healed this long after injection; None: at the end of the run
            doc="Freeze containers ...",
        )

        def inject(self) -> str: ...
        def heal(self) -> str: ...

``chaos.faults`` imports every module of its package, so the new module is all there is to add.
The loader (``chaos.loader``) checks every fault of an experiment against ``REGISTRY``: unknown
parameters, types, bounds and required ones, all at load time, before anything runs. Parameters
the file leaves out are filled with their defaults, so a fault reads ``spec.params["name"]``
without guessing.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from typing import Any, Mapping

from chaos.names import NAME_MAX, NAME_PATTERN, describe, name_problem  # noqa: F401  (Param uses them)

# The longest any duration may be (a week): past it, a figure is a typo, and 1e300 s is no timeout.
MAX_DURATION_S = 7 * 24 * 3600.0


KINDS = ("number", "int", "str", "bool", "duration")
TARGET_KINDS = ("site", "service", "link")

_EXPECTED = {
    "number": "a number",
    "int": "an integer",
    "str": "a string",
    "bool": "true or false",
    "duration": "a number of seconds",
}
_PYTHON_TYPES = {"number": (int, float), "int": int, "str": str, "bool": bool, "duration": (int, float)}
_JSON_TYPES = {"number": "number", "int": "integer", "str": "string", "bool": "boolean", "duration": "number"}


@dataclass(frozen=True)
class Param:
    """One parameter (or one scalar field of the experiment file) and its rules.

    ``kind`` is ``number`` (int or float, stored as float), ``int``, ``str``, ``bool`` or
    ``duration`` (a number of seconds, never negative, at most MAX_DURATION_S unless ``max`` says
    less). ``min`` and ``max`` are inclusive bounds; ``above`` is an exclusive lower bound
    (``above=0`` reads "> 0"). Every number has an upper bound. ``name`` (a noun, for a ``str``)
    makes the value a name (NAME_PATTERN, at most NAME_MAX characters). An optional parameter whose
    default is None also accepts an explicit ``null``.
    """

    name: str
    kind: str
    required: bool = False
    default: Any = None
    min: float | None = None
    max: float | None = None
    choices: tuple = ()
    doc: str = ""
    above: float | None = None
    names: str = ""  # for a str: the noun of the name it must be ("site"); empty: any string

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"param {self.name!r}: kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if self.required and self.default is not None:
            raise ValueError(f"param {self.name!r}: a required param has no default")

    @property
    def nullable(self) -> bool:
        """Whether ``null`` is a valid value (optional, and None is its default)."""
        return not self.required and self.default is None

    @property
    def floor(self) -> float | None:
        """The inclusive lower bound: ``min``, or 0 for a duration without one."""
        if self.min is None and self.kind == "duration" and self.above is None:
            return 0
        return self.min

    @property
    def ceiling(self) -> float | None:
        """The inclusive upper bound: ``max``, or MAX_DURATION_S for a duration without one."""
        if self.max is None and self.kind == "duration":
            return MAX_DURATION_S
        return self.max

    def validate(self, value: Any) -> Any:
        """``value`` converted to this kind's Python type; ValueError with a message for the user if invalid."""
        if value is None and self.nullable:
            return None
        self._check_type(value)
        self._check_bounds(value)
        if self.names and (problem := name_problem(value, self.names)):
            raise ValueError(problem)
        if self.choices and value not in self.choices:
            raise ValueError(_not_a_choice(value, self.choices))
        return float(value) if self.kind in ("number", "duration") else value

    def _check_type(self, value: Any) -> None:
        if not isinstance(value, _PYTHON_TYPES[self.kind]) or (isinstance(value, bool) and self.kind != "bool"):
            raise ValueError(f"expected {_EXPECTED[self.kind]}, got {describe(value)}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"expected a finite number, got {describe(value)}")

    def _check_bounds(self, value: Any) -> None:
        if self.kind in ("str", "bool"):
            return
        if self.floor is not None and value < self.floor:
            raise ValueError(f"must be >= {_bound(self.floor)}, got {describe(value)}")
        if self.above is not None and value <= self.above:
            raise ValueError(f"must be > {_bound(self.above)}, got {describe(value)}")
        if self.ceiling is not None and value > self.ceiling:
            raise ValueError(f"must be <= {_bound(self.ceiling)}, got {describe(value)}")

    def json_schema(self) -> dict[str, Any]:
        """This parameter as a JSON Schema (draft 2020-12) fragment."""
        schema: dict[str, Any] = {"type": _JSON_TYPES[self.kind]}
        if self.nullable:
            schema["type"] = [schema["type"], "null"]
        for key, bound in (("minimum", self.floor), ("exclusiveMinimum", self.above), ("maximum", self.ceiling)):
            if bound is not None:
                schema[key] = bound
        if self.names:
            schema["pattern"] = f"^{NAME_PATTERN}$"
            schema["maxLength"] = NAME_MAX
        if self.choices:
            schema["enum"] = list(self.choices)
        if self.default is not None:
            schema["default"] = self.default
        if self.doc:
            schema["description"] = self.doc
        return schema


def _bound(number: float) -> str:
    """A bound as a user would write it: 3600000, not 3.6e+06; 0.5 as 0.5."""
    return str(int(number)) if float(number).is_integer() and abs(number) < 1e16 else f"{number:g}"


def _not_a_choice(value: Any, choices: tuple) -> str:
    """The message for a value outside its choices, with a did-you-mean when one is close."""
    listed = ", ".join(str(c) for c in choices)
    message = f"{describe(value)} is not one of {listed}"
    close = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1)
    return f"{message}; did you mean {close[0]!r}?" if close else message


@dataclass(frozen=True)
class FaultDecl:
    """A fault's YAML ``type``, the target kinds it accepts (site, service, link), its parameters
    and how it is scheduled and worded.

    ``duration``: the parameter (of kind ``duration``) holding the seconds after injection when the
    fault is healed; None, or that parameter null: healed only when the load ends. ``heal_verb``:
    what a plan calls its heal ("rebuilt ..." for a site loss). ``needs_toxiproxy``: it acts on the
    stack's Toxiproxy, so the stack needs a ``toxiproxy_url``.
    """

    type: str
    targets: tuple[str, ...]
    params: tuple[Param, ...]
    doc: str = ""
    duration: str | None = None
    heal_verb: str = "healed"
    needs_toxiproxy: bool = False

    def __post_init__(self) -> None:
        unknown = set(self.targets) - set(TARGET_KINDS)
        if not self.targets or unknown:
            raise ValueError(f"fault {self.type!r}: targets must be among {', '.join(TARGET_KINDS)}")
        names = [p.name for p in self.params]
        if len(names) != len(set(names)) or {"type", "target", "at_s"} & set(names):
            raise ValueError(f"fault {self.type!r}: parameter names must be unique and not type/target/at_s")
        if self.duration is not None and self.duration not in {p.name for p in self.params if p.kind == "duration"}:
            raise ValueError(f"fault {self.type!r}: duration {self.duration!r} is not one of its duration parameters")

    def heal_after_s(self, params: Mapping[str, Any]) -> float | None:
        """Seconds after injection when a fault with ``params`` is healed; None: when the load ends."""
        return params.get(self.duration) if self.duration else None


REGISTRY: dict[str, FaultDecl] = {}


def register(decl: FaultDecl) -> FaultDecl:
    """Add ``decl`` to REGISTRY under its type; registering the same declaration twice is harmless."""
    known = REGISTRY.get(decl.type)
    if known is not None and known != decl:
        raise ValueError(f"fault type {decl.type!r} is already registered with another declaration")
    REGISTRY[decl.type] = decl
    return decl
