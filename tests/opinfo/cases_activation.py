"""Cases of the activation modules and their ``nn.functional`` forms: kinks on PyTorch's side, extreme inputs
(±10⁴) with finite values and gradients, broadcasting of PReLU's per-channel weight, and reprs' arguments."""

from tests.opinfo.spec import Case, arg

#: each module is checked at its kinks and at ±10⁴ (smooth inputs: the functional cases below)
MODULES = {
    "ELU": lambda t: t.nn.ELU(alpha=0.5),
    "SELU": lambda t: t.nn.SELU(),
    "CELU": lambda t: t.nn.CELU(alpha=2.0),
    "Hardtanh": lambda t: t.nn.Hardtanh(-1.0, 1.0),
    "ReLU6": lambda t: t.nn.ReLU6(),
    "Hardsigmoid": lambda t: t.nn.Hardsigmoid(),  # PyTorch's gradient is 1/6 rounded to float32: rtol below
    "Hardswish": lambda t: t.nn.Hardswish(),
    "SiLU": lambda t: t.nn.SiLU(),
    "Mish": lambda t: t.nn.Mish(),
    "LogSigmoid": lambda t: t.nn.LogSigmoid(),
    "Softsign": lambda t: t.nn.Softsign(),
    "Tanhshrink": lambda t: t.nn.Tanhshrink(),
    "Threshold": lambda t: t.nn.Threshold(1.0, -2.0),
    "Hardshrink": lambda t: t.nn.Hardshrink(1.0),
    "Softshrink": lambda t: t.nn.Softshrink(1.0),
    "RReLU-eval": lambda t: t.nn.RReLU().eval(),
    "LeakyReLU": lambda t: t.nn.LeakyReLU(0.2),
    "ReLU": lambda t: t.nn.ReLU(),
    "GELU-tanh": lambda t: t.nn.GELU(approximate="tanh"),
}


#: PyTorch's hardsigmoid gradient is grad·(1/6 rounded to float32), in double too
SIXTH_IN_FLOAT32 = {"float64": 1e-7}


def module_cases(name: str, make) -> list[Case]:
    # kinks: {−1, 0, 1}·3 hits hardsigmoid/hardswish's ±3 and the shrinks' ±1 exactly
    rtol = SIXTH_IN_FLOAT32 if name == "Hardsigmoid" else None
    return [Case(f"{name}/kinks", lambda t, a: make(t)(a * 3), [arg(4, 5, kind="kinks")], fd=False, rtol=rtol),
            Case(f"{name}/big", lambda t, a: make(t)(a), [arg(2, 6, kind="big")], fd=False, compile=False)]


CASES = [
    *(c for name, make in MODULES.items() for c in module_cases(name, make)),
    Case("functional/elu-selu-celu", lambda t, a: (t.nn.functional.elu(a), t.nn.functional.selu(a),
                                                   t.nn.functional.celu(a, 0.5)), [arg(3, 4)]),
    Case("functional/hard", lambda t, a: (t.nn.functional.hardtanh(a, -0.5, 2.0), t.nn.functional.relu6(a * 4),
                                          t.nn.functional.hardsigmoid(a * 2), t.nn.functional.hardswish(a * 2)),
         [arg(3, 4)], rtol=SIXTH_IN_FLOAT32),
    Case("functional/smooth", lambda t, a: (t.nn.functional.silu(a), t.nn.functional.mish(a),
                                            t.nn.functional.logsigmoid(a), t.nn.functional.softsign(a),
                                            t.nn.functional.tanhshrink(a)), [arg(3, 4)]),
    Case("functional/shrink-threshold", lambda t, a: (t.nn.functional.hardshrink(a), t.nn.functional.softshrink(a),
                                                      t.nn.functional.threshold(a, 0.1, 20.0)), [arg(3, 4)]),
    Case("logsigmoid/-100", lambda t, a: t.nn.functional.logsigmoid(a * 100), [arg(6, kind="kinks")], fd=False),
    Case("softmin/negative-dim", lambda t, a: t.nn.Softmin(dim=-1)(a), [arg(2, 3, 4)]),
    Case("softmin/functional", lambda t, a: t.nn.functional.softmin(a, 0), [arg(3, 2)]),
    Case("log_softmax/module", lambda t, a: t.nn.LogSoftmax(dim=1)(a), [arg(2, 5)]),
    Case("prelu/one-weight", lambda t, a, w: t.nn.functional.prelu(a, w), [arg(2, 3, 4, kind="kinks"), arg(1)],
         fd=False),
    Case("prelu/per-channel", lambda t, a, w: t.nn.functional.prelu(a, w), [arg(2, 3, 4), arg(3)]),
    Case("prelu/per-channel-2d", lambda t, a, w: t.nn.functional.prelu(a, w), [arg(5, 3), arg(3)]),
    Case("prelu/wrong-channels", lambda t, a, w: t.nn.functional.prelu(a, w), [arg(2, 3, 4), arg(4)],
         dtypes=("float64",)),
    Case("prelu/module", lambda t, a: t.nn.PReLU(3, init=0.1)(a), [arg(2, 3)]),
    Case("glu/dim", lambda t, a: (t.nn.functional.glu(a), t.nn.GLU(dim=0)(a)), [arg(4, 6)]),
    Case("glu/odd-refused", lambda t, a: t.nn.functional.glu(a, 1), [arg(4, 5)], dtypes=("float64",)),
    Case("activation/0-d", lambda t, a: t.nn.functional.elu(a) + t.nn.functional.mish(a), [arg(())]),
    Case("activation/empty", lambda t, a: t.nn.functional.silu(a) + t.nn.functional.hardswish(a), [arg(0, 4)]),
    Case("activation/int-input", lambda t, a: (t.nn.functional.hardtanh(a), t.nn.functional.relu6(a),
                                               t.nn.functional.threshold(a, 1, 7.0), t.nn.functional.softsign(a)),
         [arg(5, kind="int")], dtypes=("float64",), grad=False, compile=False),
    Case("activation/int-refused", lambda t, a: t.nn.functional.silu(a), [arg(5, kind="int")], dtypes=("float64",)),
]
