"""`gdlab fit` on a person's own file does what it does on bundled data: a test score, the
coefficients, the gap to least squares, text class labels, any common delimiter, messages
that name the flags, one line for constant columns, write errors that name the file."""

from __future__ import annotations

import errno
import json
import os

import numpy as np
import pytest

from csv_files import write_csv
from gdlab import persist
from gdlab.cli import main
from gdlab.data import RowSplit


def _regression(tmp_path, n=2000, d=4, seed=0, name="d.csv", **kw):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * np.arange(1, d + 1) + 10 * np.arange(d)
    coef = rng.uniform(-2, 2, size=d)
    y = X @ coef + 5 + 0.1 * rng.normal(size=n)
    return write_csv(tmp_path / name, X, y, **kw), X, y, coef


def _run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def _fit_json(capsys, *argv):
    code, out, err = _run(capsys, "fit", *argv, "--quiet", "--json")
    assert code == 0, err
    return json.loads(out)


def _one_error(err):
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gdlab: error: "), err
    assert "Traceback" not in err and "ValueError" not in err and "OSError" not in err
    return lines[0]


# ---- 1. the test split ------------------------------------------------------------------

def test_a_file_gets_a_test_score_from_a_streamed_split(tmp_path, capsys):
    path, X, y, _ = _regression(tmp_path)
    s = _fit_json(capsys, path, "--target", "y")
    mask = RowSplit(0.25, seed=0).test_mask(0, len(y))
    assert s["n_test"] == mask.sum() and s["n_train"] == len(y) - mask.sum()
    assert s["test_score"] is not None and s["test_score"] > 0.99
    assert _fit_json(capsys, path, "--target", "y") == {**s, "seconds": _any()}
    other = _fit_json(capsys, path, "--target", "y", "--seed", "1")
    assert other["n_test"] != s["n_test"] or other["test_score"] != s["test_score"]
    none = _fit_json(capsys, path, "--target", "y", "--test-fraction", "0")
    assert none["test_score"] is None and none["n_test"] == 0 and none["n_train"] == len(y)
    code, out, _ = _run(capsys, "fit", path, "--target", "y", "--quiet")
    assert code == 0 and "test R^2: " in out
    assert f"split: {len(y) - mask.sum()} rows to train, {mask.sum()} to test" in out


class _any:
    def __eq__(self, other):
        return True


# ---- 2. coefficients ----------------------------------------------------------------------

def test_coefficients_are_printed_and_in_the_json(tmp_path, capsys):
    path, X, y, coef = _regression(tmp_path, d=5, names=["a", "b", "c", "d", "e"])
    s = _fit_json(capsys, path, "--target", "y", "--epochs", "40")
    np.testing.assert_allclose(s["coef"], coef, atol=0.02)
    assert s["intercept"] == pytest.approx(5, abs=0.2)
    code, out, _ = _run(capsys, "fit", path, "--target", "y", "--quiet", "--epochs", "40")
    lines = out.splitlines()
    i = lines.index("coefficients (original feature scale):")
    assert lines[i + 1].split() == ["feature", "coef"]
    for k, name in enumerate("abcde"):
        assert lines[i + 2 + k].split()[0] == name
        assert float(lines[i + 2 + k].split()[1]) == pytest.approx(s["coef"][k], rel=1e-5)
    assert lines[i + 7].split()[0] == "(intercept)"


def test_only_the_twenty_largest_coefficients_are_printed(tmp_path, capsys):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(600, 25))
    coef = np.r_[np.zeros(5), np.linspace(1, 3, 20)]
    path = write_csv(tmp_path / "w.csv", X, X @ coef)
    code, out, _ = _run(capsys, "fit", path, "--target", "y", "--quiet", "--epochs", "30")
    assert "coefficients (original feature scale), the 20 largest in magnitude of 25:" in out
    printed = {line.split()[0] for line in out.splitlines() if line.startswith("  x")}
    assert printed == {f"x{j}" for j in range(6, 26)}
    assert len(_fit_json(capsys, path, "--target", "y", "--epochs", "3")["coef"]) == 25


def test_classifier_coefficients_per_class(tmp_path, capsys):
    s = _fit_json(capsys, "iris")
    assert np.shape(s["coef"]) == (3, 4) and len(s["intercept"]) == 3
    assert s["classes"] == [0.0, 1.0, 2.0] and "closed_form" not in s
    rng = np.random.default_rng(2)
    X = rng.normal(size=(500, 3))
    path = write_csv(tmp_path / "b.csv", X, (X[:, 0] > 0).astype(int))
    s = _fit_json(capsys, path, "--target", "y", "--model", "logistic", "--epochs", "30")
    assert np.shape(s["coef"]) == (1, 3) and s["coef"][0][0] > 1
    code, out, _ = _run(capsys, "fit", path, "--target", "y", "--model", "logistic", "--quiet")
    assert "class 1" in out.splitlines()[out.splitlines().index(
        "coefficients (original feature scale):") + 1]


# ---- 3. the gap to least squares ------------------------------------------------------------

def test_the_gap_to_least_squares_on_a_file_is_numpys_lstsq(tmp_path, capsys):
    path, X, y, _ = _regression(tmp_path, n=3000, d=6, seed=4)
    s = _fit_json(capsys, path, "--target", "y")
    train = ~RowSplit(0.25, seed=0).test_mask(0, len(y))
    A = np.column_stack([X[train], np.ones(train.sum())])
    ref = np.linalg.lstsq(A, y[train], rcond=None)[0]
    cf = s["closed_form"]
    np.testing.assert_allclose(cf["lstsq_coef"], ref[:-1], rtol=1e-8, atol=1e-10)
    assert cf["lstsq_intercept"] == pytest.approx(ref[-1], rel=1e-8)
    ss = np.sum((y[train] - y[train].mean()) ** 2)
    r2_ls = 1 - np.sum((y[train] - A @ ref) ** 2) / ss
    gd = np.r_[s["coef"], s["intercept"]]
    r2_gd = 1 - np.sum((y[train] - A @ gd) ** 2) / ss
    assert cf["train_r2_lstsq"] == pytest.approx(r2_ls, abs=1e-12)
    assert cf["train_r2_gd"] == pytest.approx(r2_gd, abs=1e-12)
    assert cf["r2_gap"] == pytest.approx(r2_ls - r2_gd, abs=1e-12)
    assert cf["max_coef_gap"] == pytest.approx(np.max(np.abs(ref[:-1] - s["coef"])), rel=1e-6)
    assert s["train_score"] == pytest.approx(r2_gd, abs=1e-9)
    code, out, _ = _run(capsys, "fit", path, "--target", "y", "--quiet")
    assert f"closed form (lstsq): train R^2 {r2_ls:.6f}, gap to GD" in out


def test_the_gap_is_skipped_past_the_feature_limit_and_says_so(tmp_path, capsys, monkeypatch):
    from gdlab.data import moments
    monkeypatch.setattr(moments, "MAX_FEATURES", 3)
    path, *_ = _regression(tmp_path)
    s = _fit_json(capsys, path, "--target", "y")
    assert s["closed_form"] is None
    assert s["closed_form_skipped"] == "4 features (computed for at most 3)"
    code, out, _ = _run(capsys, "fit", path, "--target", "y", "--quiet")
    assert "closed form (lstsq): skipped: 4 features (computed for at most 3)" in out


# ---- 4. text class labels -------------------------------------------------------------------

def test_text_labels_train_a_classifier_that_predicts_them(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(800, 2))
    labels = np.where(X[:, 0] - X[:, 1] > 0, "dog", "cat")
    path = write_csv(tmp_path / "pets.csv", X, labels, target="animal")
    model = str(tmp_path / "pets.gdlab")
    s = _fit_json(capsys, path, "--target", "animal", "--out", model)
    assert s["model"] == "SoftmaxRegression" and s["classes"] == ["cat", "dog"]
    assert s["test_score"] > 0.95
    code, out, err = _run(capsys, "predict", model, path)
    assert code == 0, err
    pred = out.splitlines()[1:]
    assert set(pred) == {"cat", "dog"} and np.mean(np.array(pred) == labels) > 0.95
    code, out, err = _run(capsys, "evaluate", model, path, "--json")
    assert code == 0 and json.loads(out)["accuracy"] > 0.95, err
    s = _fit_json(capsys, path, "--target", "animal", "--model", "logistic")
    assert s["classes"] == ["cat", "dog"] and np.shape(s["coef"]) == (1, 2)
    (tmp_path / "bad.csv").write_text("a,b,animal\n1,2,cat\n2,x,dog\n")
    code, _, err = _run(capsys, "fit", str(tmp_path / "bad.csv"), "--target", "animal")
    assert code == 2
    assert _one_error(err).endswith("bad.csv, row 2, column 'b': not a number: 'x'")


# ---- 5. delimiters --------------------------------------------------------------------------

@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_other_delimiters_are_sniffed(tmp_path, capsys, delimiter):
    path, *_ = _regression(tmp_path, delimiter=delimiter)
    s = _fit_json(capsys, path, "--target", "y")
    assert s["feature_names"] == ["x1", "x2", "x3", "x4"] and s["test_score"] > 0.99


def test_the_delimiter_flag(tmp_path, capsys):
    path, *_ = _regression(tmp_path, delimiter=";")
    assert _fit_json(capsys, path, "--target", "y", "--delimiter", "semicolon")["n_features"] == 4
    code, _, err = _run(capsys, "fit", path, "--target", "y", "--delimiter", ",")
    assert code == 2 and "--target 'y' names no column of the file" in _one_error(err)
    code, _, err = _run(capsys, "fit", path, "--target", "y", "--delimiter", "ab")
    assert code == 2 and "argument --delimiter: expected one character" in err


# ---- 6. messages ----------------------------------------------------------------------------

def test_messages_name_the_flags_and_suggest(tmp_path, capsys):
    path, *_ = _regression(tmp_path)
    cases = [
        (["fit", path], "d.csv: give --target COLUMN (columns: 'x1', 'x2', 'x3', 'x4', 'y')"),
        (["fit", path, "--target", "Y"], "did you mean 'y'?"),
        (["fit", path, "--target", "y", "--features", "x1,x22"],
         "--features: 'x22' is no column of the file; did you mean 'x2'?"),
        (["fit", "iriss"], "no file or bundled dataset named 'iriss'; did you mean 'iris'?"),
        (["fit", path, "--target", "y", "--model", "softmax"],
         "--model softmax predicts classes, but the target 'y' holds continuous values"),
        (["fit", "iris", "--model", "logistic"],
         "--model logistic is for two classes; the target 'target' has 3: use --model softmax"),
        (["fit", path, "--target", "y", "--test-fraction", "1.5"],
         "--test-fraction must be in [0, 1), got 1.5"),
    ]
    for argv, words in cases:
        code, _, err = _run(capsys, *argv)
        line = _one_error(err)
        assert code == 2 and words in line, (argv, line)
        assert "X, y" not in line and "BatchStream" not in line and "target=" not in line
    (tmp_path / "one.csv").write_text("a,b,y\n1,2,1\n2,3,1\n3,1,1\n")
    code, _, err = _run(capsys, "fit", str(tmp_path / "one.csv"), "--target", "y", "--model",
                        "softmax")
    assert code == 2 and "the target 'y' has the single value 1.0: a classifier needs at " \
        "least two classes" in _one_error(err)


# ---- 7. constant columns --------------------------------------------------------------------

def test_constant_columns_are_one_line(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = np.column_stack([np.ones(300), rng.normal(size=300), np.zeros(300), np.full(300, 7.0)])
    path = write_csv(tmp_path / "c.csv", X, X[:, 1] * 2, names=["k1", "x", "k2", "k3"])
    code, out, err = _run(capsys, "fit", path, "--target", "y", "--quiet")
    assert code == 0 and "warning" not in err
    lines = [line for line in out.splitlines() if line.startswith("constant")]
    assert lines == ["constant columns (std 0; centred, not scaled): k1, k2, k3"]
    assert _fit_json(capsys, path, "--target", "y")["constant_columns"] == ["k1", "k2", "k3"]
    code, out, err = _run(capsys, "fit", "digits", "--quiet", "--epochs", "3")
    assert "warning" not in err and len([x for x in out.splitlines() if "constant" in x]) == 1
    assert "constant columns (std 0; centred, not scaled): pixel_0_0, " in out


# ---- 8. write errors name the file ----------------------------------------------------------

def test_a_full_disk_names_the_model_file_and_the_checkpoint(tmp_path, capsys, monkeypatch):
    def full(fh, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(persist, "_write", full)
    model = tmp_path / "m.gdlab"
    code, _, err = _run(capsys, "fit", "iris", "--quiet", "--out", str(model))
    assert code == 2
    assert _one_error(err) == f"gdlab: error: No space left on device: {model}"
    code, _, err = _run(capsys, "fit", "iris", "--quiet", "--checkpoint", str(tmp_path / "ck") +
                        os.sep, "--checkpoint-every", "5", "--epochs", "10")
    assert code == 2 and _one_error(err).endswith(
        f"No space left on device: {tmp_path / 'ck' / 'checkpoint.gdlab'}")
    assert not [p for p in tmp_path.rglob("*.tmp")]


def test_a_read_only_folder_names_the_target(tmp_path, capsys, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()
    if os.geteuid() == 0:  # root writes anyway: make the temporary file fail as it would
        def refused(*a, dir=None, **k):
            raise PermissionError(errno.EACCES, "Permission denied",
                                  os.path.join(dir, ".m.gdlab.abc123.tmp"))
        monkeypatch.setattr(persist.tempfile, "mkstemp", refused)
    else:
        folder.chmod(0o500)
    try:
        code, _, err = _run(capsys, "fit", "iris", "--quiet", "--out", str(folder / "m.gdlab"))
    finally:
        folder.chmod(0o700)
    assert code == 2
    assert _one_error(err) == f"gdlab: error: Permission denied: {folder / 'm.gdlab'}"


# ---- convergence and exit codes -------------------------------------------------------------

def test_not_converged_is_said_with_the_epochs_to_try(capsys):
    # averaged SGD on mini-batches needs far more than 7 epochs on diabetes
    code, out, err = _run(capsys, "fit", "diabetes", "--quiet", "--epochs", "7",
                          "--batch-size", "32")
    assert code == 0 and err == ""  # one line in the output, no warning besides
    last = out.splitlines()[-1]
    assert last.startswith("not converged after 7 epochs: the loss still fell by ")
    assert "; more with --epochs 14 (" in last
    assert _fit_json(capsys, "diabetes", "--epochs", "7", "--batch-size", "32")[
        "converged"] is False
    code, out, _ = _run(capsys, "fit", "diabetes", "--quiet")  # the defaults converge
    assert "not converged" not in out and out.splitlines()[-1].startswith("converged")


def test_a_diverged_fit_exits_with_1(capsys):
    code, out, err = _run(capsys, "fit", "diabetes", "--quiet", "--lr", "1000", "--epochs", "50")
    assert code == 1 and "diverged" in out.splitlines()[-1]
