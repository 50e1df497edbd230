"""rmslab — Rights Management Services, executable, visible and auditable."""

__version__ = "0.1.0"
__all__ = ["__version__"]
