"""Every figure every example makes, opened as a matplotlib Figure: each Axes that plots data has a title (or its
figure a suptitle), both axis labels, a legend naming every labelled curve when it holds two or more, and no curve
cut off by the y limits; noisy per-step curves are faint under a smoothed one; legends use the printed notation."""

import importlib
import math

import matplotlib
import numpy as np
import pytest

from tests.test_examples import EXAMPLES  # noqa: F401  (puts examples/ on sys.path)

matplotlib.use("Agg")

#: small arguments per example, and the figures it must save
CASES = {
    "autograd_basics": ((), ["autograd_basics"]),
    "activations": ((), ["activations"]),
    "losses": ((), ["losses"]),
    "linear_regression": (("--epochs", "5"), ["linear_regression_loss"]),
    "sin_polyfit": (("--epochs", "50", "--manual-epochs", "1"), ["sin_polyfit"]),
    "optimizers": (("--epochs", "1"), ["optimizers"]),
    "mlp_classifier": (("--epochs", "2"), ["mlp_curves", "mlp_confusion", "mlp_misclassified"]),
    "lenet": (("--epochs", "1", "--no-shift"), ["lenet_filters", "lenet_feature_maps", "lenet_curves"]),
    "pinn_poisson": (("--iterations", "20"), ["pinn_poisson"]),
    "pinn_heat": (("--epochs", "20", "--lbfgs", "10"), ["pinn_heat"]),
    "gradient_penalty": (("--epochs", "2"), ["gradient_penalty"]),
}
#: figures whose per-step curves are noisy: drawn faint, with a smoothed curve over them
NOISY = {"optimizers", "mlp_curves", "lenet_curves"}


def run_recording(name, tmp_path, monkeypatch) -> tuple[dict, dict]:
    """Run an example in-process; returns its result and the figures it saved, by name."""
    module = importlib.import_module(name)
    real_save, figures = module.save, {}

    def record(fig, figure_name, args):
        figures[figure_name] = fig
        return real_save(fig, figure_name, args)

    monkeypatch.setattr(module, "save", record)
    return module.main(["--out", str(tmp_path), *CASES[name][0]]), figures


def labelled_lines(axes) -> list:
    return [line for ax in axes for line in ax.lines if not line.get_label().startswith("_")]


def problems(fig) -> list[str]:
    """What is missing in a figure: twins (same position) are judged together, shared axes lend their labels."""
    found = []
    suptitle = fig._suptitle.get_text() if fig._suptitle else ""
    groups: dict[tuple, list] = {}
    for ax in fig.axes:
        groups.setdefault(tuple(np.round(ax.get_position().bounds, 3)), []).append(ax)
    for group in groups.values():
        if not any(ax.lines or ax.collections or ax.images for ax in group):
            continue
        if not any(ax.axison for ax in group):        # an image in a grid: the figure's title explains the grid
            found += [] if suptitle else ["an image grid without a suptitle"]
            continue
        where = group[0].get_title() or group[0].get_ylabel() or "an axes"
        if not (suptitle or any(ax.get_title() for ax in group)):
            found.append(f"{where}: no title")
        for ax in group:
            if not any(s.get_xlabel() for s in ax.get_shared_x_axes().get_siblings(ax)):
                found.append(f"{where}: no x label")
            if not any(s.get_ylabel() for s in ax.get_shared_y_axes().get_siblings(ax)):
                found.append(f"{where}: no y label")
            found += cut_off(ax, where)
        labels = {line.get_label() for line in labelled_lines(group)}
        legends = [ax.get_legend() for ax in group if ax.get_legend() is not None]
        shown = {text.get_text() for legend in legends for text in legend.get_texts()}
        if len(labels) >= 2 and not labels <= shown:
            found.append(f"{where}: legend misses {sorted(labels - shown)}")
    return found


def cut_off(ax, where: str) -> list[str]:
    """Curves in data coordinates that leave the y limits."""
    low, high = sorted(ax.get_ylim())
    found = []
    for line in ax.lines:
        if line.get_transform() != ax.transData:
            continue
        y = np.asarray(line.get_ydata(), dtype=float)
        y = y[np.isfinite(y)]
        if y.size and (y.max() > high * (1 + 1e-9) + 1e-12 or y.min() < low - abs(low) * 1e-9 - 1e-12):
            found.append(f"{where}: {line.get_label()} cut off by the y limits {low:g}..{high:g}")
    return found


@pytest.mark.parametrize("name", CASES)
def test_every_figure_is_titled_labelled_and_legended(name, tmp_path, monkeypatch, capsys):
    result, figures = run_recording(name, tmp_path, monkeypatch)
    assert sorted(figures) == sorted(CASES[name][1])
    for figure_name, fig in figures.items():
        assert (tmp_path / f"{figure_name}.png").stat().st_size > 5000
        assert problems(fig) == [], figure_name
        if figure_name in NOISY:
            assert_faint_under_smoothed(fig)
    out = capsys.readouterr().out
    if name == "activations":     # the legend's derivatives are the printed ones (step(x), not θ(x))
        legend = legend_texts(figures["activations"])
        derivatives = [text for text in legend if text.startswith("d/dx = ")]
        assert len(derivatives) == 6 and all(text in out for text in derivatives)
        assert "d/dx = step(x)" in legend and not any("θ" in text or "$" in text for text in legend)
    if name == "autograd_basics":
        gradient = [text for text in legend_texts(figures["autograd_basics"]) if text.startswith("∂y/∂w")]
        assert gradient and gradient[0] in out.splitlines()
    if name == "mlp_classifier":
        confusion_and_misclassified(figures, result)
    if name == "optimizers":
        every_optimizer_smoothed(figures["optimizers"], result)


def legend_texts(fig) -> list[str]:
    return [text.get_text() for ax in fig.axes if ax.get_legend() for text in ax.get_legend().get_texts()]


def assert_faint_under_smoothed(fig) -> None:
    for ax in fig.axes:
        if not labelled_lines([ax]) or not ax.axison:
            continue
        faint = [line for line in ax.lines if (line.get_alpha() or 1) <= 0.5 and len(line.get_xdata()) > 1]
        solid = [line for line in labelled_lines([ax]) if (line.get_alpha() or 1) > 0.5]
        if faint:   # each faint raw curve has a solid one of its colour over it
            colours = {matplotlib.colors.to_hex(line.get_color()) for line in solid}
            assert all(matplotlib.colors.to_hex(line.get_color()) in colours for line in faint)
    assert any((line.get_alpha() or 1) <= 0.5 for ax in fig.axes for line in ax.lines)


def confusion_and_misclassified(figures, result) -> None:
    confusion = figures["mlp_confusion"].axes[0]
    assert [int(t) for t in confusion.get_xticks()] == list(range(10)) == [int(t) for t in confusion.get_yticks()]
    assert [t.get_text() for t in confusion.get_xticklabels()] == [str(d) for d in range(10)]
    grid = figures["mlp_misclassified"]
    wrong = int(result["confusion"].sum() - np.trace(result["confusion"]))
    with_images = [ax for ax in grid.axes if ax.images]
    assert len(with_images) == min(wrong, 12) and len(grid.axes) - len(with_images) <= 1
    title = grid._suptitle.get_text()
    assert "misclassified" in title and "true → predicted" in title and str(wrong) in title



def every_optimizer_smoothed(fig, result) -> None:
    """Each optimizer has a curve; the labelled one ends at the mean of its last epoch's raw losses (34 steps)."""
    lines = labelled_lines(fig.axes)
    assert {line.get_label() for line in lines} == set(result["final"]) and len(lines) >= 11
    assert all(ax.get_yscale() == "log" for ax in fig.axes)
    for line in lines:
        raw = result["histories"][line.get_label()].losses
        assert math.isclose(line.get_ydata()[-1], raw[-34:].mean(), rel_tol=1e-12)
