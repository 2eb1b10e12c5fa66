"""``fit_data``: train a model on data named the way people name it, and summarize the run.

What ``gdlab fit`` does, as a function: open the data (a CSV or Parquet file, streamed in
bounded memory; an IDX pair; a bundled dataset; arrays), choose the model (linear for
real-valued targets, softmax for class labels, unless told), hold out a test fraction
(files: by a hash of the row index, while they stream), train (with checkpoints when
asked), and report the final loss, the scores, the coefficients, the gap to the
closed-form least-squares solution for linear regression, the stop reason and the time.
"""

from __future__ import annotations

import os
import time
import warnings
from typing import Any, Iterable

import numpy as np

from ..data._names import option
from ..errors import DataError, ParameterError

_FILE_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".pq")
MODELS = ("linear", "logistic", "softmax", "mlp")


def is_file_source(source: Any) -> bool:
    return isinstance(source, (str, os.PathLike)) and str(source).lower().endswith(_FILE_SUFFIXES)


def is_glob_source(source: Any) -> bool:
    """A glob of files (``'data/*.parquet'``) or a folder: data for a Dask cluster."""
    import glob as _glob
    return isinstance(source, (str, os.PathLike)) and (
        _glob.has_magic(os.fspath(source)) or os.path.isdir(os.fspath(source)))


def looks_like_classes(y: np.ndarray) -> bool:
    """Whole-number targets with few distinct values are class labels."""
    y = np.asarray(y)
    whole = bool(np.all(np.mod(y, 1) == 0)) if y.dtype.kind == "f" else y.dtype.kind in "iub"
    return whole and len(np.unique(y)) <= max(2, min(50, len(y) // 5))


def make_estimator(model: str, classification: bool, **params: Any) -> Any:
    """An estimator of :mod:`gdlab.models.estimators` by the CLI's model name."""
    from . import estimators as E
    if model not in MODELS:
        raise ParameterError(f"unknown model {model!r}: choose one of {', '.join(MODELS)}")
    if model != "mlp" and ({"hidden_layer_sizes", "activation"} & set(params)):
        raise ParameterError("hidden layer sizes and the activation are for the mlp model")
    if model != "linear" and "loss" in params:
        raise ParameterError("the loss (mse, rmse, half_mse) is for the linear model")
    if model == "linear":
        return E.LinearRegression(**params)
    if model == "logistic":
        return E.LogisticRegression(**params)
    if model == "softmax":
        return E.SoftmaxRegression(**params)
    return (E.MLPClassifier if classification else E.MLPRegressor)(**params)


#: a classifier refuses targets with more distinct values than this
MAX_CLASSES = 1_000


def fit_data(source: Any, target: str | None = None, *, features: list[str] | None = None,
             model: str | None = None, task: str | None = None, test_fraction: float = 0.25,
             seed: int = 0, checkpoint: str | None = None, checkpoint_every: int = 100,
             resume: bool = False, file_batch_size: int = 256, file_epochs: int | None = None,
             delimiter: str | None = None, dask: int | None = None,
             scheduler: str | None = None, **params: Any) -> tuple[Any, dict[str, Any]]:
    """Train on ``source`` and return ``(estimator, summary)``.

    ``params`` are the estimator's hyper-parameters (``lr``, ``batch_size``, ``epochs``, ...;
    ``None`` values mean "the estimator's default"). Files are streamed, never read whole,
    with ``file_batch_size`` (and ``file_epochs``, default: the model's budget) unless given;
    their test part is about ``test_fraction`` of the rows, chosen by a hash of the row
    index and ``seed`` (:class:`gdlab.data.RowSplit`), in-memory data hold out exactly that
    fraction of a permutation. A CSV target of text labels (``cat``, ``dog``) trains a
    classifier whose ``classes_`` are the labels. ``delimiter`` is the CSV delimiter
    (default: sniffed). ``checkpoint`` is a file (or a folder, for ``checkpoint.gdlab`` in
    it) written every ``checkpoint_every`` steps; ``resume`` continues from it.

    On a Dask cluster (``scheduler``: the address of a running one; ``dask``: an embedded
    one of that many worker processes, ``0`` for the default of
    :func:`gdlab.data.dask_cluster.embedded_workers`; a glob or a folder of files always
    runs on one) the files are read by the workers, split by the same hash of the row index
    (in the files' sorted concatenation), and the model is trained where the rows are:
    full batch by default (L-BFGS; only parameters and gradient sums cross the network),
    mini-batches with ``batch_size``. The summary's ``dask`` says where it ran.

    The summary holds the sizes, the scores, the coefficients of linear models on the
    original feature scale (``coef``, ``intercept``, as the estimator's ``coef_`` and
    ``intercept_``), the gap to the least-squares solution for linear regression
    (``closed_form``; for files from cross-moments accumulated while the file is scanned,
    up to :data:`gdlab.data.moments.MAX_FEATURES` features, else ``closed_form_skipped``
    says why), the constant columns, whether training converged, the stop reason and the
    time.
    """
    t0 = time.perf_counter()
    params = {k: v for k, v in params.items() if v is not None}
    checkpoint = _check_settings(params, task, test_fraction, checkpoint, resume,
                                 is_file_source(source) or is_glob_source(source)
                                 or scheduler is not None or dask is not None)
    data: _FileData | _MemoryData | _DaskData
    on_dask = scheduler is not None or dask is not None or is_glob_source(source)
    if on_dask:
        data = _DaskData(source, target, features, model, task, test_fraction, seed,
                         delimiter, params.get("batch_size"), dask, scheduler)
        if file_epochs is not None:
            params.setdefault("epochs", file_epochs)
    elif is_file_source(source):
        data = _FileData(source, target, features, model, task, test_fraction, seed, delimiter,
                         params.get("batch_size", file_batch_size))
        if file_epochs is not None:  # else the model's budget, which stops on tolerance
            params.setdefault("epochs", file_epochs)
    else:
        data = _MemoryData(source, target, features, test_fraction, seed, delimiter)
    try:
        est, summary = _fit_and_summarize(data, source, model, task, seed, checkpoint,
                                          checkpoint_every, resume, params)
    finally:
        data.close()
    summary["seconds"] = round(time.perf_counter() - t0, 3)
    return est, summary


def _fit_and_summarize(data: Any, source: Any, model: str | None, task: str | None,
                       seed: int, checkpoint: str | None, checkpoint_every: int,
                       resume: bool, params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """Choose the model, train it on ``data`` and summarize (see :func:`fit_data`)."""
    classification = _is_classification(data, task, model)
    name = model or ("softmax" if classification else "linear")
    est = make_estimator(name, classification, seed=seed, **params)
    classes = _class_labels(data.train_targets(), data.target, name, data.file) \
        if classification else None
    constant = data.fit(est, classes, checkpoint, checkpoint_every, resume)
    train_score, test_score = data.scores(est)
    if data.labels is not None:
        est.classes_ = data.labels  # the model predicts the text labels from now on
    summary: dict[str, Any] = {
        "data": str(source), "model": type(est).__name__, "n_samples": data.n_rows,
        "n_features": len(data.names), "feature_names": data.names, "target": data.target,
        "streamed": data.streamed, "n_train": data.n_train, "n_test": data.n_test,
        "epochs": int(est.n_iter_), "steps": int(est.t_), "final_loss": float(est.loss_),
        "train_score": train_score, "test_score": test_score,
        "score_name": "accuracy" if hasattr(est, "classes_") else "R^2",
        "constant_columns": [data.names[j] for j in constant],
        **_coefficients(est),
        "status": est.status_, "converged": _converged(est), "reason": est.stop_reason_}
    from .estimators import LinearRegression
    if isinstance(est, LinearRegression):
        summary["closed_form"], note = data.closed_form(est)
        if note:
            summary["closed_form_skipped"] = note
    if isinstance(data, _DaskData):
        summary["dask"] = data.where()
    return est, summary


def _check_settings(params: dict[str, Any], task: str | None, test_fraction: float,
                    checkpoint: str | None, resume: bool, from_file: bool) -> str | None:
    """Refuse settings that do not go together; the checkpoint file's path."""
    if resume and not checkpoint:
        raise ParameterError(f"{option('resume')} needs a {option('checkpoint')} to continue "
                             f"from")
    if checkpoint and (os.path.isdir(checkpoint) or str(checkpoint).endswith(os.sep)):
        checkpoint = os.path.join(checkpoint, "checkpoint.gdlab")
    if not (isinstance(test_fraction, (int, float)) and 0 <= test_fraction < 1):
        raise ParameterError(f"{option('test_fraction')} must be in [0, 1), got "
                             f"{test_fraction!r}")
    if task not in (None, "regression", "classification"):
        raise ParameterError(f"{option('task')} must be 'regression' or 'classification', "
                             f"got {task!r}")
    if params.get("early_stopping") and (from_file or checkpoint):
        raise ParameterError("early stopping on a validation fraction is for in-memory data "
                             "without a checkpoint")
    return checkpoint


def _is_classification(data: Any, task: str | None, model: str | None) -> bool:
    """Whether the model predicts classes: text labels, the task, the model, or the look of
    the target."""
    if data.labels is not None:
        example = data.labels[0]
        if task == "regression" or model == "linear":
            what = option("task", "regression") if task == "regression" \
                else option("model", "linear")
            raise DataError(f"the target holds text ({example!r} ...): class labels, which "
                            f"{what} cannot predict; use {option('model', 'softmax')}",
                            file=data.file, column=data.target)
        return True
    if task is not None:
        return task == "classification"
    if model in ("logistic", "softmax"):
        return True
    if model == "linear":
        return False
    if isinstance(data, _DaskData):
        return data.looks_like_classes()
    return looks_like_classes(data.y_probe)


def _class_labels(targets: Iterable[np.ndarray], target: str | None, model: str,
                  file: str | None = None) -> np.ndarray:
    """The classes of the training targets, after refusing targets a classifier cannot
    learn: continuous values, a single value, too many values, more than two for logistic
    regression."""
    what = option("model", model)
    instead = option("task", "regression") if model == "mlp" else option("model", "linear")
    name = "the target" if target is None else f"the target {target!r}"
    seen: np.ndarray | None = None
    for y in targets:
        if y.dtype.kind == "f":
            frac = y[np.mod(y, 1) != 0]
            if len(frac):
                raise ParameterError(f"{what} predicts classes, but {name} holds continuous "
                                     f"values (such as {frac[0]:g}); use {instead} to predict "
                                     f"a number")
        u = np.unique(y)
        seen = u if seen is None else np.union1d(seen, u)
        if len(seen) > MAX_CLASSES:
            raise ParameterError(f"{name} has more than {MAX_CLASSES:,} different values: too "
                                 f"many classes for {what}; use {instead} to predict a number")
    if seen is None or len(seen) < 2:
        value = "no value" if seen is None or not len(seen) else \
            f"the single value {np.asarray(seen)[0].item()!r}"
        raise DataError(f"{name} has {value}: a classifier needs at least two classes",
                        file=file)
    if model == "logistic" and len(seen) > 2:
        raise ParameterError(f"{what} is for two classes; {name} has {len(seen)}: use "
                             f"{option('model', 'softmax')}")
    return seen


def _fit_noting_constants(est: Any, fit: Any) -> list[int]:
    """Run ``fit()``; the positions of the constant columns its standardizer found (kept
    for the summary, not printed as a warning)."""
    from ..data.standardize import ConstantColumnWarning
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConstantColumnWarning)
        fit()
    constant = getattr(getattr(est, "scaler_", None), "constant_", None)
    return [] if constant is None else [int(j) for j in np.flatnonzero(constant)]


def _coefficients(est: Any) -> dict[str, Any]:
    """``coef``/``intercept`` (linear models, as ``coef_``/``intercept_``) and ``classes``
    (classifiers), as JSON values."""
    out: dict[str, Any] = {}
    if hasattr(est, "coef_"):
        out["coef"] = np.asarray(est.coef_, dtype=np.float64).tolist()
        b = est.intercept_
        out["intercept"] = float(b) if np.ndim(b) == 0 else \
            np.asarray(b, dtype=np.float64).tolist()
    if hasattr(est, "classes_"):
        out["classes"] = np.asarray(est.classes_).tolist()
    return out


def _converged(est: Any) -> bool | None:
    v = getattr(est, "converged_", None)
    return None if v is None else bool(v)


class _Streamed:
    """Data trained and scored as batch streams (``train``, and ``test`` or ``None``):
    ``fit_stream``/``score_stream``, wherever the streams read their rows."""

    streamed = True
    train: Any
    test: Any

    def fit(self, est: Any, classes: Any, checkpoint: str | None, checkpoint_every: int,
            resume: bool) -> list[int]:
        kw = {"classes": classes} if classes is not None else {}
        return _fit_noting_constants(est, lambda: est.fit_stream(
            self.train, checkpoint=checkpoint, checkpoint_every=checkpoint_every,
            resume=resume, **kw))

    def scores(self, est: Any) -> tuple[float, float | None]:
        train = float(est.score_stream(self.train))
        return train, None if self.test is None else float(est.score_stream(self.test))


class _FileData(_Streamed):
    """A CSV or Parquet file: streamed, split by a hash of the row index."""

    def __init__(self, source: Any, target: str | None, features: list[str] | None,
                 model: str | None, task: str | None, test_fraction: float, seed: int,
                 delimiter: str | None, batch_size: int | None):
        from ..data.open import open_stream
        kw: dict[str, Any] = {"features": features, "batch_size": batch_size, "seed": seed,
                              "moments": model in (None, "linear") and task != "classification"}
        if delimiter is not None:
            kw["delimiter"] = delimiter
        if test_fraction > 0:
            kw["test_fraction"] = test_fraction
        stream: Any = open_stream(source, target, **kw)  # a CSVStream or ParquetStream
        self.file = stream.path
        self.names, self.target = list(stream.feature_names), stream.target_name
        assert stream.n_samples is not None  # a file stream opened with its scan
        self.n_rows = int(stream.n_samples)
        self.labels = stream.classes
        self.train: Any = stream
        self.test: Any = None
        if test_fraction > 0 and self.n_rows >= 10:
            train, test = stream.split()
            if train.n_samples and test.n_samples:
                self.train, self.test = train, test
        self.n_train = int(self.train.n_samples)
        self.n_test = 0 if self.test is None else int(self.test.n_samples)
        probe = [y for _, (_, y) in zip(range(4), self.train.iter_chunks())]
        self.y_probe = np.concatenate(probe)

    def train_targets(self) -> Iterable[np.ndarray]:
        if self.labels is not None:
            return [np.arange(len(self.labels), dtype=np.float64)]
        return (y for _, y in self.train.iter_chunks())

    def close(self) -> None:
        pass

    def closed_form(self, est: Any) -> tuple[dict[str, Any] | None, str | None]:
        """Least squares from the scan's cross-moments of the training rows."""
        m = self.train.moments()
        if m is None:
            return None, self.train.moments_note or "not computed"
        return _closed_form_from(m, est), None


def _closed_form_from(m: Any, est: Any) -> dict[str, Any]:
    """The least-squares solution of cross-moments ``m`` and its gap to ``est``."""
    coef, intercept = m.least_squares()
    gd_coef = np.asarray(est.coef_, dtype=np.float64).reshape(-1)
    gd_intercept = float(est.intercept_)
    r2_ls, r2_gd = m.r2(coef, intercept), m.r2(gd_coef, gd_intercept)
    return {"train_r2_lstsq": r2_ls, "train_r2_gd": r2_gd, "r2_gap": r2_ls - r2_gd,
            "max_coef_gap": float(np.max(np.abs(coef - gd_coef))),
            "lstsq_coef": coef.tolist(), "lstsq_intercept": intercept}


class _DaskData(_Streamed):
    """A glob of Parquet or CSV files on a Dask cluster: read by the workers, split by a
    hash of the row index, trained and scored where the rows are."""

    labels = None

    def __init__(self, source: Any, target: str | None, features: list[str] | None,
                 model: str | None, task: str | None, test_fraction: float, seed: int,
                 delimiter: str | None, batch_size: int | None, dask: int | None,
                 scheduler: str | None):
        from ..data.dask_cluster import connect
        from ..data.dask_stream import DaskStream, file_paths
        if scheduler is not None and dask is not None:
            raise ParameterError(f"{option('dask')} starts a cluster of its own and "
                                 f"{option('scheduler')} uses a running one: give one")
        paths = file_paths(source)
        self.file = str(source)
        self.cluster = connect(scheduler, n_workers=dask or None,
                               data_bytes=sum(os.path.getsize(p) for p in paths))
        self.test: Any = None
        try:
            self.train: Any = DaskStream.from_files(
                paths, target, features=features, client=self.cluster.client,
                delimiter=delimiter, batch_size=batch_size, seed=seed,
                test_fraction=test_fraction or None)
            self._open(test_fraction, model, task)
        except BaseException:
            self.close()
            raise

    def _open(self, test_fraction: float, model: str | None, task: str | None) -> None:
        """The split, the targets' classes and the least-squares moments, on the workers."""
        from ..data.moments import MAX_FEATURES
        stream = self.train
        self.names, self.target = list(stream.feature_names), stream.target_name
        self.n_rows = int(stream.n_samples)
        self.n_blocks = stream.blocks.n_blocks
        if test_fraction > 0 and self.n_rows >= 10:
            train, test = stream.split()
            if train is not None and test is not None:
                self.train, self.test = train, test
        self.n_train = int(self.train.n_samples)
        self.n_test = 0 if self.test is None else int(self.test.n_samples)
        self.unique, self.whole = self.train.unique_targets(limit=MAX_CLASSES)
        self.moments = None
        self.moments_note: str | None = None
        if model in (None, "linear") and task != "classification":
            if len(self.names) <= MAX_FEATURES:
                self.moments = self.train.moments()
            else:
                self.moments_note = (f"{len(self.names):,} features (computed for at most "
                                     f"{MAX_FEATURES:,})")

    def looks_like_classes(self) -> bool:
        """:func:`looks_like_classes` on all training targets (from the workers)."""
        return self.whole and len(self.unique) <= max(2, min(50, self.n_train // 5))

    def train_targets(self) -> Iterable[np.ndarray]:
        return [self.unique]

    def closed_form(self, est: Any) -> tuple[dict[str, Any] | None, str | None]:
        if self.moments is None:
            return None, self.moments_note or "not computed"
        return _closed_form_from(self.moments, est), None

    def where(self) -> dict[str, Any]:
        """Where the fit ran: the cluster, its workers, the blocks."""
        return {"cluster": self.cluster.description, "workers": self.cluster.n_workers,
                "blocks": self.n_blocks}

    def close(self) -> None:
        for s in (getattr(self, "train", None), self.test):
            if s is not None:
                s.close()
        self.cluster.close()


class _MemoryData:
    """A bundled dataset, an IDX pair or arrays: in memory, split by a permutation."""

    streamed = False
    labels = None
    file = None

    def __init__(self, source: Any, target: str | None, features: list[str] | None,
                 test_fraction: float, seed: int, delimiter: str | None):
        from ..data.open import load_xy
        X, y, self.names, self.target = load_xy(source, target, features,
                                                delimiter=delimiter)
        self.n_rows = len(X)
        self.y_probe = y
        self.Xtr, self.ytr, self.Xte, self.yte = X, y, None, None
        if test_fraction > 0 and len(X) >= 10:
            perm = np.random.default_rng(seed).permutation(len(X))
            k = int(round(test_fraction * len(X)))
            self.Xte, self.yte = X[perm[:k]], y[perm[:k]]
            self.Xtr, self.ytr = X[perm[k:]], y[perm[k:]]
        self.n_train = len(self.Xtr)
        self.n_test = 0 if self.Xte is None else len(self.Xte)

    def train_targets(self) -> Iterable[np.ndarray]:
        return [np.asarray(self.ytr)]

    def fit(self, est: Any, classes: Any, checkpoint: str | None, checkpoint_every: int,
            resume: bool) -> list[int]:
        if not checkpoint:
            return _fit_noting_constants(est, lambda: est.fit(self.Xtr, self.ytr))
        from ..data.stream import ArrayStream
        stream = ArrayStream(self.Xtr, self.ytr, batch_size=est.batch_size,
                             seed=est.seed if est.seed is not None else 0)
        kw = {"classes": classes} if classes is not None else {}
        return _fit_noting_constants(est, lambda: est.fit_stream(
            stream, checkpoint=checkpoint, checkpoint_every=checkpoint_every, resume=resume,
            **kw))

    def close(self) -> None:
        pass

    def scores(self, est: Any) -> tuple[float, float | None]:
        train = float(est.score(self.Xtr, self.ytr))
        return train, None if self.Xte is None else float(est.score(self.Xte, self.yte))

    def closed_form(self, est: Any) -> tuple[dict[str, Any] | None, str | None]:
        cf = est.closed_form(self.Xtr, self.ytr)
        return {"train_r2_lstsq": cf["r2_lstsq"], "train_r2_gd": cf["r2_gd"],
                "r2_gap": cf["r2_gap"], "max_coef_gap": cf["coef_gap"],
                "lstsq_coef": np.asarray(cf["coef"], dtype=np.float64).tolist(),
                "lstsq_intercept": np.asarray(cf["intercept"], dtype=np.float64).tolist()}, None
