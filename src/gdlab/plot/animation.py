"""A GIF of paths growing over their function (:func:`animate_path`): frames drawn by
blitting on one laid-out figure, written with one shared palette and only the changed
pixels per frame."""

from __future__ import annotations

import io
import os
from typing import Any, Mapping, Sequence

import numpy as np

from ..errors import ParameterError
from ..persist import atomic_write_bytes
from ._draw import (
    _compare_cmap,
    _contour,
    _curve,
    _draw_box,
    _known_minima,
    _mark_divergence,
    _mark_undefined,
    _plane_axes,
)
from ._figure import (
    _CMAP,
    ESCAPE_COLOR,
    MAX_ARROWS,
    PATH_COLOR,
    _f_or_path,
    _figure,
    _legend_below,
    _style,
    _thin_line,
)
from ._fn import _Fn, _fn_label, _var_names
from ._runs import (
    _all_maximize,
    _common_box,
    _compare_runs,
    _describe,
    _kind,
    _named_results,
    _next_coords,
    _outcome,
    _plot_coords,
    _Run,
)


def _write_gif(frames: list[np.ndarray], path: Any, fps: float, colors: Sequence[str] = ()) -> None:
    """Write RGB frames as a looping GIF that stores only what changes: all frames share one
    palette (taken from the last frame, which holds every colour, plus the exact ``colors`` of
    the paths) and the pixels equal to the previous frame's are written as transparent, so a
    frame costs only its new pixels."""
    import matplotlib.colors as mcolors
    from PIL import Image

    exact = []
    for c in [*colors, "white", "black", ESCAPE_COLOR]:
        rgb = [int(round(255 * v)) for v in mcolors.to_rgb(c)]
        if rgb not in exact:
            exact.append(rgb)
    exact = exact[:32]
    last = Image.fromarray(frames[-1], "RGB")
    base = last.quantize(colors=255 - len(exact), method=Image.Quantize.MEDIANCUT,
                         dither=Image.Dither.NONE)
    base_palette = base.getpalette()
    assert base_palette is not None  # a quantized image has a palette
    entries = base_palette[: 3 * (255 - len(exact))]
    entries += [0] * (3 * (255 - len(exact)) - len(entries))
    pal = Image.new("P", (1, 1))
    black = 255 - len(exact) + exact.index([0, 0, 0])
    pal.putpalette(entries + [v for rgb in exact for v in rgb] + [0, 0, 0])
    q = []
    for f in frames:
        a = np.array(Image.fromarray(f, "RGB").quantize(palette=pal, dither=Image.Dither.NONE))
        a[a == 255] = black  # entry 255 (a second black) is kept for "unchanged"
        q.append(a)
    palette = pal.getpalette()
    assert palette is not None
    out, prev = [], None
    for a in q:
        if prev is not None:
            delta = a.copy()
            delta[a == prev] = 255  # index 255 is unused by the 255-colour palette
        else:
            delta = a
        im = Image.fromarray(delta, "P")
        im.putpalette(palette)
        out.append(im)
        prev = a
    out[0].save(path, format="GIF", save_all=True, append_images=out[1:],
                duration=max(1, int(round(1000 / fps))), loop=0, transparency=255, disposal=1,
                optimize=False)


def _check_frames(path: Any, max_frames: Any, fps: Any) -> None:
    if path is None:
        raise ParameterError("animate_path needs path= (the .gif file to write)")
    if isinstance(max_frames, bool) or not isinstance(max_frames, (int, np.integer)) \
            or max_frames < 1:
        raise ParameterError(f"max_frames must be a positive whole number, got {max_frames!r}")
    if isinstance(fps, bool) or not isinstance(fps, (int, float, np.number)) or not 0 < fps <= 100:
        raise ParameterError(f"fps must be a number from 1 to 100, got {fps!r}")


def animate_path(result_or_results: Any, f: Any = None, path: Any = None, *,
                 max_frames: int = 60, fps: int = 15, title: str | None = None) -> Any:
    """A GIF of the path(s) growing over the curve or contours of ``f``.

    ``result_or_results`` is one Result, or a dict / list of them (one colour each, as in
    :func:`plot_compare`). At most ``max_frames`` frames are drawn (the steps are subsampled,
    the last one always included), so even a 100,000-step run makes a small file. A file
    name given as ``f`` (``animate_path(result, "run.gif")``) is taken as ``path``. The title
    says when the runs are gradient ascent. Returns the figure in its last frame.
    """
    f, path = _f_or_path(f, path, "animate_path")
    _check_frames(path, max_frames, fps)
    single = not isinstance(result_or_results, (Mapping, list, tuple))
    items = [("path", result_or_results)] if single else _named_results(result_or_results)
    runs, F, d, window = _compare_runs(items, f, None, PATH_COLOR if single else None)
    assert window is not None  # (three or more variables were refused)
    if single:
        r0 = items[0][1]
        runs[0].label = f"{_describe(r0)}: {_outcome(r0, runs[0])}"
    names = _var_names(F, items[0][1], d)
    hfs = [None if F is not None else np.asarray(res.history.fun, float) for _, res in items]

    fig = _figure()
    ax = fig.add_subplot()
    _style(ax)
    coords = _background(fig, ax, runs, F, d, window, names, hfs, single,
                         _all_maximize([r for _, r in items]))
    _draw_box(ax, _common_box([r for _, r in items], d), d, names)
    artists = _moving_artists(ax, runs, coords, "white" if d == 2 else "black")
    escapes = _stop_marks(ax, runs, coords, F, d, hfs, single)
    step_text = ax.text(0.02, 0.97, "", transform=ax.transAxes, ha="left", va="top", fontsize=11,
                        bbox=dict(boxstyle="round", fc="white", alpha=0.85), zorder=10)
    _legend_below(fig, ax)
    for _, arts in escapes:  # (drawn in the legend, then hidden until their frame)
        for a in arts:
            a.set_visible(False)
    ax.set_title(title if title is not None else
                 _animation_title(F, names, _all_maximize([r for _, r in items])), fontsize=12)
    thresholds = _thresholds(runs, single, int(max_frames))
    thin = [(_thin_line(len(Q), 1500), r.steps[: len(Q)]) for r, Q in zip(runs, coords)]

    def frame(j: int) -> None:
        t = thresholds[j]
        for (line, dots, head), Q, (sel, steps) in zip(artists, coords, thin):
            if not len(Q):
                continue
            k = max(int(np.searchsorted(steps, t, "right")), 1)  # the points with step <= t
            s = sel[sel < k]
            if not len(s) or s[-1] != k - 1:
                s = np.append(s, k - 1)
            line.set_data(Q[s, 0], Q[s, 1])
            if len(Q) <= MAX_ARROWS + 1:
                dots.set_data(Q[:k, 0], Q[:k, 1])
            head.set_data([Q[k - 1, 0]], [Q[k - 1, 1]])
        for last, arts in escapes:
            for a in arts:
                a.set_visible(bool(t >= last))
        step_text.set_text(f"step {int(t)}")

    moving = [a for trio in artists for a in trio] + [step_text] + \
        [a for _, arts in escapes for a in arts]
    images = _render(fig, ax, moving, frame, len(thresholds))
    path = os.fspath(path)
    buf = io.BytesIO()
    _write_gif(images, buf, fps, [r.color for r in runs])
    atomic_write_bytes(path, buf.getvalue())
    fig.canvas.draw()
    return fig


def _background(fig: Any, ax: Any, runs: list[_Run], F: _Fn | None, d: int,
                window: np.ndarray, names: Sequence[str], hfs: list, single: bool,
                maximize: bool | None) -> list[np.ndarray]:
    """The picture under the paths (contours or the curve); returns each run's points in the
    picture's coordinates."""
    if d == 2:
        if F is not None:
            _contour(fig, ax, F, window, names, maximize=bool(maximize),
                     cmap=_CMAP if single else _compare_cmap())
        else:
            _plane_axes(ax, window, names)
        _known_minima(ax, F, window)
        return [r.P[: r.m] for r in runs]
    coords = [_plot_coords(r, F, 1, hf) for r, hf in zip(runs, hfs)]
    _curve(ax, F, window, names[0], np.concatenate([q[:, 1] for q in coords]),
           color="#1f3b73" if single else "0.35")
    return coords


def _moving_artists(ax: Any, runs: list[_Run], coords: list[np.ndarray], edge: str
                    ) -> list[tuple[Any, Any, Any]]:
    """Per run: its line, dots and head (set by each frame); its start is drawn once."""
    artists = []
    for r, Q in zip(runs, coords):
        line, = ax.plot([], [], "-", color=r.color, lw=1.8, zorder=5, label=r.label)
        dots, = ax.plot([], [], "o", color=r.color, ms=3.5, zorder=5, mew=0)
        head, = ax.plot([], [], "o", color=r.color, ms=9, mec=edge, zorder=6)
        if len(Q):
            ax.plot([Q[0, 0]], [Q[0, 1]], "o", ms=7, color=r.color, mec=edge, alpha=0.6, zorder=4)
        artists.append((line, dots, head))
    return artists


def _stop_marks(ax: Any, runs: list[_Run], coords: list[np.ndarray], F: _Fn | None, d: int,
                hfs: list, single: bool) -> list[tuple[int, list]]:
    """Where runs escaped or left f's domain, shown from the frame of their last point:
    ``[(step, artists)]``."""
    escapes = []
    for r, Q, hf in zip(runs, coords, hfs):
        if not (r.escaped or r.undefined):
            continue
        before = set(map(id, [*ax.lines, *ax.texts, *ax.patches]))
        color = ESCAPE_COLOR if single else r.color
        if r.escaped:
            _mark_divergence(ax, r, Q, _next_coords(r, F, d, hf), color=color, text=single)
        else:
            _mark_undefined(ax, r, Q, d, color=color, text=single)
        new = [a for a in [*ax.lines, *ax.texts, *ax.patches] if id(a) not in before]
        escapes.append((int(r.steps[r.m - 1]) if r.m else 0, new))
    return escapes


def _animation_title(F: _Fn | None, names: Sequence[str], maximize: bool | None) -> str:
    kind = {True: _kind(True), False: "gradient descent",
            None: "gradient descent and ascent"}[maximize]
    if F is None:
        return kind
    what = F.text if F.test_function is not None else _fn_label(F, ", ".join(names))
    return f"{what}\n{kind}" if maximize is not False else what


def _thresholds(runs: list[_Run], single: bool, max_frames: int) -> np.ndarray:
    """The step shown by each frame (the last one always the final step drawn)."""
    if single and runs[0].m:
        r = runs[0]
        pick = np.unique(np.linspace(0, r.m - 1, min(max_frames, r.m)).round().astype(int))
        return r.steps[pick]
    ends = [int(r.steps[r.m - 1]) if r.m else 0 for r in runs]
    smax = max(ends) if ends else 0
    return np.unique(np.linspace(0, smax, min(max_frames, smax + 1)).round().astype(int))


def _render(fig: Any, ax: Any, moving: list, frame: Any, n: int) -> list[np.ndarray]:
    """The frames as RGB arrays: the figure is laid out once (with the last frame's text) and
    frozen; what does not move is drawn once, then each frame is that background plus the
    moving artists (blitting)."""
    frame(n - 1)
    fig.canvas.draw()
    fig.set_layout_engine("none")
    shown = {id(a): a.get_visible() for a in moving}
    for a in moving:
        a.set_visible(False)
    fig.canvas.draw()
    background = fig.canvas.copy_from_bbox(fig.bbox)
    for a in moving:
        a.set_visible(shown[id(a)])
    images = []
    for j in range(n):
        frame(j)
        fig.canvas.restore_region(background)
        for a in moving:
            if a.get_visible():
                ax.draw_artist(a)
        images.append(np.asarray(fig.canvas.buffer_rgba())[..., :3].copy())
    return images
