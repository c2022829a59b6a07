import numpy as np
import pytest

import symnet as sn


@pytest.fixture(autouse=True)
def _default_dtype():
    """Every test starts from float32 defaults, whatever a previous test set."""
    sn.set_default_dtype(sn.float32)
    yield
    sn.set_default_dtype(sn.float32)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
