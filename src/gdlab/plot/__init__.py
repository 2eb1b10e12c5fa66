"""The lecture's pictures: descent paths, comparisons, loss curves, fits and decision regions.

Every function draws on a fresh :class:`matplotlib.figure.Figure` with its own Agg canvas
(never pyplot's global state, so it is thread-safe and never opens a window), returns the
figure, and saves it when given ``path=`` (the format from the extension, PNG by default;
written to a temporary file in the same directory and moved into place). The same input
gives byte-identical PNGs: the size is fixed (8 x 6 inches at 100 dpi, 800 x 600 pixels)
and no software version or date is written into the file. matplotlib is imported only when a
picture is drawn.

>>> from gdlab import minimize
>>> from gdlab.plot import plot_path
>>> fig = plot_path(minimize("rosenbrock", [-1, 2], "adam", lr=0.05), "rosenbrock",
...                 path="adam.png")                                    # doctest: +SKIP

``f`` (the function drawn under a path) may be a :class:`~gdlab.calculus.Function`, formula
text, a test function's name, a sympy expression, or a Python callable (called on ``(n, d)``
arrays when it accepts them, else point by point). A file name in its place
(``plot_path(result, "out.png")``) is taken as ``path``.

The pictures say what happened: a one-variable path calls a point "minimum of f" only when it
is the lowest value on the drawn interval (a numerical scan far beyond the path widens the
window to a lower region, or marks it at the edge, and the reached point is then a "local
minimum"); ascent runs are titled gradient ascent; diverged, unbounded and undefined runs,
flat regions and the box of a bounded run are drawn and worded as such; runs of three or more
variables are drawn as ``f`` and ``|grad|`` per step with the stop reason.

Which module holds what:

- :mod:`~gdlab.plot.functions`: :func:`plot_path` (one run over its function) and
  :func:`plot_function` (a function alone): tangents, extrema, gradient fields, surfaces.
- :mod:`~gdlab.plot.compare`: :func:`plot_compare` (several runs on one picture).
- :mod:`~gdlab.plot.training`: :func:`plot_loss` (loss and validation curves).
- :mod:`~gdlab.plot.models`: :func:`plot_fit` and :func:`plot_decision_regions`.
- :mod:`~gdlab.plot.animation`: :func:`animate_path` and the GIF writer.
- :mod:`~gdlab.plot.steps`: ``f`` and ``|grad|`` per step, for runs of three or more
  variables (drawn by :func:`plot_path` and :func:`plot_compare`).
- ``_figure``: sizes and colours, figure creation, atomic saving without metadata, legends,
  number formatting, a file name given as ``f``; ``_fn``: what ``f`` was given as, as
  values and gradients on ``(n, d)`` arrays; ``_runs``: Results read into runs (status,
  divergence step, box, labels) and the window; ``_draw``: contours, curves, paths with
  arrows, the marks where a run diverged, went unbounded or left f's domain, and a bounded
  run's box, shared by the path, comparison and animation pictures; ``_extrema``: the minima
  (maxima) of a one-variable f in view and the scan beyond the window.
"""

from __future__ import annotations

from ._figure import COLORS, DPI, FIGSIZE, PATH_COLOR
from ._figure import ESCAPE_COLOR as ESCAPE_COLOR
from ._figure import MAX_ARROWS as MAX_ARROWS
from .animation import animate_path
from .compare import plot_compare
from .functions import plot_function, plot_path
from .models import _REGION_COLORS as _REGION_COLORS  # the tests check these colours
from .models import plot_decision_regions, plot_fit
from .training import plot_loss

__all__ = ["plot_path", "plot_compare", "plot_loss", "plot_fit", "plot_decision_regions",
           "plot_function", "animate_path", "PATH_COLOR", "COLORS", "FIGSIZE", "DPI"]
