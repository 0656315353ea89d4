"""Where SE blocks go in any CNN, read from its ``torch.fx`` graph (PAPER.md section 2; Sec. 3.3, Fig. 2-3).

The graph is traced once (``symbolic_trace`` semantics, eval mode), shapes are propagated on the meta
device (no memory, no compute), and every *merge* is classified by its operands:

- a residual addition (two operands of one shape): SE on the residual branch, just before the addition
  (SE-ResNet, Fig. 3), past any layer scale, stochastic depth or dropout; ``placement="post"``: after the
  addition and the activation that follows it (SE-POST, Table 14);
- a concatenation of independent branches (an Inception module): SE on the concatenated output (SE-Inception,
  Fig. 2);
- a concatenation that holds earlier features (a DenseNet layer): SE on the new features before the merge,
  as on a residual branch;
- outside merges, a depthwise conv followed by a pointwise one: SE after the pointwise projection's unit
  (SE-MobileNet); in a network with none of the above (a plain stack): SE after each conv's unit, i.e.
  after its BN and non-linearity (SE-VGG-16).

A place whose block already holds a squeeze-and-excitation gate (a product of a feature map with a gate
computed from its own global pooling: MobileNetV3, EfficientNet, RegNetY) is skipped and reported.
"""

from __future__ import annotations

import contextlib
import math
import operator
import warnings
from dataclasses import dataclass

import torch
import torch.fx
from torch import nn

from ..errors import SenetError
from .points import SEPoint, matches

_ADDS = {operator.add, operator.iadd, torch.add, "add", "add_"}
_MULS = {operator.mul, operator.imul, torch.mul, "mul", "mul_"}
_CATS = {torch.cat, torch.concat}
# Layers that end a conv's unit (its normalisation and non-linearity) and pass-through layers on a branch.
_UNIT = (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.ReLU, nn.ReLU6, nn.SiLU, nn.GELU, nn.Hardswish,
         nn.LeakyReLU, nn.PReLU, nn.ELU, nn.Mish, nn.Tanh, nn.Sigmoid)  # fmt: skip
_UNIT_FN = {torch.relu, torch.nn.functional.relu, torch.nn.functional.relu6, torch.nn.functional.silu,
            torch.nn.functional.gelu, torch.nn.functional.hardswish, torch.sigmoid, "relu", "relu_"}  # fmt: skip
_PASS = (nn.Dropout, nn.Dropout2d, nn.Identity)


@dataclass
class Site:
    """One place for an SE block: the node whose output it recalibrates and the modules returning it."""

    node: torch.fx.Node
    kind: str  # residual | post | dense | multi-branch | separable | plain
    hosts: list[str]  # module paths whose call returns ``node``, innermost first
    channels: int
    stage: int
    skip: str | None = None  # why no block goes here (an SE gate already in the block)


class _Tracer(torch.fx.Tracer):
    """``symbolic_trace``'s tracer that also records which module calls return which node."""

    def __init__(self):
        super().__init__()
        self.returned: dict[torch.fx.Node, list[str]] = {}

    def call_module(self, m, forward, args, kwargs):
        out = super().call_module(m, forward, args, kwargs)
        if isinstance(out, torch.fx.Proxy):
            self.returned.setdefault(out.node, []).append(self.path_of_module(m))
        return out


@contextlib.contextmanager
def _eval_mode(model: nn.Module):
    """Every module in eval mode (train-only branches such as Inception's auxiliary heads are not part of
    the blocks), then each back to its own mode."""
    modes = {m: m.training for m in model.modules()}
    model.eval()
    try:
        yield
    finally:
        for m, t in modes.items():
            m.training = t


def _first_line(e: Exception) -> str:
    text = str(e).strip()
    return text.splitlines()[0][:160] if text else type(e).__name__


def trace(model: nn.Module, input_size: int = 224) -> tuple[torch.fx.Graph, _Tracer]:
    """The eval-mode graph of ``model`` with shapes (``node.meta["shape"]``), or a one-line SenetError."""
    name = type(model).__name__
    tracer = _Tracer()
    with _eval_mode(model):
        try:
            graph = tracer.trace(model)
        except Exception as e:  # noqa: BLE001  (fx raises many kinds; the user needs the reason in one line)
            raise SenetError(
                f"add_se cannot trace {name} with torch.fx ({_first_line(e)}); make its forward traceable "
                "(no data-dependent control flow) or give add_se the traceable part, e.g. model.features"
            ) from None
        _shapes(model, graph, input_size, name)
    return graph, tracer


def _in_chans(model: nn.Module) -> int:
    conv = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
    if conv is None:
        raise SenetError(f"add_se: {type(model).__name__} has no nn.Conv2d; SE blocks go into CNNs")
    return conv.in_channels


def _shapes(model: nn.Module, graph: torch.fx.Graph, size: int, name: str) -> None:
    """Each node's output shape (``node.meta["shape"]``), from a run on the meta device: no memory, no
    compute (DESIGN.md: build big models on meta for counting); the weights are swapped in, not copied."""
    from torch.fx.passes.shape_prop import ShapeProp
    from torch.nn.utils.stateless import _reparametrize_module

    gm = torch.fx.GraphModule(model, graph)
    tensors = {**dict(gm.named_parameters()), **dict(gm.named_buffers())}
    meta = {k: torch.empty_like(v, device="meta") for k, v in tensors.items()}
    gm.eval()
    try:
        with _reparametrize_module(gm, meta), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = next(iter(meta.values()), torch.empty(0, device="meta"))
            x = torch.empty(1, _in_chans(model), size, size, device="meta", dtype=ref.dtype)
            ShapeProp(gm).propagate(x)
    except SenetError:
        raise
    except Exception as e:  # noqa: BLE001
        raise SenetError(f"add_se cannot run {name} on a {size}x{size} input ({_first_line(e)})") from None
    for n in graph.nodes:
        tm = n.meta.get("tensor_meta")
        n.meta["shape"] = tuple(tm.shape) if hasattr(tm, "shape") else None


def _shape(n) -> tuple | None:
    return n.meta.get("shape") if isinstance(n, torch.fx.Node) else None


def _is4d(n) -> bool:
    s = _shape(n)
    return s is not None and len(s) == 4


def _is(n: torch.fx.Node, targets) -> bool:
    return n.op in ("call_function", "call_method") and n.target in targets


class _Graph:
    """The graph's nodes with ancestor bitsets (bit i = node i), for merges and the blocks between them."""

    def __init__(self, model: nn.Module, graph: torch.fx.Graph):
        self.model, self.nodes = model, list(graph.nodes)
        self.index = {n: i for i, n in enumerate(self.nodes)}
        self.anc: dict[torch.fx.Node, int] = {}
        for n in self.nodes:
            bits = 0
            for a in n.all_input_nodes:
                bits |= self.anc[a] | (1 << self.index[a])
            self.anc[n] = bits

    def ancself(self, n) -> int:
        return self.anc[n] | (1 << self.index[n])

    def module(self, n) -> nn.Module | None:
        return self.model.get_submodule(n.target) if n.op == "call_module" else None

    def fork(self, operands) -> torch.fx.Node | None:
        """The latest node that every operand derives from (the block's input)."""
        common = -1
        for o in operands:
            common &= self.ancself(o)
        return self.nodes[common.bit_length() - 1] if common > 0 else None

    def is_gate(self, n) -> bool:
        """``x * s`` with ``s`` (N, C, 1, 1) computed from ``x`` itself: an SE (or SE-like) gate."""
        if not _is(n, _MULS) or len(n.args) != 2 or not all(isinstance(a, torch.fx.Node) for a in n.args):
            return False
        for x, s in (n.args, n.args[::-1]):
            sx, ss = _shape(x), _shape(s)
            if sx and ss and len(sx) == len(ss) == 4 and ss[2:] == (1, 1) and sx[2:] != (1, 1):
                if self.anc[s] >> self.index[x] & 1:
                    return True
        return False


def _branch_end(g: _Graph, n: torch.fx.Node) -> torch.fx.Node:
    """Walk back from a branch operand over layer scale, stochastic depth and dropout to its last layer."""
    while len(n.users) == 1:
        m = g.module(n)
        if isinstance(m, _PASS) or (n.op == "call_function" and n.target.__name__ == "stochastic_depth"):
            nxt = n.args[0]
        elif _is(n, _MULS) and sum(isinstance(a, torch.fx.Node) and _is4d(a) for a in n.args) == 1:
            others = [a for a in n.args if not (isinstance(a, torch.fx.Node) and _is4d(a))]
            if not all(not isinstance(a, torch.fx.Node) or a.op == "get_attr" for a in others):
                break  # a product with something computed: not a constant scale
            nxt = next(a for a in n.args if isinstance(a, torch.fx.Node) and _is4d(a))
        else:
            break
        if not isinstance(nxt, torch.fx.Node):
            break
        n = nxt
    return n


def _unit_end(g: _Graph, n: torch.fx.Node) -> torch.fx.Node:
    """A conv's unit: the conv, then its normalisation and non-linearity while each has one user."""
    while len(n.users) == 1:
        (u,) = n.users
        if isinstance(g.module(u), _UNIT) or _is(u, _UNIT_FN):
            n = u
        else:
            break
    return n


def _merges(g: _Graph) -> list[tuple[str, torch.fx.Node, list]]:
    """(kind, merge node, operands) for every residual addition and channel concatenation."""
    out = []
    for n in g.nodes:
        args = [a for a in n.args if isinstance(a, torch.fx.Node)]
        if _is(n, _ADDS) and len(args) == 2 and _is4d(args[0]) and _shape(args[0]) == _shape(args[1]):
            out.append(("add", n, args))
        elif _is(n, _CATS) and _is4d(n) and (n.args[1:] or [n.kwargs.get("dim", 0)])[0] in (1, -3):
            ops = [a for a in n.args[0] if isinstance(a, torch.fx.Node)]
            if len(ops) >= 2:
                out.append(("cat", n, ops))
    return out


def _merge_sites(g: _Graph, placement: str) -> tuple[list[tuple[str, torch.fx.Node]], int, list]:
    """The SE places the merges give, the bitset of nodes inside merged blocks, and the joins."""
    sites, inside, joins, regions = [], 0, [], {}
    merges = [(kind, n, ops, g.fork(ops)) for kind, n, ops in _merges(g)]
    merges = [m for m in merges if m[3] is not None]
    for _, n, _, fork in merges:
        regions[n] = g.anc[n] & ~g.ancself(fork)
        inside |= regions[n]
    for kind, n, ops, fork in merges:
        joins.append(n)
        if kind == "add":
            a, b = ops
            branch = a if (g.anc[a] >> g.index[b] & 1) else b if (g.anc[b] >> g.index[a] & 1) else None
            if branch is None:  # a projection shortcut: the branch is the longer path from the fork
                depth = [bin(g.anc[o] & ~g.ancself(fork)).count("1") for o in ops]
                branch = ops[depth.index(max(depth))]
            if placement == "post":
                after = _unit_end(g, n)
                sites.append(("post", after))
            else:
                sites.append(("residual", _branch_end(g, branch)))
        else:
            dense = [o for o in ops if any(g.anc[p] >> g.index[o] & 1 for p in ops if p is not o)]
            if not dense:  # an Inception module, unless it is a split branch inside one (InceptionE)
                if not any(r >> g.index[n] & 1 for j, r in regions.items() if j is not n):
                    sites.append(("multi-branch", n))
            else:  # the new features: operands no other operand derives from
                sites += [("dense", o) for o in ops if o not in dense and o not in (s for _, s in sites)]
    return sites, inside, joins


def _conv(g: _Graph, n) -> nn.Conv2d | None:
    m = g.module(n)
    return m if isinstance(m, nn.Conv2d) else None


def _feeding_conv(g: _Graph, n) -> nn.Conv2d | None:
    """The conv whose unit feeds ``n`` along its main input, past SE gates (MobileNetV3's)."""
    n = n.args[0] if n.args and isinstance(n.args[0], torch.fx.Node) else None
    while n is not None and _conv(g, n) is None:
        if g.is_gate(n):
            n = next(a for a in n.args if _shape(a)[2:] != (1, 1))
        elif isinstance(g.module(n), _UNIT) or _is(n, _UNIT_FN):
            n = n.args[0] if isinstance(n.args[0], torch.fx.Node) else None
        else:
            return None
    return _conv(g, n) if n is not None else None


def _trunk_sites(g: _Graph, inside: int) -> list[tuple[str, torch.fx.Node]]:
    """Conv units outside merged blocks: ("separable", pointwise unit end) or ("plain", unit end)."""
    out = []
    for n in g.nodes:
        conv = _conv(g, n)
        if conv is None or (inside >> g.index[n] & 1) or not _is4d(n) or _shape(n)[2:] == (1, 1):
            continue  # in a merged block, or a 1x1 map (an SE block's own FCs, a conv classifier)
        depthwise = conv.groups > 1 and conv.groups == conv.in_channels
        if depthwise:
            continue
        before = _feeding_conv(g, n)
        dw_before = before is not None and before.groups > 1 and before.groups == before.in_channels
        pointwise = conv.kernel_size == (1, 1) and dw_before
        out.append(("separable" if pointwise else "plain", _unit_end(g, n)))
    return out


def find_sites(model: nn.Module, placement: str = "standard", input_size: int = 224) -> list[Site]:
    """Every place the paper's scheme puts an SE block in ``model``, in graph order (see the module doc)."""
    graph, tracer = trace(model, input_size)
    g = _Graph(model, graph)
    merged, inside, joins = _merge_sites(g, placement)
    trunk = _trunk_sites(g, inside)
    chosen = merged + [s for s in trunk if s[0] == "separable"]
    if not chosen:
        chosen = [s for s in trunk if s[0] == "plain"]
    seen, ordered = set(), []
    for kind, n in sorted(chosen, key=lambda s: g.index[s[1]]):
        if n not in seen and _is4d(n):
            seen.add(n)
            ordered.append((kind, n))
    gate_nodes = [n for n in g.nodes if g.is_gate(n)]
    gates = sum(1 << g.index[n] for n in gate_nodes)
    gated = {a: n for n in gate_nodes for a in n.args if _shape(a)[2:] != (1, 1)}  # x of x * s
    bounds = {n for n in g.nodes if n.op == "placeholder"} | set(joins) | seen
    sites = []
    for kind, n in ordered:
        # the block before ``n``: back to the latest merge or other site (not the addition ``n`` follows)
        prior = [b for b in bounds if g.anc[n] >> g.index[b] & 1 and _unit_end(g, b) is not n]
        last = max(prior, key=g.index.get) if prior else None
        segment = g.ancself(n) & ~(g.ancself(last) if last is not None else 0)
        c, h = _shape(n)[1], _shape(n)[2]
        site = Site(n, kind, tracer.returned.get(n, []), c, round(math.log2(input_size / h)))
        if segment & gates or n in gated:  # a gate in its block, or one right after it
            gate = gated.get(n) or next(x for x in gate_nodes if (segment >> g.index[x]) & 1)
            site.skip = f"its block already has an SE gate ({_where(gate)})"
        sites.append(site)
    return sites


def _where(n: torch.fx.Node) -> str:
    """The module path a node was traced in (its name at the top level)."""
    stack = n.meta.get("nn_module_stack") or {}
    return next(reversed(stack.values()))[0] if stack else n.name


def add_by_graph(model: nn.Module, cfg, patterns) -> tuple[list, list]:
    """Insert ``cfg``'s SE blocks at the graph's places (``where`` patterns, ``stages``); nothing changes on
    error. Returns the inserted :class:`~senet.retrofit.points.SEPoint` rows and the skipped (path, reason) pairs.

    The hidden width is C/r, rounded down (at least 1) where r does not divide C (MobileNetV2's 24 channels).
    """
    from .hosts import attach, choose

    name = type(model).__name__
    if not any(isinstance(m, nn.Conv2d) for m in model.modules()):
        raise SenetError(f"add_se cannot handle {name}: it has no nn.Conv2d, and SE blocks go into CNNs")
    sites = find_sites(model, cfg.placement)
    if not sites:
        raise SenetError(
            f"add_se finds no place for SE in {name}: no residual addition, concatenation or conv unit "
            "with a 4-D output"
        )
    placed = [(site, choose(model, site.hosts)) for site in sites]
    for site, host in placed:  # a place asked for that no submodule returns alone: refuse, do not guess
        if host is None and site.skip is None and patterns is None and cfg.in_stage(site.stage):
            raise SenetError(
                f"add_se cannot attach SE after {site.node.name} in {name}: no submodule returns "
                "that tensor alone; wrap the block in its own nn.Module, or leave it out with where="
            )
    cfg.check(("standard", "post"), sorted({s.stage for s in sites}))
    skipped = [(h[1] if h else s.node.name, s.skip) for s, h in placed if s.skip]
    chosen = [
        (s, h) for s, h in placed if h and not s.skip and cfg.in_stage(s.stage) and matches(h[1], patterns)
    ]
    if not chosen:
        if skipped and all(s.skip for s in sites):
            raise SenetError(
                f"{name} already has SE blocks in every place add_se would use ({len(skipped)}, e.g. "
                f"{skipped[0][0]!r}: {skipped[0][1]}); nothing to add"
            )
        hosts = [h[1] for s, h in placed if h and not s.skip]
        asked = [f"where={list(patterns)}"] if patterns else []
        asked += [f"stages={cfg.stages}"] if cfg.stages is not None else []
        raise SenetError(
            f"{' and '.join(asked) or 'the options'} match none of {name}'s {len(hosts)} SE places "
            f"(e.g. {hosts[:3]}); format_se_points(add_se(model)) lists them"
        )
    ref = next(model.parameters())
    blocks = [cfg.block(s.channels, max(1, s.channels // cfg.reduction)) for s, _ in chosen]
    points = []
    for (site, (way, path)), se in zip(chosen, blocks):
        se = se.to(device=ref.device, dtype=ref.dtype)
        where = attach(model, way, path, se)
        points.append(SEPoint(where, site.kind, site.channels, se.hidden, site.stage, cfg.bias))
    return points, skipped
