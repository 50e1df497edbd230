"""Rendering graphviz sources with one, predictable ``dot``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import graphviz

from rmslab.errors import RmslabError

__all__ = ["Picture", "find_dot", "render", "inline_svg", "FORMATS", "PNG_GLYPHS"]

FORMATS = ("svg", "png", "dot")

#: Marks that graphviz-pure's bundled fonts (Arimo, Tinos, Cousine) lack, and the glyph of
#: those fonts a PNG draws instead: without this, ✓ and ✗ come out as empty boxes. (An SVG
#: keeps them: the browser that shows it has fonts of its own.)
PNG_GLYPHS = {"✓": "√", "✔": "√", "✗": "×", "✘": "×"}
_PNG_TABLE = str.maketrans(PNG_GLYPHS)


@lru_cache(maxsize=1)
def find_dot() -> str:
    """The ``dot`` executable: beside this Python first (graphviz-pure as installed by
    the README), then on PATH."""
    here = Path(sys.executable).parent
    for name in ("dot", "graphviz-pure"):
        candidate = here / name
        if candidate.exists() and os.access(candidate, os.X_OK):
            return str(candidate)
    for name in ("dot", "graphviz-pure"):
        found = shutil.which(name)
        if found:
            return found
    raise RmslabError("no graphviz 'dot' found: run `make lab` or `make test` (they install "
                      "graphviz-pure into .venv), or install graphviz")


def render(graph: graphviz.Digraph | graphviz.Graph | str, fmt: str = "svg") -> bytes:
    """Render a graph to ``svg``, ``png`` or ``dot`` (the source itself). For a PNG, the
    marks of :data:`PNG_GLYPHS` are drawn with glyphs the bundled fonts have."""
    source = graph if isinstance(graph, str) else graph.source
    if fmt == "dot":
        return source.encode("utf-8")
    if fmt not in FORMATS:
        raise RmslabError(f"unknown picture format {fmt!r}: use svg, png or dot")
    if fmt == "png":
        source = source.translate(_PNG_TABLE)
    result = subprocess.run([find_dot(), f"-T{fmt}"], input=source.encode("utf-8"),
                            capture_output=True, timeout=60, check=False)
    if result.returncode != 0:
        raise RmslabError(f"dot failed: {result.stderr.decode('utf-8', 'replace').strip()}")
    return bytes(result.stdout)


def inline_svg(svg: str) -> str:
    """The ``<svg>`` element alone (no XML declaration, no DOCTYPE), for inline HTML."""
    start = svg.find("<svg")
    return svg[start:].strip() if start >= 0 else svg.strip()


class Picture:
    """A graph that shows itself as SVG in Jupyter and saves to a file."""

    def __init__(self, graph: graphviz.Digraph) -> None:
        self.graph = graph

    @property
    def source(self) -> str:
        return str(self.graph.source)

    def svg(self) -> str:
        return render(self.graph, "svg").decode("utf-8")

    def _repr_svg_(self) -> str:
        return self.svg()

    def __repr__(self) -> str:
        # Jupyter stores this text beside the SVG: no memory address, so that saved
        # notebook outputs are the same on every run (nbval compares them).
        return f"<Picture of graph {self.graph.name!r}>"

    def save(self, path: str | os.PathLike[str]) -> Path:
        target = Path(path)
        fmt = target.suffix.lstrip(".").lower()
        data = render(self.graph, fmt)
        tmp = target.with_name(target.name + ".part")
        tmp.write_bytes(data)
        tmp.replace(target)
        return target
