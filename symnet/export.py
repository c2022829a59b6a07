"""``symnet.export``: a trained network as a standalone C function — no Python, no symnet, any LLVM target.

The model's forward pass is traced as ``predict`` traces it (batch dimension symbolic unless a fixed ``batch``
is asked for), lowered and simplified by the pipeline, and handed to ``codegen.export``, which writes an object
file, a static or a shared library, and one C header (``<name>.h``: the entry point, shapes, dtype, versions
and the workspace size) — or to ``codegen.c_source``, which writes the same loop nests as readable C99
(``<name>.c``) behind the same entry point and header. Weights are constants inside the code, or a small
documented binary file (``weights="file"``) so the code can be shipped once and the weights updated apart.

>>> report = sn.export(model, "build/digits", input_shape=(8, 8))          # doctest: +SKIP
>>> print(report)                                                           # doctest: +SKIP
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import pipeline
from .core import ir, lazy
from .errors import NotSupportedError
from .frontend.batch import batch_trace, same_structure
from .frontend.creation import RandomKey
from .frontend.sampling import get_rng_state, set_rng_state
from .frontend.tensor import Tensor
from .frontend.trace import Traced, trace
from .nn.module import Module, buffer_updates
from .train import CompiledStep
from .version import __version__

if TYPE_CHECKING:
    import argparse  # the CLI's (cli.py imports it): not for a program that only exports

# the exporters (SymPy's printers, LLVM's emission): imported when something is exported
native = lazy.module("codegen.export")
c_printer = lazy.module("codegen.c_source")

FORMATS = ("object", "static", "shared", "c")
SUFFIXES = {"object": ".o", "static": ".a", "shared": ".so", "c": ".c"}


@dataclass
class ExportReport:
    """What ``export`` wrote: each artifact's path and size in bytes, the C names and the target."""

    name: str
    target: str
    cpu: str
    paths: dict[str, Path] = field(default_factory=dict)

    @property
    def sizes(self) -> dict[str, int]:
        return {kind: path.stat().st_size for kind, path in self.paths.items()}

    def __str__(self) -> str:
        rows = [f"{self.name} for {self.target} (cpu {self.cpu}):"]
        rows += [f"  {kind:8s} {size:9,d} B  {self.paths[kind]}" for kind, size in self.sizes.items()]
        return "\n".join(rows)


def forward_program(model: Module, input_shape: tuple[int, ...], name: str, batch: int | None = None,
                    dtype=None) -> native.Program:
    """The model's forward pass on a batch of ``input_shape`` samples as an exportable program: lower →
    simplify, the batch dimension symbolic unless ``batch`` fixes it, every input but the batch a weight
    (parameters, buffers, constants the model holds) with its value now."""
    if batch is not None and (not isinstance(batch, int) or isinstance(batch, bool) or batch < 1):
        raise ValueError(f"export: batch must be a positive int or None (any batch at run time), got {batch!r}")
    if dtype is None:
        dtype = next((p.dtype for p in model.parameters()), np.dtype(np.float32))
    dtype = np.dtype(dtype)
    sample = tuple(int(d) for d in input_shape)
    if any(d < 0 for d in sample):
        raise ValueError(f"export: input_shape {input_shape} has a negative size")
    x, out, traced = _traced_forward(model, (batch or 2, *sample), dtype)
    if batch is None and not _one_program(model, x, traced, dtype):
        raise NotSupportedError("export: the model's forward takes the batch size as a number (len(x), "
                                "2 * x.size(0), a fill value, a loop over the rows), so one program cannot serve "
                                "every batch size; export with a fixed batch=…")
    leaves = [traced.tensors[p] for p in traced.leaves]
    if any(isinstance(t, RandomKey) for t in leaves):
        raise NotSupportedError("export: the model draws random numbers (dropout in training mode); call "
                                "model.eval() before exporting")
    specs = traced.specs
    if batch is None:
        specs = tuple(s._replace(shape=(ir.BATCH, *s.shape[1:])) if t is x else s
                      for s, t in zip(specs, traced.tensors, strict=True))
    prog = pipeline.lower(specs, (traced.position(out),))
    graph = pipeline.simplify(prog.graph, frozenset({"X"})).prune()
    labels = {id(t): key for key, t in [*model.named_parameters(), *model.named_buffers()]}
    value_of = {prog.names[p]: (t, v) for p, t, v in zip(traced.leaves, leaves, traced.leaf_values(), strict=True)}
    tensors = graph.tensors()
    ports = {t.name: native.Port(t.name, t.shape, t.dtype) for t in graph.inputs}
    if "X" not in ports:
        raise NotSupportedError("export: the model's output does not depend on its input")
    weights = [native.Port(t.name, t.shape, t.dtype, labels.get(id(value_of[t.name][0]), t.name))
               for t in graph.inputs if t.name != "X"]
    values = native.values_by_port(weights, {w.name: value_of[w.name][1] for w in weights})
    output = tensors[graph.outputs[0]]
    if batch is None and (not output.shape or output.shape[0] != ir.BATCH):
        fixed = next((d for d in graph.defs if d.shape and d.shape[0] == 2), output)
        raise NotSupportedError(f"export: the output's batch dimension is fixed at the trace ({fixed.name} has "
                                f"shape {fixed.shape}); export with a fixed batch=…")
    return native.Program(graph, name, (ports["X"],), native.Port(output.name, output.shape, output.dtype),
                          tuple(weights), values, batch)


def _traced_forward(model: Module, shape: tuple[int, ...], dtype: np.dtype) -> tuple[Tensor, Tensor, Traced]:
    """The model's forward traced on zeros of ``shape`` (the batch first): the input, the output and the trace."""
    x = Tensor(np.zeros(shape, dtype), shape, dtype, name="X")
    model.name_parameters()
    with buffer_updates(), batch_trace(x, state=[*model.parameters(), *model.buffers()]):
        out = model(x)
    if not isinstance(out, Tensor):
        raise NotSupportedError(f"export: the model returns {type(out).__name__}; one output tensor is exported")
    return x, out, trace([out])


def _one_program(model: Module, x: Tensor, traced: Traced, dtype: np.dtype) -> bool:
    """Whether the forward traced on ``x`` makes the same program on a batch one row longer
    (``frontend.batch.same_structure``); a forward that fails there does not."""
    state = get_rng_state()
    try:
        longer, _, other = _traced_forward(model, (x.shape[0] + 1, *x.shape[1:]), dtype)
    except Exception:  # noqa: BLE001 - any failure on another size ties the program to this one
        return False
    finally:
        set_rng_state(state)
    return same_structure(traced, {id(x)}, other, {id(longer)})


def _compiled_step(step: CompiledStep, x, y) -> tuple:
    """The step's executable (its graph and plan) for this batch's shapes and its inputs before the next step;
    refused when the step serves one batch size (its forward takes the size as a number), as an exported step
    takes any. (CompiledStep has no public door to these yet: the lead's ``CompiledStep.native_program`` should
    be it.)"""
    xb, yb = step._batch(x, "x"), step._batch(y, "y")
    if step._use_step(xb, yb):
        raise NotSupportedError("export: the step's forward takes the batch size as a number (len(x), "
                                "2 * x.size(0), a fill value, a loop over the rows): its program serves one batch "
                                "size, and an exported step takes any")
    return step._step, step._inputs(0, xb._array(), yb._array())


def step_program(step: CompiledStep, x, y, name: str, batch: int | None = None) -> native.Program:
    """The compiled training step (forward, backward, the optimizer's update) as an exportable program: its
    graph and its driver's plan (one step per call), the batch and the learning rates from the caller, every
    other input (parameters, optimizer state, step count, buffers) a state tensor with its value now."""
    if batch is not None:
        raise NotSupportedError("export: a training step takes any batch size at run time; leave batch=None")
    executable, inputs = _compiled_step(step, x, y)
    graph, plan = executable.graph, executable.plan
    x_input, y_input = plan.gathers
    labels = {p.name: key for key, p in step.model.named_parameters()}  # the parameters' inputs bear their names
    ports = {t.name: native.Port(t.name, t.shape, t.dtype, labels.get(t.name, t.name)) for t in graph.inputs}
    caller = {x_input.name, y_input.name, *(t.name for t in plan.series)}
    state = tuple(ports[t.name] for t in graph.inputs if t.name not in caller)
    values = dict(zip([t.name for t in graph.inputs], inputs, strict=True))
    loss = plan.record[0]
    return native.Program(graph, name, (ports[x_input.name], ports[y_input.name]),
                          native.Port(loss.name, loss.shape, loss.dtype), state, native.values_by_port(state, values),
                          None, plan, tuple(ports[t.name] for t in plan.series))


def _c_name(path: Path) -> str:
    name = re.sub(r"\W", "_", path.name)
    return f"_{name}" if name[:1].isdigit() or not name else name


def export(model: Module | CompiledStep, path: str | Path, input_shape: tuple[int, ...] | None = None, *,
           formats: tuple[str, ...] | str = ("object",), weights: str = "embed", batch: int | None = None,
           target: str | None = None, cpu: str = "generic", features: str = "", name: str | None = None,
           dtype=None, training: tuple | None = None) -> ExportReport:
    """Write the model's forward pass as native artifacts for ``target`` (an LLVM triple; None: this machine)
    beside ``path`` (a stem: ``build/digits`` → ``build/digits.o``, ``.a``, ``.so``, ``.c``, ``.h``, ``.weights``).

    ``input_shape``: one sample's shape; ``formats``: any of "object", "static", "shared", "c" (readable C99
    source of the same kernels, for any C compiler; the header is always written); ``weights``: "embed"
    (constants in the code) or "file"; ``batch``: a fixed batch size, or None for any at run time; ``cpu``:
    "generic" (no instruction the triple's baseline lacks), a CPU name, or "native" (this machine's).
    ``training=(x, y)``, with a CompiledStep: the whole training step instead (an example batch gives the shapes;
    its state — parameters, optimizer state, step count — goes to ``<path>.state``). Every file is written whole
    or not at all (temporary file, then rename)."""
    if training is not None:
        if not isinstance(model, CompiledStep):
            raise TypeError(f"export: training=(x, y) exports a CompiledStep's training step, got "
                            f"{type(model).__name__}")
        weights = "file"
    elif isinstance(model, CompiledStep):
        model = model.model
    if not isinstance(model, (Module, CompiledStep)):
        raise TypeError(f"export: expected a Module or a CompiledStep, got {type(model).__name__}")
    if training is None and input_shape is None:
        raise TypeError("export: input_shape (one sample's shape) is required to export a forward pass")
    formats = (formats,) if isinstance(formats, str) else tuple(formats)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ValueError(f"export: formats must be some of {', '.join(FORMATS)}, got {formats!r}")
    if weights not in ("embed", "file"):
        raise ValueError(f"export: weights must be 'embed' or 'file', got {weights!r}")
    path = Path(path)
    if path.suffix in (*SUFFIXES.values(), ".h", ".weights"):
        path = path.with_suffix("")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"export: the folder {path.parent} does not exist")
    machine = native.machine(target, cpu, features)
    if training is not None:
        program = step_program(model, *training, name or _c_name(path), batch)
    else:
        program = forward_program(model, input_shape, name or _c_name(path), batch, dtype)
    embed = weights == "embed"
    header = path.with_name(path.name + ".h")
    obj = native.compile_object(program, machine, embed) if set(formats) - {"c"} else None  # C source alone
    report = ExportReport(program.name, machine.triple, machine.cpu)
    for kind in formats:
        out = path.with_name(("lib" if kind in ("static", "shared") else "") + path.name + SUFFIXES[kind])
        if kind == "object":
            native.write_atomically(out, obj)
        elif kind == "static":
            native.archive(obj, out, f"{program.name}.o")
        elif kind == "shared":
            native.link_shared(obj, out, machine)
        else:
            native.write_atomically(out, c_printer.c_source(program, embed, __version__, header.name).encode())
        report.paths[kind] = out
    native.write_atomically(header, native.c_header(program, embed, machine, __version__).encode())
    report.paths["header"] = header
    if not embed:
        weights_path = path.with_name(path.name + (".state" if training is not None else ".weights"))
        native.write_atomically(weights_path, native.weights_file(program.values, program.fingerprint))
        report.paths["state" if training is not None else "weights"] = weights_path
    return report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``symnet export`` arguments."""
    parser.add_argument("file", metavar="FILE", help="a Python file that defines model() returning the Module to "
                        "export (trained: load its state inside, e.g. from sn.load)")
    parser.add_argument("output", metavar="OUTPUT", help="the artifacts' stem: build/digits writes build/digits.o, "
                        "build/digits.h, …")
    parser.add_argument("--input-shape", required=True, metavar="D,D,…",
                        help="one sample's shape, without the batch: 8,8 or 64")
    parser.add_argument("--format", action="append", choices=FORMATS, dest="formats",
                        help="object (default), static, shared or c (readable C99 source); repeat it for several")
    parser.add_argument("--weights", choices=("embed", "file"), default="embed",
                        help="constants in the code (default) or a separate weights file")
    parser.add_argument("--batch", type=int, help="a fixed batch size (default: any, chosen at run time)")
    parser.add_argument("--target", help="an LLVM target triple (default: this machine's), e.g. "
                        "aarch64-unknown-linux-gnu, thumbv7em-none-eabi, wasm32-unknown-unknown")
    parser.add_argument("--cpu", default="generic", help="a CPU of the target, or native (default: generic)")
    parser.add_argument("--name", help="the C prefix (default: the output's file name)")


def export_command(args: argparse.Namespace) -> str:
    """``symnet export FILE OUTPUT --input-shape …``: load the file's ``model()``, export it, and return the
    report to print. A user's mistake is a ``ValueError`` (or ``FileNotFoundError``) whose message is one line."""
    try:
        shape = tuple(int(d) for d in args.input_shape.split(",") if d.strip())
    except ValueError:
        raise ValueError(f"--input-shape must be integers separated by commas, got {args.input_shape!r}") from None
    path = Path(args.file)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    spec = importlib.util.spec_from_file_location(f"symnet_export_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not callable(getattr(module, "model", None)):
        raise ValueError(f"{path} defines no model() returning the Module to export")
    report = export(module.model(), args.output, shape, formats=tuple(args.formats or ("object",)),
                    weights=args.weights, batch=args.batch, target=args.target, cpu=args.cpu, name=args.name)
    return str(report)
