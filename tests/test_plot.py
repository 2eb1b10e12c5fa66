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


# ---- what the 1-D pictures call a minimum (item: the local-minimum lesson) ---------------

def extrema(ax) -> dict[str, str]:
    """gid -> legend label of the marked minima (maxima)."""
    return {ln.get_gid(): ln.get_label() for ln in ax.get_lines()
            if (ln.get_gid() or "").startswith("extremum")}


def gid_texts(fig, gid) -> list[str]:
    from matplotlib.text import Text

    return [t.get_text() for t in fig.findobj(Text) if t.get_gid() == gid]


def legend_texts(fig) -> list[str]:
    return [t.get_text() for leg in [*fig.legends, *[a.get_legend() for a in fig.axes]]
            if leg is not None for t in leg.get_texts()]


def test_a_local_minimum_is_drawn_as_local_and_the_lower_one_shown(tmp_path):
    f = "x**4 - 3*x**2 + x"  # local minimum near 1.13 (f = -1.07), global near -1.30 (-3.51)
    res = gdlab.minimize(f, x0=2, lr=0.01)
    assert res.x[0] == pytest.approx(1.1309, abs=1e-3)
    fig = plot.plot_path(res, f, path=tmp_path / "local.png")
    assert_picture(tmp_path / "local.png")
    ax = fig.axes[0]
    # the window was widened to the lower region
    assert ax.get_xlim()[0] < -1.30 < 1.13 < ax.get_xlim()[1]
    marks = extrema(ax)
    assert marks["extremum"].startswith("lowest minimum of f: (-1.30")
    assert marks["extremum-local"].startswith("local minimum: (1.13")
    assert not any(lab.startswith("minimum of f") for lab in legend_texts(fig))
    assert "to a local minimum" in ax.get_title()
    assert any(lab.startswith("end (1.131") and lab.endswith("a local minimum")
               for lab in legend_texts(fig))
    # maximize: the same lesson with maxima
    up = gdlab.maximize(f"-({f})", x0=2, lr=0.01)
    ax = plot.plot_path(up, f"-({f})").axes[0]
    marks = extrema(ax)
    assert marks["extremum"].startswith("highest maximum of f: (-1.30")
    assert marks["extremum-local"].startswith("local maximum: (1.13")
    assert "to a local maximum" in ax.get_title()


def test_the_only_minimum_in_view_is_still_the_minimum():
    f = Function(X**2 + 2 * X + 3)
    fig = plot.plot_path(gdlab.minimize(f, 3.0, lr=0.1), f)
    ax = fig.axes[0]
    assert extrema(ax) == {"extremum": "minimum of f: (-1, 2)"}
    assert "local" not in ax.get_title() and not gid_texts(fig, "beyond")


def test_lower_values_beyond_the_window_are_marked_at_its_edge():
    # x^3 - 3x: the run stops at the local minimum x = 1; left of -2, f falls without end
    res = gdlab.minimize("x**3 - 3*x", x0=0.5, lr=0.1)
    fig = plot.plot_path(res, "x**3 - 3*x")
    ax = fig.axes[0]
    assert extrema(ax) == {"extremum-local": "local minimum: (1, -2)"}
    (note,) = gid_texts(fig, "beyond")
    assert note.startswith("farther left, f keeps going down")
    assert ax.get_xlim()[0] < -2.0  # widened to where f is lower than the local minimum
    assert "to a local minimum" in ax.get_title()
    # a far-away lower minimum (more than _WIDEN windows away) is pointed at, not drawn
    g = "-exp(-10*x**2) - 2*exp(-(x-9)**2)"
    fig = plot.plot_path(gdlab.minimize(g, x0=0.05, lr=0.02), g)
    ax = fig.axes[0]
    assert ax.get_xlim()[1] < 1
    (note,) = gid_texts(fig, "beyond")
    assert note.startswith("f is lower to the right:") and "x ≈ 9" in note
    assert list(extrema(ax)) == ["extremum-local"]
    # plot_function: a minimum lower than the curve's edge is only a local one
    ax = plot.plot_function("x**3 - 3*x").axes[0]
    assert extrema(ax) == {"extremum-local": "local minimum: (1, -2)"}


# ---- titles of ascent, file names in the place of f, three or more variables -------------

def test_ascent_pictures_say_ascent(tmp_path):
    hill = "-(x - 1)**2 - (y + 2)**2 + 3"
    up = gdlab.maximize(hill, x0=[0, 0], lr=0.1)
    fig = plot.plot_path(up, hill, path=tmp_path / "up.png")
    assert "gradient ascent (maximize)" in fig.axes[0].get_title()
    # the colour bar ends at the top level (no blank band past it)
    cbar = fig.axes[1]
    assert cbar.get_ylim()[1] <= 3.0 + 1e-9
    img = load(tmp_path / "up.png")
    fig.canvas.draw()
    bb = cbar.get_window_extent()
    top = img[int(600 - bb.y1) + 3: int(600 - bb.y1) + 12, int(bb.x0) + 3: int(bb.x1) - 3]
    assert np.abs(top - 255).max() > 30, "the colour bar's top is blank"
    assert "gradient ascent" in plot.plot_path(up).axes[0].get_title()  # no f
    one = gdlab.maximize("-(x - 1)**2 + 3", x0=0.0, lr=0.1)
    assert "gradient ascent" in plot.plot_path(one, "-(x - 1)**2 + 3").axes[0].get_title()
    runs = {"lr 0.1": up, "lr 0.3": gdlab.maximize(hill, x0=[0, 0], lr=0.3)}
    assert "gradient ascent" in plot.plot_compare(runs, hill).axes[0].get_title()
    fig = plot.plot_compare(runs, hill, with_loss=True)
    assert "gradient ascent" in fig.get_suptitle()
    fig = plot.animate_path(up, hill, tmp_path / "up.gif", max_frames=5)
    assert "gradient ascent" in fig.axes[0].get_title()
    fig = plot.animate_path(runs, hill, tmp_path / "up2.gif", max_frames=5)
    assert "gradient ascent" in fig.axes[0].get_title()
    # descent titles are as they were
    down = gdlab.minimize("x**2 + y**2", x0=[1, 1], lr=0.1)
    assert "ascent" not in plot.plot_path(down, "x**2 + y**2").axes[0].get_title()


def test_a_file_name_in_the_place_of_f_is_the_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = gdlab.minimize("x**2 + y**2", x0=[1, 1], lr=0.1)
    plot.plot_path(res, "out.png")
    assert_picture(tmp_path / "out.png")
    plot.plot_path(res, tmp_path / "out2.png")  # a path object
    assert_picture(tmp_path / "out2.png")
    plot.plot_path(res, "out.svg")
    assert (tmp_path / "out.svg").read_bytes().lstrip().startswith(b"<?xml")
    plot.plot_compare([res], "cmp.png")
    assert_picture(tmp_path / "cmp.png")
    plot.animate_path(res, "run.gif", max_frames=4)
    with Image.open(tmp_path / "run.gif") as im:
        assert im.format == "GIF"
    with pytest.raises(ParameterError, match="path="):
        plot.plot_path(res, "out.png", path="other.png")
    plot.plot_path(res, "still.gif")  # a still picture (matplotlib writes GIFs)
    with Image.open(tmp_path / "still.gif") as im:
        assert im.format == "GIF" and im.size == (800, 600)
    assert not (tmp_path / "other.png").exists()


def test_three_variables_draw_f_and_grad_per_step_with_the_stop_reason(tmp_path):
    f3 = "x**2 + 2*y**2 + 3*z**2"
    res3 = gdlab.minimize(f3, [1, 1, 1], lr=0.1)
    fig = plot.plot_path(res3, f3, path=tmp_path / "three.png")
    assert_picture(tmp_path / "three.png")
    fax, gax = fig.axes
    lines = {ln.get_gid(): ln for ax in fig.axes for ln in ax.get_lines() if ln.get_gid()}
    assert np.allclose(lines["f-per-step"].get_ydata(), res3.history.fun)
    assert np.allclose(lines["grad-per-step"].get_ydata(), res3.history.grad_norm)
    assert fax.get_yscale() == "log" and gax.get_xlabel() == "step"
    assert "3 variables" in fax.get_title()
    entries = legend_texts(fig)
    assert any(e.startswith("stop reason: converged") for e in entries)
    assert f"converged in {res3.nit} steps" in entries
    # no f, and a diverged run: the last finite value is marked
    bad = gdlab.minimize(f3, [1, 1, 1], lr=0.4)
    fig = plot.plot_path(bad, path=tmp_path / "three_div.png")
    assert f"diverged at step {bad.diverged_step}" in legend_texts(fig)
    # several runs of three variables compare the same way
    fig = plot.plot_compare({"lr 0.1": res3, "lr 0.4": bad}, f3, path=tmp_path / "c3.png")
    entries = legend_texts(fig)
    assert f"lr 0.1: f={res3.fun:.3g}, {res3.nit} steps" in entries
    assert f"lr 0.4: diverged at step {bad.diverged_step}" in entries
    # an animation cannot show it, and says what can
    with pytest.raises(ParameterError, match="a picture .* shows f and norm"):
        plot.animate_path(res3, f3, tmp_path / "three.gif")
    # the command line draws it (it refused before)
    from gdlab.cli import main

    assert main(["minimize", f3, "--x0", "1,1,1", "--lr", "0.1", "--plot",
                 str(tmp_path / "cli3.png")]) == 0
    assert_picture(tmp_path / "cli3.png")


# ---- the new statuses and bounds on the pictures -------------------------------------------

def test_unbounded_runs_leave_the_window_marked_unbounded(tmp_path):
    for f, x0, lr in (("-x**2", 1.0, 0.5), ("-x**2 - y**2", [1.0, 0.5], 0.3)):
        res = gdlab.minimize(f, x0=x0, lr=lr)
        assert res.status == "unbounded"
        fig = plot.plot_path(res, f, path=tmp_path / "unb.png")
        assert_picture(tmp_path / "unb.png")
        ax = fig.axes[0]
        (note,) = gid_texts(fig, "unbounded")
        assert note.startswith(f"unbounded at step {res.nit}")
        assert not gid_texts(fig, "diverged") and "diverged" not in legend_texts(fig)
        assert "unbounded" in legend_texts(fig)
        assert f"unbounded at step {res.nit}" in ax.get_title()
        # the window is the path's start, not the 1e10-wide escape
        assert ax.get_xlim()[1] < 100
        # the X sits on the window's edge, the way the path went (to larger x)
        (mark,) = [ln for ln in ax.get_lines() if ln.get_label() == "unbounded"]
        assert mark.get_xdata()[0] == pytest.approx(ax.get_xlim()[1]) or \
            mark.get_ydata()[0] == pytest.approx(min(ax.get_ylim()))
    runs = [gdlab.minimize("-x**2", x0=1.0, lr=0.5), gdlab.minimize("x**2", x0=1.0, lr=0.1)]
    entries = legend_texts(plot.plot_compare(runs, "x**2"))
    assert any(e.endswith(f"unbounded at step {runs[0].nit}") for e in entries)


def test_undefined_runs_end_at_the_last_point_where_f_was_defined(tmp_path):
    res = gdlab.minimize("log(x)", x0=1.0, lr=0.5)
    assert res.status == "undefined" and res.nit == 2
    fig = plot.plot_path(res, "log(x)", path=tmp_path / "undef.png")
    assert_picture(tmp_path / "undef.png")
    (note,) = gid_texts(fig, "undefined")
    assert note == "f undefined at step 2\n(x = -0.5)"
    assert "f undefined at step 2" in fig.axes[0].get_title()
    entries = legend_texts(fig)
    assert any(e.startswith("last point where f is defined (step 1): (0.5)") for e in entries)
    path = next(ln for ln in fig.axes[0].get_lines() if ln.get_gid() == "path")
    assert np.allclose(path.get_xdata(), [1.0, 0.5])  # the undefined point is not on the path
    # two variables
    f2 = "log(x) + log(y) + x**2"
    res = gdlab.minimize(f2, x0=[1.0, 1.0], lr=0.7)
    fig = plot.plot_path(res, f2, path=tmp_path / "undef2.png")
    assert_picture(tmp_path / "undef2.png")
    assert gid_texts(fig, "undefined")[0].startswith("f undefined at step 1")
    ax = fig.axes[0]
    assert ax.get_xlim()[0] < -1.1  # the point where f is undefined is in view
    # a step far out of the domain is marked where it leaves the view (the window stays near)
    res = gdlab.minimize("log(x) + 1000*x", x0=1.0, lr=0.1)
    assert res.status == "undefined" and res.x[0] < -90
    fig = plot.plot_path(res, "log(x) + 1000*x")
    assert fig.axes[0].get_xlim()[0] > -5
    assert gid_texts(fig, "undefined") == ["f undefined at step 1\n(x = -99.1)"]
    # undefined at the start: the window reaches the domain, so the picture shows where to start
    res = gdlab.minimize("log(x)", x0=-1.0, lr=0.5)
    fig = plot.plot_path(res, "log(x)")
    assert gid_texts(fig, "undefined")[0].startswith("f undefined at the start")
    curve = next(ln for ln in fig.axes[0].get_lines() if ln.get_gid() == "curve")
    assert np.isfinite(curve.get_ydata()).any()
    # in a comparison's legend
    runs = {"lr 0.5": gdlab.minimize("log(x) + x**2", x0=1.0, lr=0.9),
            "lr 0.1": gdlab.minimize("log(x) + x**2", x0=1.0, lr=0.1)}
    assert runs["lr 0.5"].status == "undefined"
    entries = legend_texts(plot.plot_compare(runs, "log(x) + x**2"))
    assert f"lr 0.5: f undefined at step {runs['lr 0.5'].nit}" in entries


def test_flat_regions_are_called_flat(tmp_path):
    res = gdlab.minimize("tanh(x)**2", x0=10.0, lr=0.1)
    assert res.status == "flat"
    fig = plot.plot_path(res, "tanh(x)**2", path=tmp_path / "flat.png")
    assert_picture(tmp_path / "flat.png")
    assert gid_texts(fig, "flat")[0].startswith("flat region")
    assert "flat region" in fig.axes[0].get_title()
    assert any(e.endswith(": a flat region") for e in legend_texts(fig))
    entries = legend_texts(plot.plot_compare({"far": res}, "tanh(x)**2"))
    assert entries[-1].startswith("far: flat region, f=1")


def test_bounded_runs_show_their_box(tmp_path):
    res = gdlab.minimize("(x-3)**2", x0=0.0, lr=0.1, bounds=[(-1, 1)])
    fig = plot.plot_path(res, "(x-3)**2", path=tmp_path / "b1.png")
    assert_picture(tmp_path / "b1.png")
    ax = fig.axes[0]
    assert "bounds: -1 ≤ x ≤ 1" in legend_texts(fig)
    assert ax.get_xlim()[0] < -1 and ax.get_xlim()[1] > 1  # the whole box is in view
    # the end at the bound is said to be at a bound, and is not a minimum of f
    assert any(e.startswith("end (1), f = 4: at a bound") for e in legend_texts(fig))
    assert "extremum" not in extrema(ax) and "local" not in ax.get_title()
    res = gdlab.minimize("(x-3)**2+(y+2)**2", x0=[0, 0], lr=0.1, bounds=[(-1, 1), (None, None)])
    fig = plot.plot_path(res, "(x-3)**2+(y+2)**2", path=tmp_path / "b2.png")
    assert_picture(tmp_path / "b2.png")
    assert "bounds: -1 ≤ x ≤ 1, y free" in legend_texts(fig)
    box = [ln for ln in fig.axes[0].get_lines() if ln.get_linestyle() == "--"]
    assert any(np.allclose(sorted(set(ln.get_xdata())), [-1, 1]) for ln in box)
    runs = [res, gdlab.minimize("(x-3)**2+(y+2)**2", x0=[0, 0], lr=0.05,
                                bounds=[(-1, 1), (None, None)])]
    assert "bounds: -1 ≤ x ≤ 1, y free" in legend_texts(plot.plot_compare(runs, "(x-3)**2"
                                                                           "+(y+2)**2"))
    # an unbounded run has no box
    free = gdlab.minimize("(x-3)**2", x0=0.0, lr=0.1)
    assert not any(e.startswith("bounds") for e in legend_texts(plot.plot_path(free, "(x-3)**2")))


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
    # named points, one colour each, on the curve (the demo's "where each method ended")
    fig = plot.plot_function("x**2", bounds=(-2, 2), marks={"ends": [-1.0, 0.5], "one": 1.5})
    marks = [ln for ln in fig.axes[0].get_lines() if ln.get_gid() == "mark"]
    assert [m.get_label() for m in marks] == ["ends", "one"]
    assert np.allclose(marks[0].get_ydata(), [1.0, 0.25])
    assert marks[0].get_color() != marks[1].get_color()
    with pytest.raises(ParameterError, match="marks"):
        plot.plot_function("x**2 + y**2", marks={"bad": [1.0, 2.0, 3.0]})


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
