"""The demo's claims hold: checked here, not only printed."""

import os
import re

import numpy as np
from PIL import Image

from gdlab.demo import DoubleWell, nonconvex_escape, run_demo


def test_double_well_gradient_matches_finite_differences():
    obj = DoubleWell()
    X = np.array([[0.7], [-1.3], [2.0]])
    for w in (-1.5, -0.2, 0.4, 1.1):
        f, g = obj.value_and_grad(np.array([w]), X, None)
        h = 1e-6
        num = (obj.value(np.array([w + h]), X, None)
               - obj.value(np.array([w - h]), X, None)) / (2 * h)
        assert abs(g[0] - num) < 1e-6


def test_full_batch_gd_stays_in_the_poor_minimum_and_sgd_escapes():
    ends = nonconvex_escape(range(10))
    full = np.array(ends["full-batch GD"])
    sgd = np.array(ends["mini-batch SGD"])
    # the poor local minimum of (w^2-1)^2 - 0.3 w is near -0.96, the global one near 1.04
    assert np.all(np.abs(full + 0.96) < 0.02)
    assert np.sum(np.abs(sgd - 1.04) < 0.05) >= 8


def test_demo_runs_and_draws_a_picture_for_every_step(capsys, tmp_path):
    folder = tmp_path / "pictures"
    assert run_demo(quick=True, plots=str(folder)) == 0
    out = capsys.readouterr().out
    for part in ("1. Derivatives", "2x + 2".replace("2x", "2*x"), "6. MLP", "Done in"):
        assert part in out
    # every file written is printed, and every lecture step printed has its picture
    written = [line.split("picture: ", 1)[1] for line in out.splitlines()
               if line.startswith("picture: ")]
    assert sorted(os.path.basename(p) for p in written) == sorted(os.listdir(folder))
    steps = {int(m) for m in re.findall(r"^(\d)\. ", out, flags=re.M)}
    assert steps == {1, 2, 3, 4, 5, 6}
    assert {int(os.path.basename(p).split("-")[0]) for p in written} == steps
    assert len(written) >= 9  # step 2 has four: descent, learning rates, ascent, Rosenbrock
    for p in written:
        with Image.open(p) as im:
            assert im.format == "PNG" and im.size == (800, 600)
