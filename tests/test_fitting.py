"""fit_data: the API behind `gdlab fit`."""

import numpy as np
import pytest

from gdlab.errors import GdlabError
from gdlab.models.fitting import fit_data, looks_like_classes


def test_regression_dataset_gets_a_linear_model_and_the_closed_form_gap():
    est, s = fit_data("diabetes")
    assert s["model"] == "LinearRegression" and not s["streamed"]
    assert s["closed_form"]["r2_gap"] < 1e-3
    assert 0.3 < s["test_score"] < 0.7 and s["n_samples"] == 442


def test_class_labels_get_softmax_and_files_are_streamed(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3))
    y = np.argmax(X @ np.array([[2.0, -1.0, 0.0], [0.0, 2.0, -2.0], [1.0, 0.0, 1.0]]), axis=1)
    path = tmp_path / "c.csv"
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", header="a,b,c,label", comments="")
    est, s = fit_data(str(path), "label", epochs=30)
    assert s["model"] == "SoftmaxRegression" and s["streamed"]
    assert s["train_score"] > 0.9 and s["test_score"] > 0.85
    assert s["n_train"] + s["n_test"] == 400 and 60 < s["n_test"] < 140
    assert list(est.classes_) == [0.0, 1.0, 2.0]


def test_looks_like_classes():
    assert looks_like_classes(np.array([0, 1, 2, 1, 0] * 10))
    assert not looks_like_classes(np.linspace(0, 1, 50))


@pytest.mark.parametrize("kw", [dict(model="tree"), dict(model="linear", activation="relu"),
                                dict(resume=True), dict(test_fraction=1.5),
                                dict(model="softmax", loss="rmse")])
def test_bad_settings_are_refused(kw):
    with pytest.raises(GdlabError):
        fit_data("iris", **kw)
