"""A GIF of paths growing over their function (:func:`animate_path`): frames drawn by
blitting on one laid-out figure, written with one shared palette and only the changed
pixels per frame."""

from __future__ import annotations

import io
import os
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ..errors import ParameterError
from ..persist import atomic_write_bytes
from ._draw import _compare_cmap, _contour, _curve, _known_minima, _mark_divergence, _plane_axes
from ._figure import (
    _CMAP,
    ESCAPE_COLOR,
    MAX_ARROWS,
    PATH_COLOR,
    _figure,
    _legend_below,
    _style,
    _thin_line,
)
from ._fn import _Fn, _fn_label, _var_names
from ._runs import (
    _compare_runs,
    _describe,
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
    assert palette is not None  # set by putpalette above
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


def animate_path(result_or_results: Any, f: Any, path: Any, *, max_frames: int = 60,
                 fps: int = 15, title: str | None = None) -> Any:
    """A GIF of the path(s) growing over the curve or contours of ``f``.

    ``result_or_results`` is one Result, or a dict / list of them (one colour each, as in
    :func:`plot_compare`). At most ``max_frames`` frames are drawn (the steps are subsampled,
    the last one always included), so even a 100,000-step run makes a small file. Returns the
    figure in its last frame.
    """
    _check_animation(path, max_frames, fps)
    single = not isinstance(result_or_results, (Mapping, list, tuple))
    items = [("path", result_or_results)] if single else _named_results(result_or_results)
    runs, F, d, window = _compare_runs(items, f, None, PATH_COLOR if single else None)
    if single:
        r0 = items[0][1]
        runs[0].label = f"{_describe(r0)}: {_outcome(r0, runs[0])}"
    maximize = bool(getattr(items[0][1], "maximize", False))
    names = _var_names(F, items[0][1], d)
    hfs = [None if F is not None else np.asarray(res.history.fun, float) for _, res in items]

    fig = _figure()
    ax = fig.add_subplot()
    _style(ax)
    coords = _background(fig, ax, runs, F, d, window, names, hfs, maximize, single)
    artists = _path_artists(ax, runs, coords, "white" if d == 2 else "black")
    escapes = _hidden_escapes(ax, runs, coords, hfs, F, d, single)
    step_text = ax.text(0.02, 0.97, "", transform=ax.transAxes, ha="left", va="top", fontsize=11,
                        bbox=dict(boxstyle="round", fc="white", alpha=0.85), zorder=10)
    _legend_below(fig, ax)
    if title is None:
        title = (F.text if F.test_function is not None else _fn_label(F, ", ".join(names))) \
            if F is not None else "gradient descent"
    ax.set_title(title, fontsize=12)

    thresholds = _frame_steps(runs, single, max_frames)
    thin = [(_thin_line(len(Q), 1500), r.steps[: len(Q)]) for r, Q in zip(runs, coords)]
    frame = _frame_setter(artists, coords, thin, escapes, step_text, thresholds)
    moving = [a for trio in artists for a in trio] + [step_text] + \
        [a for _, arts in escapes for a in arts]
    images = _blit_frames(fig, ax, frame, len(thresholds), moving)
    path = os.fspath(path)
    buf = io.BytesIO()
    _write_gif(images, buf, fps, [r.color for r in runs])
    atomic_write_bytes(path, buf.getvalue())
    fig.canvas.draw()
    return fig


def _check_animation(path: Any, max_frames: Any, fps: Any) -> None:
    """Refuse a missing ``path``, a frame count that is not a positive whole number or an
    ``fps`` outside 1..100."""
    if path is None:
        raise ParameterError("animate_path needs path= (the .gif file to write)")
    if isinstance(max_frames, bool) or not isinstance(max_frames, (int, np.integer)) \
            or max_frames < 1:
        raise ParameterError(f"max_frames must be a positive whole number, got {max_frames!r}")
    if isinstance(fps, bool) or not isinstance(fps, (int, float, np.number)) or not 0 < fps <= 100:
        raise ParameterError(f"fps must be a number from 1 to 100, got {fps!r}")


def _background(fig: Any, ax: Any, runs: list[_Run], F: _Fn | None, d: int,
                window: np.ndarray, names: Sequence[str], hfs: list, maximize: bool,
                single: bool) -> list[np.ndarray]:
    """Draw what does not move (contours or the curve, known minima); returns the runs'
    points in plot coordinates."""
    if d == 2:
        if F is not None:
            _contour(fig, ax, F, window, names, maximize=maximize,
                     cmap=_CMAP if single else _compare_cmap())
        else:
            _plane_axes(ax, window, names)
        _known_minima(ax, F, window)
        return [r.P[: r.m] for r in runs]
    coords = [_plot_coords(r, F, 1, hf) for r, hf in zip(runs, hfs)]
    _curve(ax, F, window, names[0], np.concatenate([q[:, 1] for q in coords]),
           color="#1f3b73" if single else "0.35")
    return coords


def _path_artists(ax: Any, runs: list[_Run], coords: list[np.ndarray], edge: str) -> list:
    """Each run's (line, dots, head), empty for now, and its start point, drawn."""
    artists = []
    for r, Q in zip(runs, coords):
        line, = ax.plot([], [], "-", color=r.color, lw=1.8, zorder=5, label=r.label)
        dots, = ax.plot([], [], "o", color=r.color, ms=3.5, zorder=5, mew=0)
        head, = ax.plot([], [], "o", color=r.color, ms=9, mec=edge, zorder=6)
        if len(Q):
            ax.plot([Q[0, 0]], [Q[0, 1]], "o", ms=7, color=r.color, mec=edge, alpha=0.6, zorder=4)
        artists.append((line, dots, head))
    return artists


def _hidden_escapes(ax: Any, runs: list[_Run], coords: list[np.ndarray], hfs: list,
                    F: _Fn | None, d: int, single: bool) -> list[tuple[int, list]]:
    """The divergence marks of the diverged runs, drawn hidden: ``(last step, artists)``."""
    escapes = []
    for r, Q, hf in zip(runs, coords, hfs):
        if r.diverged:
            before = set(map(id, [*ax.lines, *ax.texts, *ax.patches]))
            _mark_divergence(ax, r, Q, _next_coords(r, F, d, hf), color=r.color if not single
                             else ESCAPE_COLOR, text=single)
            new = [a for a in [*ax.lines, *ax.texts, *ax.patches] if id(a) not in before]
            for a in new:
                a.set_visible(False)
            escapes.append((int(r.steps[r.m - 1]) if r.m else 0, new))
    return escapes


def _frame_steps(runs: list[_Run], single: bool, max_frames: int) -> np.ndarray:
    """The step shown by each frame (the last one always the final step drawn)."""
    ends = [int(r.steps[r.m - 1]) if r.m else 0 for r in runs]
    smax = max(ends) if ends else 0
    if single and runs[0].m:
        r = runs[0]
        pick = np.unique(np.linspace(0, r.m - 1, min(int(max_frames), r.m)).round().astype(int))
        return r.steps[pick]
    return np.unique(np.linspace(0, smax, min(int(max_frames), smax + 1)).round().astype(int))


def _frame_setter(artists: list, coords: list[np.ndarray], thin: list,
                  escapes: list[tuple[int, list]], step_text: Any,
                  thresholds: np.ndarray) -> Callable[[int], list]:
    """A function that sets the moving artists to frame ``j``."""

    def frame(j: int) -> list:
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
        return []

    return frame


def _blit_frames(fig: Any, ax: Any, frame: Callable[[int], list], n: int,
                 moving: list) -> list[np.ndarray]:
    """The RGB image of each of the ``n`` frames, by blitting the ``moving`` artists."""
    # lay the figure out once (with the last frame's text) and freeze it; draw everything that
    # does not move once, then each frame is that background plus the moving artists
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
