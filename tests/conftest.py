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


@pytest.fixture(autouse=True, scope="session")
def _private_object_cache(tmp_path_factory):
    """Compiled objects go to a fresh folder, so tests neither read nor fill the user's cache."""
    import os

    folder = tmp_path_factory.mktemp("symnet-cache")
    previous = os.environ.get("SYMNET_CACHE_DIR")
    os.environ["SYMNET_CACHE_DIR"] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop("SYMNET_CACHE_DIR", None)
    else:
        os.environ["SYMNET_CACHE_DIR"] = previous


@pytest.fixture
def reference():
    """The NumPy reference backend: the same graphs, without a native compile per case."""
    with sn.backend.use("reference"):
        yield
