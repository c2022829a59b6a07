"""L-BFGS with PyTorch 2.13's algorithm and numbers (torch/optim/lbfgs.py), its two-loop recursion compiled.

The search direction is ``d = −H·g``, H the inverse Hessian that the last m curvature pairs (sᵢ, yᵢ) imply. The
two-loop recursion is stated once, in ``BACKWARD_LOOP`` and ``FORWARD_LOOP``: rows ``target ← expression`` over
element symbols, a ``sum`` row being a dot product over the flattened parameters. The same rows print as
``formulas()`` and become two IR programs that the native driver (``Repeat``) runs once per pair in one call,
gathering row i of the stacked history S, Y (m × n) and reading ρᵢ, αᵢ, cᵢ as series: one program per loop and
(n, dtype) whatever m is. The line search and the stopping tests are control flow on a few scalars and stay in
Python, as in PyTorch. Scalars PyTorch keeps as 0-d tensors are NumPy scalars of the flat dtype here, and its
Python floats stay Python floats, so float32 runs round, compare and promote as PyTorch's do.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable

import numpy as np

from .. import backend
from ..core.cache import BoundedCache
from ..core.ir import Def, Graph, Input, Repeat, access, fresh_indices
from ..core.lazy import sympy as sp
from ..frontend.tensor import Tensor
from ..pipeline import compile_graph
from .optimizer import Optimizer, element

p, q, r, d, t = (element(n) for n in ("p", "q", "r", "d", "t"))
s, y, rho, alpha, beta, c = (element(n) for n in ("sᵢ", "yᵢ", "ρᵢ", "αᵢ", "βᵢ", "cᵢ"))
sq, yr = element("(sᵢ·q)"), element("(yᵢ·r)")
#: a curvature pair's rows, gathered from the history at each iteration of a loop
ROWS = (s, y)
#: (target, expression, combine); ``sum`` reduces over the n elements. q and r are vectors; ρ, α (backward loop's
#: output, forward loop's input) and c (H₀ = yₖ·sₖ / yₖ·yₖ for the oldest pair, where the forward loop starts, 1
#: for the others) are per-pair scalars.
BACKWARD_LOOP = ((sq, s * q, "sum"), (alpha, rho * sq, "assign"), (q, q - alpha * y, "assign"))
FORWARD_LOOP = ((r, c * r, "assign"), (yr, y * r, "sum"), (beta, rho * yr, "assign"),
                (r, r + s * (alpha - beta), "assign"))
UPDATE = ((p, p + t * d),)
#: the names the programs' tensors take (ASCII: they name native buffers)
NAMES = {q: "q", r: "r", s: "s", y: "y", rho: "rho", alpha: "alpha", beta: "beta", c: "c", sq: "s_q", yr: "y_r"}

_PROGRAMS = BoundedCache("LBFGS two-loop programs", limit=32)


def _loop_program(loop: tuple, n: int, dtype: np.dtype) -> tuple[backend.Executable, list[sp.Symbol]]:
    """One loop of the recursion as a graph the driver runs once per pair: the vector it carries (q or r, the
    last row's target) is fed back, s and y are gathered rows, the pair scalars it reads but does not assign are
    series inputs (returned in order), and its scalar assignments (α, β) are recorded."""
    carried = loop[-1][0]
    (j,) = fresh_indices([n])
    assigned = {target for target, _, _ in loop}
    read_scalars = set().union(*(e.free_symbols for _, e, _ in loop)) - assigned - set(ROWS)
    series = [v for v in (rho, alpha, c) if v in read_scalars]
    state = Input("carried", (n,), dtype)
    rows = {v: Input(f"{NAMES[v]}_row", (1, n), dtype) for v in ROWS}
    inputs = {v: Input(f"{NAMES[v]}_i", (), dtype) for v in series}
    reads = {carried: access(state.name, (j,)), **{v: access(x.name, (0, j)) for v, x in rows.items()},
             **{v: access(x.name, ()) for v, x in inputs.items()}}
    defs = []
    for k, (target, expr, combine) in enumerate(loop):
        vector = target in (q, r)
        new = Def(f"{NAMES[target]}{k}", (n,) if vector else (), dtype,
                  ((j, n),) if vector or combine == "sum" else (), (j,) if vector else (), expr.xreplace(reads),
                  combine, label=f"LBFGS {target}")
        defs.append(new)
        reads[target] = access(new.name, (j,) if vector else ())
    graph = Graph([state, *rows.values(), *inputs.values()], defs, [defs[-1].name])
    recorded = tuple(x for x in defs if x.combine == "assign" and not x.shape)
    plan = Repeat(((defs[-1], state),), record=recorded, gathers=tuple(rows.values()), series=tuple(inputs.values()))
    return compile_graph(graph, plan), series


def _program(loop: tuple, n: int, dtype: np.dtype) -> tuple[backend.Executable, list[sp.Symbol]]:
    return _PROGRAMS.get_or_build((loop, n, dtype.str, backend.name()), lambda: _loop_program(loop, n, dtype))


def two_loop(g: np.ndarray, S: np.ndarray, Y: np.ndarray, rhos: np.ndarray,
             h_diag) -> tuple[np.ndarray, np.ndarray]:
    """The direction d = −H·g from the stacked pairs S, Y (m × n, oldest first) and ρᵢ = 1/(yᵢ·sᵢ), with
    H₀ = ``h_diag``, and the αᵢ of the first loop: two native calls of m iterations each."""
    m, n = S.shape
    order = np.arange(m, dtype=np.int64)
    starts = np.arange(m + 1, dtype=np.int64)
    values = {rho: rhos}
    backward_loop, series = _program(BACKWARD_LOOP, n, g.dtype)
    carried = g.copy()
    records = backward_loop.repeat([carried, None, None, *(None for _ in series)], m, (S, Y), order[::-1].copy(),
                                   starts, [values[v][::-1] for v in series])
    values[alpha] = records[::-1, 0]
    values[c] = np.ones(m, dtype=g.dtype)
    values[c][0] = h_diag
    forward_loop, series = _program(FORWARD_LOOP, n, g.dtype)
    forward_loop.repeat([carried, None, None, *(None for _ in series)], m, (S, Y), order, starts,
                        [values[v] for v in series])
    return np.negative(carried), values[alpha]


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimizer of the cubic through (x1, f1, g1) and (x2, f2, g2), clamped to ``bounds`` (PyTorch's)."""
    xmin_bound, xmax_bound = bounds if bounds is not None else ((x1, x2) if x1 <= x2 else (x2, x1))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1**2 - g1 * g2
    if d2_square >= 0:
        d2 = np.sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def _strong_wolfe(obj_func, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """A step t meeting the strong Wolfe conditions along d: bracketing, then zoom by cubic interpolation
    (PyTorch's ``_strong_wolfe``, after minFunc's lswolfe). Returns (f, g, t, evaluations)."""
    d_norm = np.abs(d).max()
    f_new, g_new = obj_func(t, d)
    ls_func_evals = 1
    gtd_new = g_new.dot(d)
    # bracket an interval containing a point satisfying the Wolfe criteria
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f, bracket_g, bracket_gtd = [t_prev, t], [f_prev, f_new], [g_prev, g_new], [gtd_prev,
                                                                                                         gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f, bracket_g, bracket_gtd = [t_prev, t], [f_prev, f_new], [g_prev, g_new], [gtd_prev,
                                                                                                         gtd_new]
            break
        # interpolate
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new, gtd_new
        f_new, g_new = obj_func(t, d)
        ls_func_evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
    if ls_iter == max_ls:
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]

    # zoom: refine the bracket until a point satisfies the criteria
    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1])
        # a t close to an end of the bracket twice in a row, or outside it, moves to 0.1 of its length inside
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                t = max(bracket) - eps if abs(t - max(bracket)) < abs(t - min(bracket)) else min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False
        f_new, g_new = obj_func(t, d)
        ls_func_evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            # Armijo condition not satisfied or not lower than the lowest point
            bracket[high_pos], bracket_f[high_pos], bracket_g[high_pos] = t, f_new, g_new
            bracket_gtd[high_pos] = gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                # the old high becomes the new low
                bracket[high_pos], bracket_f[high_pos] = bracket[low_pos], bracket_f[low_pos]
                bracket_g[high_pos], bracket_gtd[high_pos] = bracket_g[low_pos], bracket_gtd[low_pos]
            bracket[low_pos], bracket_f[low_pos], bracket_g[low_pos] = t, f_new, g_new
            bracket_gtd[low_pos] = gtd_new
    return bracket_f[low_pos], bracket_g[low_pos], bracket[low_pos], ls_func_evals


class LBFGS(Optimizer):
    """L-BFGS (PyTorch's ``torch.optim.LBFGS``): every ``step(closure)`` runs up to ``max_iter`` iterations of
    the two-loop recursion, each moving by ``lr`` along d or by a strong-Wolfe line search's step.

    >>> w = sn.tensor([1.5, -0.5], dtype=sn.float64, requires_grad=True)          # doctest: +SKIP
    >>> opt = LBFGS([w], line_search_fn="strong_wolfe")                          # doctest: +SKIP
    >>> def closure():                                                           # doctest: +SKIP
    ...     opt.zero_grad(); loss = ((w - 1) ** 2).sum(); loss.backward(); return loss
    >>> opt.step(closure)                                                        # doctest: +SKIP
    """

    #: the loss is evaluated several times per step: ``sn.compile`` cannot fuse it into one native step
    needs_closure = True

    def __init__(self, params: Iterable[Tensor], lr: float = 1, max_iter: int = 20, max_eval: int | None = None,
                 tolerance_grad: float = 1e-7, tolerance_change: float = 1e-9, history_size: int = 100,
                 line_search_fn: str | None = None):
        if isinstance(lr, Tensor):
            if lr.numel() != 1:
                raise ValueError("Tensor lr must be 1-element")
            lr = lr.item()
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        # PyTorch accepts these and then fails inside step (IndexError, UnboundLocalError): refused here instead
        if history_size < 1:
            raise ValueError(f"Invalid history_size: {history_size} (LBFGS keeps at least one curvature pair)")
        if line_search_fn == "strong_wolfe" and max_eval < 1:
            raise ValueError(f"Invalid max_eval: {max_eval} (the line search needs at least one evaluation)")
        super().__init__(params, dict(lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
                                      tolerance_change=tolerance_change, history_size=history_size,
                                      line_search_fn=line_search_fn))
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]
        #: PyTorch keeps LBFGS's global state under its first parameter (the base class keys state by id)
        self._key = id(self._params[0])
        #: the flat vectors' dtype: the parameters' promoted one, as ``torch.cat`` of their gradients
        self._dtype = np.result_type(*(x.dtype for x in self._params))

    def __setstate__(self, kept: dict) -> None:
        super().__setstate__(kept)
        self._key = id(self._params[0])  # a copy's first parameter

    # ---------------------------------------------------------------- the rule, printed
    def rule(self, group: dict | None = None) -> list[tuple[sp.Symbol, sp.Expr]]:
        """The elementwise part: the move along the direction (d and t come from the recursion and the search)."""
        return list(UPDATE)

    def formulas(self) -> str:
        """The two-loop recursion over the flattened gradient g and the last m pairs, then the move."""
        def line(target, expr, combine="assign", indent="    "):
            text = sp.sstr(expr, order="none").replace("*", "·")
            return f"{indent}{target} ← {'Σ ' if combine == 'sum' else ''}{text}"

        h = self.param_groups[0]
        search = "a strong-Wolfe line search's step" if h["line_search_fn"] == "strong_wolfe" else "lr"
        return "\n".join([
            "LBFGS: at iteration k, with the flattened gradient g and the last m curvature pairs "
            "sᵢ = t·dᵢ, yᵢ = gᵢ₊₁ − gᵢ (kept when yᵢ·sᵢ > 1e-10; at most history_size), ρᵢ = 1/(yᵢ·sᵢ)",
            "  q ← g",
            "  for i = k−1 … k−m:", *(line(*row) for row in BACKWARD_LOOP),
            "  r ← q;  cᵢ = H₀ = (yₖ₋₁·sₖ₋₁)/(yₖ₋₁·yₖ₋₁) for the oldest pair (i = k−m), 1 for the others",
            "  for i = k−m … k−1:", *(line(*row) for row in FORWARD_LOOP),
            "  d ← −r   (at the first iteration d ← −g and t ← min(1, 1/Σ|g|)·lr)",
            *(f"{line(target, expr, indent='  ')}   (t = {search})" for target, expr in self.rule(h)),
        ])

    # ---------------------------------------------------------------- flat views of the parameters
    def _gather_flat_grad(self) -> np.ndarray:
        return np.concatenate([np.zeros(x.numel(), self._dtype) if x.grad is None else
                               x.grad._array().reshape(-1).astype(self._dtype, copy=False) for x in self._params])

    def _add_grad(self, step_size, update: np.ndarray) -> None:
        """p ← p + t·d for every parameter's slice of d, in the flat dtype (PyTorch's ``add_(alpha=t)``)."""
        offset = 0
        for x in self._params:
            piece = update[offset:offset + x.numel()].reshape(x.shape)
            x._update(np.asarray(x._array() + step_size * piece, dtype=x.dtype))  # an array for a 0-d parameter too
            offset += x.numel()

    def _directional_evaluate(self, closure: Callable, x: list[np.ndarray], step_size, direction: np.ndarray):
        self._add_grad(step_size, direction)
        loss = float(closure())
        flat_grad = self._gather_flat_grad()
        for param, value in zip(self._params, x, strict=True):
            param._update(np.array(value, dtype=param.dtype))
        return loss, flat_grad

    # ---------------------------------------------------------------- PyTorch's API
    def step(self, closure: Callable | None = None):
        """Up to ``max_iter`` iterations; ``closure`` re-evaluates the model, calls ``backward`` and returns the
        loss. Returns the loss of the first evaluation, as PyTorch does."""
        if closure is None:
            raise TypeError("LBFGS.step() needs a closure that clears the gradients, re-evaluates the loss, calls "
                            "backward() and returns the loss (optimizer.step(closure))")
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        line_search_fn, history_size = group["line_search_fn"], group["history_size"]

        state = self._states.setdefault(self._key, {})
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = closure()
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1
        flat_grad = self._gather_flat_grad()
        if not flat_grad.size:
            raise RuntimeError("max(): Expected reduction dim to be specified for input.numel() == 0. Specify the "
                               "reduction dim with the 'dim' argument.")
        opt_cond = np.abs(flat_grad).max() <= tolerance_grad
        if opt_cond:
            return orig_loss

        d, t = state.get("d"), state.get("t")
        old_dirs, old_stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        h_diag, prev_flat_grad, prev_loss = state.get("H_diag"), state.get("prev_flat_grad"), state.get("prev_loss")
        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            # the direction
            if state["n_iter"] == 1:
                d = np.negative(flat_grad)
                old_dirs, old_stps, ro, h_diag = [], [], [], 1
            else:
                y_k = flat_grad - prev_flat_grad
                s_k = d * t
                ys = y_k.dot(s_k)
                if ys > 1e-10:
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y_k)
                    old_stps.append(s_k)
                    ro.append(1.0 / ys)
                    h_diag = ys / y_k.dot(y_k)
                al = state.setdefault("al", [None] * history_size)
                if old_dirs:
                    d, alphas = two_loop(flat_grad, np.stack(old_stps), np.stack(old_dirs), np.array(ro, self._dtype),
                                         h_diag)
                    al[:len(alphas)] = (np.negative(a) for a in alphas.astype(self._dtype))  # PyTorch's sign: q = −g
                else:
                    d = np.negative(flat_grad) * h_diag
            prev_flat_grad = flat_grad.copy()
            prev_loss = loss

            # the step length
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / np.abs(flat_grad).sum()) * lr
            else:
                t = lr
            gtd = flat_grad.dot(d)
            if gtd > -tolerance_change:
                break

            ls_func_evals = 0
            if line_search_fn is not None:
                if line_search_fn != "strong_wolfe":
                    raise RuntimeError("only 'strong_wolfe' is supported")
                x_init = [x._array().copy() for x in self._params]

                def obj_func(step_size, direction, x_init=x_init):
                    return self._directional_evaluate(closure, x_init, step_size, direction)

                loss, flat_grad, t, ls_func_evals = _strong_wolfe(obj_func, t, d, loss, flat_grad, gtd,
                                                                  max_ls=max_eval - current_evals)
                self._add_grad(t, d)
                opt_cond = np.abs(flat_grad).max() <= tolerance_grad
            else:
                self._add_grad(t, d)
                if n_iter != max_iter:
                    # no re-evaluation after the last iteration (in a stochastic setting it would be wasted)
                    loss = float(closure())
                    flat_grad = self._gather_flat_grad()
                    opt_cond = np.abs(flat_grad).max() <= tolerance_grad
                    ls_func_evals = 1
            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals

            # the stopping tests
            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            if np.abs(d * t).max() <= tolerance_change:  # lack of progress
                break
            if abs(loss - prev_loss) < tolerance_change:
                break

        state.update(d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=h_diag,
                     prev_flat_grad=prev_flat_grad, prev_loss=prev_loss)
        return orig_loss

    def state_dict(self) -> dict:
        """PyTorch's layout, the global state under parameter 0. The pairs are stacked (``old_dirs``,
        ``old_stps``: m × n arrays, ``ro``: m values; PyTorch keeps lists) so that ``sn.save`` stores them. A
        copy: later steps do not change it."""
        packed = super().state_dict()
        state = copy.deepcopy(self._states.get(self._key, {}))
        if "old_dirs" in state:
            n = sum(x.numel() for x in self._params)
            for k in ("old_dirs", "old_stps"):
                state[k] = np.stack(state[k]) if state[k] else np.zeros((0, n), self._dtype)
            state["ro"] = np.array(state["ro"], self._dtype)
        if "al" in state:
            state["al"] = [None if a is None else float(a) for a in state["al"]]
        packed["state"] = {0: state} if state else {}
        return packed

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what ``state_dict`` returned (also through ``sn.save``/``sn.load``), from this optimizer or one
        over parameters of the same sizes; the groups are checked and restored by the base class."""
        saved = copy.deepcopy(state_dict.get("state", {}).get(0, {}))
        n, scalar = sum(x.numel() for x in self._params), self._dtype.type
        vectors = [np.shape(saved[k]) for k in ("d", "prev_flat_grad") if saved.get(k) is not None]
        vectors += [np.shape(saved[k])[1:] for k in ("old_dirs", "old_stps") if k in saved]
        if any(shape != (n,) for shape in vectors):
            raise ValueError(f"loaded LBFGS state holds vectors of another size than the parameters' {n} elements")
        for k in ("d", "prev_flat_grad"):
            if saved.get(k) is not None:
                saved[k] = np.array(saved[k], self._dtype)
        for k in ("old_dirs", "old_stps"):
            if k in saved:
                saved[k] = list(np.array(saved[k], self._dtype))
        for k in ("ro", "al"):
            if k in saved:
                saved[k] = [None if v is None else scalar(v) for v in saved[k]]
        for k in ("t", "H_diag"):  # a float was a 0-d tensor of the flat dtype, an int PyTorch's Python 1
            if isinstance(saved.get(k), (float, np.floating, np.ndarray)):
                saved[k] = scalar(saved[k])
        super().load_state_dict({"state": {}, "param_groups": state_dict["param_groups"]})
        self._states.clear()
        if saved:
            self._states[self._key] = saved
