"""What ``fit`` gives a person watching: a History (per-step and per-epoch losses, metrics, wall time, a plot)
and a progress bar that callbacks print above, neither changing a single number of the training."""

import warnings

import matplotlib
import numpy as np
import pytest

import symnet as sn

matplotlib.use("Agg")


def classifier(seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((3, 4)) * 2
    labels = rng.integers(0, 3, 90)
    x = (centers[labels] + rng.standard_normal((90, 4)) * 0.5).astype(np.float32)
    sn.manual_seed(seed)
    model = sn.nn.Sequential(sn.nn.Linear(4, 8), sn.nn.ReLU(), sn.nn.Linear(8, 3))
    step = sn.compile(model, sn.nn.CrossEntropyLoss(), sn.optim.Adam(model.parameters(), lr=0.05))
    data = sn.data.TensorDataset(sn.tensor(x), sn.tensor(labels))
    return step, sn.data.DataLoader(data, batch_size=16), (sn.tensor(x[:30]), sn.tensor(labels[:30]))


def test_history_holds_steps_epochs_metrics_and_time():
    step, loader, val = classifier()
    history = step.fit(loader, epochs=4, metrics={"val_acc": lambda s: s.accuracy(val),
                                                  "val_loss": lambda s: s.evaluate([val])}, progress=False)
    assert isinstance(history, list) and len(history) == 4 * len(loader)    # still the per-step losses
    assert history.losses.dtype == np.float64 and np.array_equal(history.losses, np.array(history))
    per_epoch = np.array(history).reshape(4, len(loader)).mean(axis=1)
    np.testing.assert_allclose(history.epoch_loss, per_epoch, rtol=1e-12)
    assert len(history.epoch_seconds) == 4 and all(t > 0 for t in history.epoch_seconds)
    assert set(history.metrics) == {"val_acc", "val_loss"} and len(history.metrics["val_acc"]) == 4
    assert history.metrics["val_acc"][-1] == step.accuracy(val)               # measured after each epoch
    assert history.metrics["val_loss"][-1] == pytest.approx(step.evaluate([val]), rel=1e-6)
    assert history.metrics["val_acc"][-1] > 0.8
    assert "4 epochs" in repr(history) and "val_acc" in repr(history)


def test_metrics_and_callbacks_do_not_change_the_numbers():
    plain_step, loader, val = classifier()
    plain = plain_step.fit(loader, epochs=3, progress=False)
    watched_step, loader, val = classifier()
    seen = []
    watched = watched_step.fit(loader, epochs=3, progress=True, metrics={"acc": lambda s: s.accuracy(val)},
                               callbacks=[lambda s, e, losses: seen.append((e, len(losses)))])
    assert list(watched) == list(plain)
    assert seen == [(e, len(loader)) for e in range(3)]


def test_a_bar_in_chunks_gives_the_same_losses_as_one_call():
    """A bar moves between native calls of several epochs; the losses are those of one call."""
    one_step, loader, _ = classifier()
    one = one_step.fit(loader, epochs=40, progress=False)
    barred_step, loader, _ = classifier()
    calls = []
    barred_step.step(*next(iter(loader)))  # built; then count the native calls of fit
    original = barred_step._step.repeat
    barred_step._step.repeat = lambda *a, **k: calls.append(1) or original(*a, **k)
    chunked_step, loader, _ = classifier()
    chunked_step.step(*next(iter(loader)))
    reference = chunked_step.fit(loader, epochs=40, progress=False)
    barred = barred_step.fit(loader, epochs=40, progress=True)
    assert list(barred) == list(reference) and len(one) == len(barred)
    assert 1 <= len(calls) < 40                                  # chunks of epochs, not a call per epoch


def test_callbacks_print_above_the_bar(capsys):
    step, loader, _ = classifier()
    step.fit(loader, epochs=2, progress=True, callbacks=[lambda s, e, losses: print(f"epoch {e} done")])
    out, err = capsys.readouterr()
    assert "epoch 0 done" in out and "epoch 1 done" in out
    assert "fit" in err and "loss" in err                        # the bar, with the loss in its postfix


def test_a_quick_fit_shows_no_bar(capsys):
    step, loader, _ = classifier()
    step.fit(loader, epochs=3)
    assert capsys.readouterr().err == ""


def test_divergence_warns_once_per_fit():
    x = np.linspace(-1, 1, 32, dtype=np.float32)[:, None]
    sn.manual_seed(0)
    model = sn.nn.Linear(1, 1)
    step = sn.compile(model, sn.nn.MSELoss(), sn.optim.SGD(model.parameters(), lr=1e3))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = step.fit((x, 1e3 * x), epochs=300, callbacks=[lambda *a: None])
    diverging = [w for w in caught if "diverging" in str(w.message)]
    assert not np.isfinite(history[-1]) and len(diverging) == 1 and diverging[0].filename == __file__


def one_batch_fit(progress=False, **kwargs):
    """A linear regression fitted on one (x, y) batch; its History, step and model."""
    x = np.linspace(-1, 1, 7, dtype=np.float32)[:, None]
    sn.manual_seed(0)
    model = sn.nn.Linear(1, 1)
    step = sn.compile(model, sn.nn.MSELoss(), sn.optim.Adam(model.parameters(), lr=0.1))
    return step.fit((x, 3 * x + 1), epochs=50, progress=progress, **kwargs), step, model


def test_one_batch_with_nothing_to_watch_is_one_native_call_with_the_observed_fits_numbers(monkeypatch):
    watched, watched_step, watched_model = one_batch_fit(callbacks=[lambda *a: None])  # an epoch a call
    monkeypatch.setattr(sn.train.step, "Watch", None)  # the short path makes no watch, schedule loop or rows
    history, step, model = one_batch_fit()
    assert list(history) == list(watched) and history.epoch_loss == watched.epoch_loss == list(history)
    assert len(history.epoch_seconds) == 50 and step.history.tolist() == watched_step.history.tolist()
    for a, b in zip(model.parameters(), watched_model.parameters(), strict=True):
        assert np.array_equal(a.numpy(), b.numpy())
    assert step.optimizer.state[id(model.weight)]["step"] == 50
    again = step.fit((np.zeros((3, 1), np.float32), np.zeros((3, 1), np.float32)), epochs=2)  # pace known: short
    assert len(again) == 2 and step.optimizer.state[id(model.weight)]["step"] == 52
    with pytest.raises(ValueError, match="sample 1 of the data holds NaN"):
        step.fit((np.array([[0.0], [np.nan]], np.float32), np.zeros((2, 1), np.float32)), progress=False)
    monkeypatch.undo()  # an empty batch takes the general path, which does nothing for it
    assert len(step.fit((np.zeros((0, 1), np.float32), np.zeros((0, 1), np.float32)), progress=False)) == 0


def test_the_short_path_warns_of_divergence_once_naming_the_step():
    x = np.linspace(-1, 1, 32, dtype=np.float32)[:, None]
    sn.manual_seed(0)
    model = sn.nn.Linear(1, 1)
    step = sn.compile(model, sn.nn.MSELoss(), sn.optim.SGD(model.parameters(), lr=1e3))
    step.fit((x, x), epochs=1, progress=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = step.fit((x, 1e3 * x), epochs=300, progress=False)
    diverging = [str(w.message) for w in caught if "diverging" in str(w.message)]
    first = next(k for k, loss in enumerate(history) if not np.isfinite(loss))
    assert len(diverging) == 1 and f"at step {first + 2} " in diverging[0]  # after the first fit's one step
    assert caught[0].filename == __file__  # the warning points at the user's fit


def test_history_plot_is_labelled():
    step, loader, val = classifier()
    history = step.fit(loader, epochs=3, progress=False, metrics={"val_acc": lambda s: s.accuracy(val)})
    ax = history.plot()
    assert ax.get_title() and ax.get_xlabel() == "step" and ax.get_ylabel() == "loss"
    labels = ax.get_legend().get_texts()
    assert {"loss per step", "epoch mean", "val_acc"} <= {t.get_text() for t in labels}


def test_accuracy_refuses_what_is_not_a_classification():
    step, loader, _ = classifier()
    step.fit(loader, epochs=1, progress=False)
    with pytest.raises(sn.ShapeError, match="accuracy"):
        step.accuracy((np.zeros((4, 4), np.float32), np.zeros((3,), np.int64)))
    with pytest.raises(sn.ShapeError, match="empty"):
        step.accuracy([])
