"""The package's version: pyproject reads it, ``symnet.__version__``, the CLI and exported headers show it (no
package metadata is imported for it)."""

__version__ = "0.1.0"
