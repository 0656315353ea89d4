"""Where ``add_se`` puts SE blocks: the rows it records (:class:`SEPoint`) and the ``where=`` patterns
that choose the hosts. Shared by the block swap (:mod:`senet.retrofit.insert`) and the graph path
(:mod:`senet.retrofit.graph`), which import it; it imports neither.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from torch import nn

from ..errors import SenetError


@dataclass(frozen=True)
class SEPoint:
    """Where ``add_se`` put one SE block: its module path, what the graph showed there, its widths."""

    path: str  # the block's module path: its keys are ``<path>.fc1.weight`` ...
    kind: str  # residual | post | dense | multi-branch | separable | plain (senet.retrofit.graph)
    channels: int  # C
    hidden: int  # C/r (Eq. 3)
    stage: int | None  # log2 of the output stride: conv2_x..conv5_x = 2..5 as in the paper's ResNets
    bias: bool = True

    @property
    def params(self) -> int:
        """2 C hidden, plus hidden + C with biases (Sec. 3.2: 2C^2/r)."""
        return 2 * self.channels * self.hidden + (self.hidden + self.channels if self.bias else 0)


def se_points(model: nn.Module) -> tuple[SEPoint, ...]:
    """The blocks ``add_se`` inserted into ``model`` (empty for a model it did not touch)."""
    return tuple(getattr(model, "se_points", ()) or ())


def format_se_points(model_or_points) -> str:
    """A text table of the inserted blocks (module path, kind, stage, C, C/r, parameters) and skips."""
    points = se_points(model_or_points) if isinstance(model_or_points, nn.Module) else model_or_points
    skipped = getattr(model_or_points, "se_skipped", ()) if isinstance(model_or_points, nn.Module) else ()
    rows = [("module", "kind", "stage", "C", "C/r", "params")]
    rows += [(p.path, p.kind, str(p.stage), str(p.channels), str(p.hidden), f"{p.params:,}") for p in points]
    width = [max(len(r[i]) for r in rows) for i in range(6)]
    lines = [
        "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, width))) for r in rows
    ]
    lines.append(f"{len(points)} SE blocks, {sum(p.params for p in points):,} parameters")
    lines += [f"skipped {path}: {why}" for path, why in skipped]
    return "\n".join(lines)


def patterns(where) -> tuple[str, ...] | None:
    if where is None:
        return None
    items = (where,) if isinstance(where, str) else where
    try:
        items = tuple(items)
    except TypeError:
        items = None
    if not items or not all(isinstance(p, str) and p for p in items):
        raise SenetError(
            f"where= takes module-name patterns such as 'features.*' or ['layer3.*'], got {where!r}"
        )
    return items


def matches(path: str, patterns: tuple[str, ...] | None) -> bool:
    """Whether a block's host path matches one of ``where``'s patterns (None: every host)."""
    return patterns is None or any(fnmatch.fnmatchcase(path, p) for p in patterns)
