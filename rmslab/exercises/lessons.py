"""Every notebook's exercises, registered on import (one module per notebook)."""

from rmslab.exercises import (anatomy, attacks, binding, bootstrap, broken,  # noqa: F401
                              discovery, enrollment, publishing, renewal, retiring,
                              revocation, wire)

__all__: list[str] = []
