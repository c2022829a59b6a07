"""``torch.backends.mps``: Apple's Metal backend is never available (symnet compiles for the host CPU)."""


def is_available() -> bool:
    return False


def is_built() -> bool:
    return False
