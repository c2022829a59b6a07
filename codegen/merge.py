"""Identical internal functions merged in the IR text, before LLVM sees the module.

A deep network repeats itself: nine hidden layers of one width give nine kernels of the same matrix product, the
same activation adjoint and the same optimizer update, each with its launcher and its job — bodies that differ
only in their names. LLVM's MergeFunctions would fold them only after optimizing every copy; here the copies
go first, so the optimizer and the code generator see each body once (a 10-layer step's module halves).

Two internal definitions are merged when their text is equal but for their own names; a caller of a merged one
then calls the one kept, which can make its callers equal in turn (a kernel's launcher and job), so the merge
repeats until nothing changes. Equal text is the same instructions on the same arguments: results are
unchanged, bit for bit.
"""

from __future__ import annotations

import re

_DEFINITION = re.compile(r"^(?=define )", re.M)
_INTERNAL = re.compile(r'define internal [^@]*@"([^"]+)"\(')
_REFERENCE = re.compile(r'@"([^"]+)"')


def merge_identical_functions(ir_text: str) -> str:
    """``ir_text`` with every internal function whose body repeats an earlier one's removed, and its callers
    calling the earlier one."""
    while True:
        chunks = _DEFINITION.split(ir_text)
        kept: dict[str, str] = {}  # the text without its name → the first function with it
        renamed: dict[str, str] = {}
        for chunk in chunks:
            found = _INTERNAL.match(chunk)
            if found:
                anonymous = chunk[:found.start(1)] + chunk[found.end(1):]
                renamed_to = kept.setdefault(anonymous, found.group(1))
                if renamed_to != found.group(1):
                    renamed[found.group(1)] = renamed_to
        if not renamed:
            return ir_text
        remaining = "".join(c for c in chunks if not ((m := _INTERNAL.match(c)) and m.group(1) in renamed))
        ir_text = _REFERENCE.sub(_renaming(renamed), remaining)


def _renaming(renamed: dict[str, str]):
    return lambda m: f'@"{renamed.get(m.group(1), m.group(1))}"'
