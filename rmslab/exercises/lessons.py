"""Every notebook's exercises, registered on import (one module per notebook)."""

from rmslab.exercises import (anatomy, binding, bootstrap, broken, discovery,  # noqa: F401
                              enrollment, publishing, renewal, revocation, wire)

__all__: list[str] = []
