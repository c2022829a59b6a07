"""``torch.backends.cudnn``'s flags: settable, and without effect (there is no cuDNN on the CPU)."""

enabled = True
benchmark = False
deterministic = False
allow_tf32 = True


def is_available() -> bool:
    return False


def version() -> None:
    return None
