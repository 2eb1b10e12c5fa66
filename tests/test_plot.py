"""gdlab.plot: the pictures are opened and looked at (PIL + numpy), not just produced.

Checks: size (800 x 600), not blank, byte-identical for the same input, the path's start and
end drawn where the result says (data -> pixel through ``ax.transData``), diverged runs
labelled, tangent slopes equal to the derivative, the comparison legend outside the axes,
loss curves, fits and decision regions of scikit-learn estimators, and a bounded GIF.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
import sympy
from PIL import Image, ImageSequence

import gdlab
from gdlab import plot
from gdlab.calculus import Function
from gdlab.errors import ParameterError
from gdlab.functions import get as get_test_function
from gdlab.result import History, Result

X, Y = sympy.symbols("x y", real=True)
MAGENTA = "#ff00ff"
MAGENTA_RGB = np.array([255, 0, 255])


def named(name: str) -> Function:
    """A named test function; through the formula parser, or sympy if it is not there."""
    try:
        return Function(name)
    except ImportError:
        tf = get_test_function(name)
        expr = sympy.sympify(tf.formula.replace("^", "**"), locals={"x": X, "y": Y})
        fn = Function(expr, ("x", "y"))
        fn.test_function = tf
        return fn


def load(path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB")).astype(int)


def assert_picture(path, size=(800, 600)) -> np.ndarray:
    with Image.open(path) as im:
        assert im.format == "PNG"
        assert im.size == size
    img = load(path)
    assert img.std() > 20, "the picture is (nearly) blank"
    colours = np.unique(img.reshape(-1, 3), axis=0)
    assert len(colours) > 50, f"only {len(colours)} colours"
    return img


def pixel_of(fig, ax, point) -> tuple[int, int]:
    """(row, column) of a data point in the saved PNG (same dpi as the figure)."""
    fig.canvas.draw()
    x, y = ax.transData.transform(np.asarray(point, dtype=float))
    height = fig.bbox.height
    return int(round(height - y)), int(round(x))


def has_colour_near(img, rc, rgb, radius=3, tol=40) -> bool:
    r, c = rc
    patch = img[max(r - radius, 0): r + radius + 1, max(c - radius, 0): c + radius + 1]
    dist = np.abs(patch - np.asarray(rgb)).max(axis=-1)
    return bool((dist <= tol).any())


def texts(fig) -> list[str]:
    from matplotlib.text import Text

    return [t.get_text() for t in fig.findobj(Text)]


@pytest.fixture(scope="module")
def rosen():
    return named("rosenbrock")


@pytest.fixture(scope="module")
def adam_run(rosen):
    return gdlab.minimize(rosen, [-1.5, 2.0], optimizer="adam", lr=0.05, max_iter=1500)


# ---- plot_path -------------------------------------------------------------------------------

def test_path_2d_size_content_determinism(tmp_path, rosen, adam_run):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    plot.plot_path(adam_run, rosen, path=a)
    plot.plot_path(adam_run, rosen, path=b)
    assert_picture(a)
    assert a.read_bytes() == b.read_bytes()
    # written atomically: nothing else left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "b.png"]


def test_path_start_and_end_are_where_the_result_says(tmp_path, rosen, adam_run):
    out = tmp_path / "p.png"
    fig = plot.plot_path(adam_run, rosen, path=out, color=MAGENTA)
    img = assert_picture(out)
    ax = fig.axes[0]
    start = adam_run.history.x[0]
    assert has_colour_near(img, pixel_of(fig, ax, start), MAGENTA_RGB)
    assert has_colour_near(img, pixel_of(fig, ax, adam_run.x), MAGENTA_RGB)
    # and not just anywhere: a corner of the window has no path colour
    lo = np.array([ax.get_xlim()[0], ax.get_ylim()[0]])
    hi = np.array([ax.get_xlim()[1], ax.get_ylim()[1]])
    corner = lo + 0.03 * (hi - lo)
    assert not has_colour_near(img, pixel_of(fig, ax, corner), MAGENTA_RGB)
    # the known minimum of the named function is marked
    assert any("global minimum" in t for t in texts(fig))


def test_path_1d_tangents_have_the_derivative_as_slope(tmp_path):
    f = Function(X**2 + 2 * X + 3)
    res = gdlab.minimize(f, 3.0, lr=0.1)
    out = tmp_path / "one.png"
    fig = plot.plot_path(res, f, path=out, color=MAGENTA)
    img = assert_picture(out)
    ax = fig.axes[0]
    lines = {ln.get_gid(): ln for ln in ax.get_lines() if ln.get_gid()}
    for gid, x0 in (("tangent-start", res.history.x[0, 0]), ("tangent-end", res.x[0])):
        xs, ys = (np.asarray(v, dtype=float) for v in lines[gid].get_data())
        slope = (ys[-1] - ys[0]) / (xs[-1] - xs[0])
        assert slope == pytest.approx(2 * x0 + 2, abs=1e-6)
        # the tangent touches the curve at x0
        assert np.interp(x0, xs, ys) == pytest.approx(x0**2 + 2 * x0 + 3, rel=1e-9)
    assert ax.get_xlabel() == "x"
    # start (3, 18) and end (-1, 2) on the curve, in the path colour
    assert has_colour_near(img, pixel_of(fig, ax, (3.0, 18.0)), MAGENTA_RGB)
    assert has_colour_near(img, pixel_of(fig, ax, (res.x[0], res.fun)), MAGENTA_RGB)
    assert any(ln.get_gid() == "extremum" for ln in ax.get_lines())


@pytest.mark.parametrize("kind", ["formula", "callable"])
def test_diverged_run_is_drawn_and_labelled(tmp_path, kind):
    f = Function(X**2) if kind == "formula" else (lambda v: v**2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = gdlab.minimize(f, 1.0, lr=1.5)
        assert res.status == "diverged"
        out = tmp_path / "div.png"
        fig = plot.plot_path(res, f, path=out)
    assert_picture(out)
    step = res.reason.split("diverged at step ")[1].split(":")[0]
    assert any(f"diverged at step {step}" in t for t in texts(fig))
    # the view is the finite part near the start, not the 1e5-wide escape
    ax = fig.axes[0]
    assert ax.get_xlim()[1] - ax.get_xlim()[0] < 100


def test_diverged_2d_and_non_finite_points_never_crash(tmp_path):
    f = Function(X**2 + 10 * Y**2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = gdlab.minimize(f, [3.0, 1.0], lr=0.11)
        assert res.status == "diverged"
        fig = plot.plot_path(res, f, path=tmp_path / "d2.png")
        assert any("diverged at step" in t for t in texts(fig))
        # a history that reached inf/nan
        h = History()
        for k, p in enumerate([[1.0, 1.0], [-2.0, 3.0], [8.0, -20.0], [np.inf, np.nan]]):
            h.append(k, np.array(p), float(np.sum(np.square(p))), 1.0, 0.5)
        bad = Result(x=np.array([np.inf, np.nan]), fun=np.nan, grad=np.array([np.nan, np.nan]),
                     nit=3, converged=False, reason="diverged at step 3: the values became "
                     "infinite or NaN", history=h, variables=("x", "y"), status="diverged")
        fig = plot.plot_path(bad, lambda v: v[0] ** 2 + v[1] ** 2, path=tmp_path / "nan.png")
    assert_picture(tmp_path / "nan.png")
    assert any("diverged at step 3" in t for t in texts(fig))


def test_many_starts_faint_and_best_bold_deterministic(tmp_path):
    hb = named("himmelblau")

    def run():
        return gdlab.minimize(hb, optimizer="sgd", lr=0.01, restarts=12, seed=3,
                              bounds=hb.test_function.bounds)

    a, b = tmp_path / "m1.png", tmp_path / "m2.png"
    fig = plot.plot_path(run(), hb, path=a)
    plot.plot_path(run(), hb, path=b)
    assert_picture(a)
    assert a.read_bytes() == b.read_bytes()
    paths = [ln for ln in fig.axes[0].get_lines() if ln.get_gid() == "path"]
    faint = [ln for ln in paths if (ln.get_alpha() or 1) < 0.5]
    bold = [ln for ln in paths if (ln.get_alpha() or 1) == 1]
    assert len(faint) == 12 and len(bold) == 1
    assert bold[0].get_linewidth() > faint[0].get_linewidth()


def test_path_options_surface_gradients_and_no_f(tmp_path, rosen, adam_run):
    plot.plot_path(adam_run, rosen, surface=True, path=tmp_path / "s.png")
    assert_picture(tmp_path / "s.png")
    fig = plot.plot_path(adam_run, rosen, show_gradients=True, path=tmp_path / "g.png")
    assert_picture(tmp_path / "g.png")
    assert fig.axes[0].collections  # contours and the quiver
    # no function: the path alone, still a picture
    plot.plot_path(adam_run, path=tmp_path / "bare.png")
    assert_picture(tmp_path / "bare.png")
    res3 = gdlab.minimize(Function(X**2 + Y**2 + sympy.Symbol("z", real=True) ** 2), [1, 1, 1],
                          lr=0.1)
    with pytest.raises(ParameterError):
        plot.plot_path(res3)


# ---- plot_compare ----------------------------------------------------------------------------

def test_compare_legend_names_runs_and_sits_outside(tmp_path, rosen):
    runs = {name: gdlab.minimize(rosen, [-1.5, 2.0], optimizer=name, lr=lr, max_iter=600)
            for name, lr in (("sgd", 1e-3), ("momentum", 1e-3), ("adam", 0.05))}
    out = tmp_path / "cmp.png"
    fig = plot.plot_compare(runs, rosen, path=out)
    assert_picture(out)
    legend = fig.legends[0]
    entries = [t.get_text() for t in legend.get_texts()]
    for name, res in runs.items():
        want = f"{name}: f={res.fun:.3g}, {res.nit} steps"
        assert want in entries, (want, entries)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    lb = legend.get_window_extent(renderer)
    ab = fig.axes[0].get_window_extent(renderer)
    assert not lb.overlaps(ab), "the legend covers the axes"
    assert lb.x0 >= ab.x1
    # the loss panel
    fig2 = plot.plot_compare(runs, rosen, path=tmp_path / "cmp2.png", with_loss=True)
    assert_picture(tmp_path / "cmp2.png", size=(1200, 550))
    assert fig2.axes[1].get_yscale() == "log"


def test_compare_1d_with_a_diverged_rate(tmp_path):
    f = Function(X**2 + 2 * X + 3)
    runs = [gdlab.minimize(f, 3.0, lr=lr) for lr in (0.05, 0.9, 1.1)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = plot.plot_compare(runs, f, path=tmp_path / "c1.png")
    assert_picture(tmp_path / "c1.png")
    entries = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any(e.startswith("sgd lr=1.1: diverged at step") for e in entries)
    assert any(e.startswith("sgd lr=0.05: f=2") for e in entries)
    # the view follows the runs that converged
    assert fig.axes[0].get_xlim()[1] < 10


# ---- plot_loss, plot_fit, plot_decision_regions -----------------------------------------------

class _FakeEstimator:
    def __init__(self, history):
        self.history_ = history


def test_loss_curves(tmp_path):
    epochs = np.arange(40)
    gd = {"loss": list(np.exp(-epochs / 4) + 1e-3), "val_loss": list(np.exp(-epochs / 5) + 2e-3),
          "val_score": list(1 - np.exp(-epochs / 5))}
    sgd = _FakeEstimator({"loss": list(np.exp(-epochs / 8) + 1e-3), "val_loss": []})
    out = tmp_path / "loss.png"
    fig = plot.plot_loss([gd, sgd], labels=["full-batch GD", "mini-batch SGD"], path=out)
    assert_picture(out)
    assert fig.axes[0].get_yscale() == "log"  # > 2 decades
    labels = " | ".join(texts(fig))
    for want in ("full-batch GD: training loss", "full-batch GD: validation loss",
                 "mini-batch SGD: training loss", "validation score"):
        assert want in labels
    fig = plot.plot_loss({"loss": [3.0, 2.5, 2.2, 2.1]}, path=tmp_path / "lin.png")
    assert fig.axes[0].get_yscale() == "linear"
    res = gdlab.minimize(Function(X**2), 3.0, lr=0.1)
    plot.plot_loss(res.history, path=tmp_path / "hist.png")
    assert_picture(tmp_path / "hist.png")
    with pytest.raises(ParameterError):
        plot.plot_loss(object())


def test_fit_and_decision_regions_with_sklearn(tmp_path):
    sk_datasets = pytest.importorskip("sklearn.datasets")
    from sklearn.linear_model import LinearRegression, LogisticRegression

    rng = np.random.default_rng(0)
    Xr = rng.uniform(0, 5, (40, 1))
    yr = 2 * Xr[:, 0] + 1 + rng.normal(0, 0.3, 40)
    reg = LinearRegression().fit(Xr, yr)
    fig = plot.plot_fit(reg, Xr, yr, path=tmp_path / "fit.png")
    assert_picture(tmp_path / "fit.png")
    ax = fig.axes[0]
    xs, ys = (np.asarray(v, dtype=float) for v in ax.get_lines()[0].get_data())
    assert np.allclose(ys, reg.predict(xs[:, None]))

    Xc, yc = sk_datasets.make_blobs(90, centers=3, random_state=0)
    clf = LogisticRegression().fit(Xc, yc)
    out = tmp_path / "regions.png"
    fig = plot.plot_decision_regions(clf, Xc, yc, path=out)
    img = assert_picture(out)
    entries = [t.get_text() for t in fig.legends[0].get_texts()]
    assert {"class 0", "class 1", "class 2"} <= set(entries)
    # every class's region colour is in the picture
    for hexc in plot._REGION_COLORS[:3]:
        rgb = np.array([int(hexc[i:i + 2], 16) for i in (1, 3, 5)])
        assert (np.abs(img - rgb).max(axis=-1) <= 3).sum() > 1000


# ---- plot_function -----------------------------------------------------------------------------

def test_plot_function(tmp_path, rosen):
    fig = plot.plot_function(rosen, path=tmp_path / "r.png", show_gradients=True)
    assert_picture(tmp_path / "r.png")
    ax = fig.axes[0]
    assert ax.get_xlim() == (-2.0, 2.0) and ax.get_ylim() == (-1.0, 3.0)  # the domain
    plot.plot_function(rosen, surface=True, path=tmp_path / "rs.png")
    assert_picture(tmp_path / "rs.png")
    fig = plot.plot_function(lambda v: np.sin(v) * v, path=tmp_path / "one.png")
    assert_picture(tmp_path / "one.png")
    assert fig.axes[0].get_xlim() == (-5.0, 5.0)
    plot.plot_function(lambda p: p[:, 0] ** 2 - p[:, 1] ** 2, bounds=[(-1, 1), (-2, 2)],
                       path=tmp_path / "saddle.png")
    assert_picture(tmp_path / "saddle.png")


# ---- animate_path ------------------------------------------------------------------------------

def _long_result(steps: int = 100_000) -> Result:
    """A 100,000-step spiral into the origin (built directly: no need to run that long)."""
    h = History()
    t = np.arange(steps + 1)
    r = 2.0 * np.exp(-t / 20_000)
    pts = np.column_stack([r * np.cos(t / 3000), r * np.sin(t / 3000)])
    for k in range(steps + 1):
        h.append(k, pts[k], float(pts[k] @ pts[k]), 0.0, 1e-3)
    return Result(x=pts[-1], fun=float(pts[-1] @ pts[-1]), grad=2 * pts[-1], nit=steps,
                  converged=False, reason="stopped: reached max_iter", history=h,
                  variables=("x", "y"), status="max_iter",
                  optimizer={"name": "sgd", "lr": 1e-3})


def test_gif_has_bounded_frames_and_small_size(tmp_path):
    res = _long_result()
    f = Function(X**2 + Y**2)
    out = tmp_path / "run.gif"
    plot.animate_path(res, f, out, max_frames=40, fps=15)
    assert out.stat().st_size < 2_000_000
    with Image.open(out) as im:
        assert im.format == "GIF"
        frames = [fr.convert("RGB") for fr in ImageSequence.Iterator(im)]
    assert 2 <= len(frames) <= 40
    first, last = (np.asarray(fr).astype(int) for fr in (frames[0], frames[-1]))
    assert np.abs(first - last).max() > 0  # the path grows
    assert last.std() > 20
    # several runs in one animation; nothing else left in the folder
    runs = {"a": gdlab.minimize(f, [2.0, 1.0], lr=0.1), "b": gdlab.minimize(f, [2.0, 1.0], lr=0.9)}
    plot.animate_path(runs, f, tmp_path / "two.gif", max_frames=10)
    with Image.open(tmp_path / "two.gif") as im:
        assert sum(1 for _ in ImageSequence.Iterator(im)) <= 10
    assert sorted(os.listdir(tmp_path)) == ["run.gif", "two.gif"]
