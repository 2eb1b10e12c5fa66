"""scikit-learn-style estimators trained by gradient descent through :func:`gdlab.train.train`.

``LinearRegression``, ``LogisticRegression``, ``SoftmaxRegression``, ``MLPClassifier`` and
``MLPRegressor`` follow scikit-learn's conventions: ``__init__`` only stores its arguments;
``fit``, ``partial_fit``, ``predict``, ``predict_proba`` (classifiers), ``score``; fitted
attributes end in ``_`` (``coef_``, ``intercept_``, ``n_iter_``, ``history_``,
``n_features_in_``, ``feature_names_in_``). Input is validated with scikit-learn's own
``validate_data``, so messages are scikit-learn's words. float32 input trains in float32.

Common hyper-parameters:

``optimizer``   ``"auto"`` (linear models' default, see below), a name (``"sgd"``,
                ``"momentum"``, ``"adam"``, ``"lbfgs"``, ``"asgd"``, ... every optimizer of
                :mod:`gdlab.optim`) or a rule object; ``optimizer_options`` are its keyword
                arguments (PyTorch's names).
``lr``          learning rate (``None``: chosen from the data, see below); ``schedule`` a
                schedule name/dict/object.
``batch_size``  ``None`` full-batch gradient descent, ``1`` online SGD, ``k`` mini-batches.
``epochs``      passes over the data; ``shuffle`` and ``seed`` fix the batch order and
                the initial weights.
``tol``, ``patience``  stop when the watched loss has not improved by ``tol`` for
                ``patience`` epochs; with ``early_stopping`` the watched quantity is
                the score on a held-out ``validation_fraction`` and the best weights
                are restored.
``l2``          penalty ``(l2/2)·‖w‖²`` on the weights (not intercepts).
``standardize`` scale features to mean 0 and std 1 inside the model (GD needs scaled
                features; ``coef_`` is reported for the original features).

Defaults that converge (linear, logistic and softmax regression). With
``optimizer="auto"`` and no ``lr``, ``schedule`` or options, the model is trained to its
optimum, the way scikit-learn chooses its solvers:

* full batch (``batch_size=None``): L-BFGS with a strong-Wolfe line search (scikit-learn's
  ``lbfgs`` solver), until the loss stops improving by ``tol`` (relative);
* mini-batches and online SGD: averaged SGD (PyTorch's ``ASGD``: Polyak–Ruppert averaging
  from the second epoch, the classic remedy for SGD's noise) with the constant step
  ``1/L`` of :func:`data_step`, the largest step that is stable for a batch of that size
  on this data; the tolerance test watches the averaged weights' training loss over all
  rows. ``loss="rmse"`` (a square root of a mean over all rows, whose batch version has
  another minimizer) descends ``half_mse``, which has the same minimizer, and reports the
  rmse;
* ``epochs`` is a budget (1000): when it runs out first, ``converged_`` is ``False`` and a
  ``ConvergenceWarning`` says by how much the loss was still falling.

With an ``lr`` (or a schedule or options), ``"auto"`` is the lecture's plain gradient
descent with it. The MLPs default to Adam as scikit-learn's do.

The linear models take starting weights as scikit-learn's SGD estimators do:
``fit(X, y, coef_init=None, intercept_init=None)`` (shapes of ``coef_``/``intercept_``, for
the original features; default zeros). A run that diverges keeps its last weights, says why
in ``stop_reason_`` (``status_ == Status.DIVERGED``, which equals ``"diverged"``) and emits
scikit-learn's ``ConvergenceWarning``.
"""

from __future__ import annotations

import functools
import math
import warnings
from typing import Any, Callable

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .. import checks
from ..data.dask_stream import DaskStream, is_dask_collection
from ..data.moments import gram_block
from ..data.standardize import Standardizer
from ..data.stream import ArrayStream
from ..errors import ParameterError
from ..optim.rules import Rule, make_rule
from ..optim.schedules import make_schedule
from ..result import Status
from ..train import train
from . import distributed as _dask
from .linear import LinearLoss, LogisticLoss, SoftmaxLoss
from .mlp import MLPLoss

#: appended to the stop reason when a run without standardization diverges
_UNSCALED_HINT = ("; features are not standardized (standardize=False): gradient descent "
                  "needs scaled features")


#: optimizers whose default step comes from the data's curvature when no lr is given
_DATA_STEP_OPTIMIZERS = ("sgd", "gd", "momentum", "nesterov", "asgd")

#: training statuses that count as converged: the tolerance stop (``stopped``, by the
#: training callback), the gradient test, and an optimizer at its precision limit
_CONVERGED = (Status.STOPPED, Status.CONVERGED, Status.STALLED)


def data_step(stream: Any, curvature: float, batch_size: int | None) -> float:
    """A step size from the data, ``1 / L``: ``L = curvature · ((1 − 1/B)·λ + R²/B)`` with
    ``λ`` the largest eigenvalue of ``AᵀA/n`` and ``R²`` the largest ``‖a_i‖²``, for the
    rows ``a_i`` of the (standardized) features with a 1 for the intercept.

    That is the smoothness constant of a batch of ``B`` rows' loss (``B = n`` for full batch:
    ``λ``; ``B = 1``: ``R²``), so gradient descent and online SGD with this step never
    diverge on a quadratic, whatever the scale of the features. One pass over the data
    (``AᵀA`` in float64; for more than 2,000 features the trace bound ``λ <= tr(AᵀA)/n``).
    """
    d = int(stream.n_features) + 1
    if isinstance(stream, DaskStream):  # the same pass, on the workers holding the rows
        gram, r2, trace, n = stream.gram_pass(with_gram=d <= 2001)
    else:
        gram, r2, trace, n = _gram_pass(stream, d)
    if n == 0:
        return 0.1
    lam = float(np.linalg.eigvalsh(gram / n)[-1]) if gram is not None else trace / n
    B = n if batch_size is None else min(int(batch_size), n)
    L = curvature * ((1 - 1 / B) * lam + r2 / B)
    return 1.0 / L if L > 0 and math.isfinite(L) else 0.1


def _gram_pass(stream: Any, d: int) -> tuple[np.ndarray | None, float, float, int]:
    """``(AᵀA, max ‖aᵢ‖², Σ‖aᵢ‖², n)`` of ``A = [X, 1]`` over the stream's chunks (X
    standardized by the stream's standardizer); ``AᵀA`` only for ``d <= 2001``."""
    scaler = getattr(stream, "standardizer", None)
    gram = np.zeros((d, d)) if d <= 2001 else None
    r2, trace, n = 0.0, 0.0, 0
    for X, _ in stream.iter_chunks():
        if scaler is not None:
            X = scaler.transform(X)
        G, r2_block, trace_block, rows = gram_block(X, gram is not None)
        if gram is not None and G is not None:
            gram += G
        r2 = max(r2, r2_block)
        trace += trace_block
        n += rows
    return gram, r2, trace, n


def _blockwise(method: Callable) -> Callable:
    """Dask input for a prediction method: a dask array or dataframe ``X`` gives a dask
    array computed block by block on the workers (:func:`gdlab.models.distributed.predict_blocks`);
    anything else goes to the method as it is."""
    @functools.wraps(method)
    def wrapper(self: Any, X: Any, *args: Any, **kwargs: Any) -> Any:
        if is_dask_collection(X):
            return _dask.predict_blocks(self, method.__name__, X)
        return method(self, X, *args, **kwargs)
    return wrapper


class _DaskScore:
    """``score`` on dask collections, computed on the workers (scikit-learn's ``score``
    for anything else); first in the bases, before scikit-learn's mixins."""

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        if is_dask_collection(X) or is_dask_collection(y):
            if sample_weight is not None:
                raise ParameterError("sample_weight is not supported with Dask input")
            return _dask.score_collections(self, X, y)
        return super().score(X, y, sample_weight=sample_weight)  # type: ignore[misc]


def _not_converged(losses: list[float], patience: int, epochs: int) -> str:
    """The reason of a run whose epochs ran out before the tolerance stop."""
    k = min(max(int(patience), 1), len(losses) - 1)
    fell = ""
    if k >= 1 and math.isfinite(losses[-1]) and losses[-k - 1] != 0:
        rel = (losses[-k - 1] - losses[-1]) / abs(losses[-k - 1])
        fell = f": the loss still fell by {rel:.2%} over the last {k} epochs"
    return f"not converged after {epochs} epochs{fell}"


class _EncodedLabels:
    """A stream whose class labels are mapped to 0..K-1 batch by batch (for file streams)."""

    def __init__(self, stream: Any, classes: np.ndarray):
        self._stream = stream
        self._classes = classes

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def _encode(self, y: np.ndarray) -> np.ndarray:
        idx = np.searchsorted(self._classes, y)
        if np.any(idx >= len(self._classes)) or np.any(self._classes[np.minimum(
                idx, len(self._classes) - 1)] != y):
            raise ValueError("the data has a label not among the classes")
        return idx.astype(y.dtype)

    def batches(self, epoch: int, start: int = 0, sizes=None):
        for X, y in self._stream.batches(epoch, start, sizes):
            yield X, self._encode(y)

    def iter_chunks(self):
        for X, y in self._stream.iter_chunks():
            yield X, self._encode(y)


class _GDEstimator(BaseEstimator):
    """Shared machinery: validation, scaling, the training call, partial_fit state."""

    _is_classifier = False

    def __init__(self, *, optimizer: Any, lr: float | None, schedule: Any,
                 batch_size: int | None,
                 epochs: int, shuffle: bool, seed: int | None, tol: float | None,
                 patience: int, early_stopping: bool, validation_fraction: float, l2: float,
                 standardize: bool, time_limit: float | None, verbose: bool,
                 optimizer_options: dict | None):
        """Store the hyper-parameters every estimator has (each subclass passes its own
        defaults by keyword, as scikit-learn's estimators do)."""
        self.optimizer = optimizer
        self.lr = lr
        self.schedule = schedule
        self.batch_size = batch_size
        self.epochs = epochs
        self.shuffle = shuffle
        self.seed = seed
        self.tol = tol
        self.patience = patience
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.l2 = l2
        self.standardize = standardize
        self.time_limit = time_limit
        self.verbose = verbose
        self.optimizer_options = optimizer_options

    # ---- to be provided -------------------------------------------------------------------
    def _make_loss(self, n_features: int, n_outputs: int) -> Any:
        raise NotImplementedError

    def _score_fn(self):
        return None

    # ---- helpers --------------------------------------------------------------------------
    def _check_params(self) -> None:
        checks.count("batch_size", self.batch_size, minimum=1, none=True)
        checks.count("epochs", self.epochs, minimum=1)
        checks.number("validation_fraction", self.validation_fraction, low=0, high=1,
                      low_open=True, high_open=True)
        checks.number("l2", self.l2, low=0)

    #: the curvature of the loss per unit of x·x (mse 2, half_mse 1, logistic 1/4, ...);
    #: None for models whose curvature the data does not bound (MLPs)
    _curvature: float | None = None

    def _rule(self, stream: Any, partial: bool) -> Rule:
        """The optimizer: the one asked for, or for ``optimizer="auto"`` L-BFGS on full
        batches and averaged SGD (ASGD) on mini-batches and online, with a step from the
        data's curvature (see :func:`data_step`); ``auto`` with an ``lr``, a ``schedule`` or
        ``optimizer_options`` is plain gradient descent with them, as the lecture's loop.
        Named optimizers of the SGD family without an ``lr`` take the data's step too."""
        if isinstance(self.optimizer, Rule):
            return self.optimizer
        options = dict(self.optimizer_options or {})
        name = str(self.optimizer).strip().lower()
        if name == "auto":
            return self._auto_rule(stream, partial, options)
        lr = self.lr
        if lr is None and name in _DATA_STEP_OPTIMIZERS and self._curvature is not None:
            lr = data_step(stream, self._curvature, stream.batch_size)
        return make_rule(name, lr=lr, **options)

    def _auto_rule(self, stream: Any, partial: bool, options: dict) -> Rule:
        if self._curvature is None:  # a network: Adam, as scikit-learn's MLPs
            return make_rule("adam", lr=self.lr, **options)
        if self.lr is not None or self.schedule is not None or options:
            # a rate, a schedule or options of one's own: the lecture's gradient descent
            return make_rule("sgd", lr=self.lr if self.lr is not None else
                             data_step(stream, self._curvature, stream.batch_size), **options)
        if stream.batch_size is None and not partial:  # its line search needs no step
            return make_rule("lbfgs", lr=1.0, line_search_fn="strong_wolfe",
                             history_size=10, **options)
        lr = data_step(stream, self._curvature, stream.batch_size)  # a pass over the data
        if stream.batch_size is None:  # partial_fit on a full batch: one GD step per call
            return make_rule("sgd", lr=lr, **options)
        # averaged SGD with a constant step, averaging from the second epoch
        return make_rule("asgd", lr=lr, lambd=0.0, t0=float(stream.n_batches()), **options)

    def _prepare_y(self, y: np.ndarray, first: bool, classes: Any = None) -> tuple[np.ndarray, int]:
        if self._is_classifier:
            check_classification_targets(y)
            if first:
                self.classes_ = np.unique(y) if classes is None else np.unique(classes)
                if len(self.classes_) < 2 and self._needs_two_classes:
                    raise ValueError(f"The number of classes has to be greater than one; got "
                                     f"{len(self.classes_)} class")
            elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
                raise ValueError(f"`classes={np.unique(classes)!r}` is not the same as on the "
                                 f"first call to partial_fit, was: {self.classes_!r}")
            idx = np.searchsorted(self.classes_, y)
            n_classes = len(self.classes_)
            bad = (idx >= n_classes) | (self.classes_[np.minimum(idx, n_classes - 1)] != y)
            if bad.any():
                raise ValueError(f"y contains labels not seen in the first call: "
                                 f"{np.unique(y[bad])[:5]}")
            return idx.astype(np.float64), len(self.classes_)
        y = np.asarray(y)
        return y, (1 if y.ndim == 1 else y.shape[1])

    _needs_two_classes = True

    def _validation_split(self, n_samples: int) -> tuple[np.ndarray, np.ndarray]:
        """Row indices ``(train, validation)`` of ``early_stopping`` (fixed by ``seed``)."""
        n_val = max(1, int(round(self.validation_fraction * n_samples)))
        if n_samples - n_val < 1:
            raise ValueError(f"early_stopping needs at least 2 samples to hold out a "
                             f"validation set, got n_samples={n_samples}")
        perm = np.random.default_rng(self.seed).permutation(n_samples)
        return perm[n_val:], perm[:n_val]

    def _init_from(self, coef_init: Any, intercept_init: Any, dtype: np.dtype) -> np.ndarray:
        """Internal flat parameters from ``coef_init``/``intercept_init`` given for the original
        features (the shapes of ``coef_``/``intercept_``); linear models only."""
        raise TypeError(f"{type(self).__name__} takes no coef_init/intercept_init")

    def _fit(self, X: Any, y: Any, *, partial: bool, classes: Any = None,
             coef_init: Any = None, intercept_init: Any = None) -> "_GDEstimator":
        if is_dask_collection(X) or is_dask_collection(y):  # rows on Dask workers
            return _dask.fit_collections(self, X, y, partial=partial, classes=classes,
                                         coef_init=coef_init, intercept_init=intercept_init)
        self._check_params()
        first = not partial or not hasattr(self, "params_")
        X, y = validate_data(self, X, y, reset=first, dtype=[np.float64, np.float32],
                             y_numeric=not self._is_classifier,
                             multi_output=not self._is_classifier)
        if not self._is_classifier:
            y = y.astype(X.dtype, copy=False)
        yt, n_out = self._prepare_y(y, first, classes)
        dtype = X.dtype
        if first:
            names = getattr(self, "feature_names_in_", None)
            self.scaler_ = Standardizer().fit(X, feature_names=None if names is None else
                                              [str(f) for f in names]) \
                if self.standardize else None
            self.objective_ = self._make_loss(X.shape[1], n_out)
            if coef_init is None and intercept_init is None:
                self.params_ = self.objective_.init_params(np.random.default_rng(self.seed),
                                                           dtype=dtype)
            else:
                self.params_ = self._init_from(coef_init, intercept_init, dtype)
            self._opt_state = None
            self.t_ = 0
            self.history_: dict[str, list[float]] = {
                "loss": [], "val_loss": [], "val_score": [], "lr": [], "time": []}
        # Full batch reads all rows every step: scale them once. Mini-batches are scaled as
        # they are drawn (the same numbers), so no scaled copy of the whole data is made.
        per_batch = self.scaler_ is not None and self.batch_size is not None
        Xs = X
        if self.scaler_ is not None and not per_batch:
            Xs = self.scaler_.transform(X).astype(dtype, copy=False)
        validation = None
        if self.early_stopping and not partial:
            ti, vi = self._validation_split(len(Xs))
            Xv = Xs[vi]
            if per_batch:
                assert self.scaler_ is not None  # (per_batch says so)
                Xv = self.scaler_.transform(Xv).astype(dtype, copy=False)
            validation = (Xv, yt[vi].astype(dtype))
            Xs, yt = Xs[ti], yt[ti]
        stream = ArrayStream(Xs, yt.astype(dtype, copy=False), batch_size=self.batch_size,
                             shuffle=self.shuffle, seed=self.seed if self.seed is not None else 0,
                             standardizer=self.scaler_ if per_batch else None,
                             validate=not (isinstance(Xs, np.ndarray) and Xs.flags.c_contiguous))
        return self._train(stream, validation, partial=partial)

    def _train(self, stream: Any, validation: Any, *, partial: bool = False,
               checkpoint: str | None = None, checkpoint_every: int = 0,
               resume: bool = False) -> "_GDEstimator":
        """Run :func:`gdlab.train.train` on a prepared (scaled, label-encoded) stream and set
        the fitted attributes."""
        dtype = self.params_.dtype
        rule = self._rule(stream, partial)
        average = hasattr(rule, "averaged")
        epochs = 1 if partial else self.epochs
        meta = None
        if checkpoint:
            meta = {"n_params": int(self.objective_.n_params),
                    "fingerprint": self._fingerprint(stream)}
        descended = self._training_loss(stream)
        # a DaskStream's full batch is evaluated where its blocks are (DistributedLoss)
        loss = _dask.bind_loss(descended or self.objective_, stream)
        res = train(loss, self.params_, stream, rule,
                    schedule=make_schedule(self.schedule), epochs=epochs,
                    tol=self.tol, patience=self._patience(rule), validation=validation,
                    score=self._score_fn(), restore_best=validation is not None,
                    time_limit=self.time_limit, progress=self.verbose,
                    initial_state=self._opt_state if partial else None,
                    initial_step=self.t_ if partial else 0,
                    checkpoint=checkpoint, checkpoint_every=checkpoint_every,
                    checkpoint_meta=meta,
                    resume=checkpoint if (resume and checkpoint) else None,
                    average=average, monitor="full" if average else "epoch")
        if descended is not None:
            self._report_losses(res.history)
        self.params_ = res.params.astype(dtype, copy=False)
        self._opt_state = res.extra.get("rule_state")
        self.t_ = res.n_steps
        if partial:
            for k, v in res.history.items():
                self.history_.setdefault(k, []).extend(v)
            self.n_iter_ = getattr(self, "n_iter_", 0) + res.n_epochs
        else:
            self.history_ = res.history
            self.n_iter_ = res.n_epochs
        self.loss_ = self.history_["loss"][-1] if self.history_["loss"] else math.nan
        reason = res.reason
        if res.status == Status.DIVERGED and not self.standardize:
            reason += _UNSCALED_HINT
        self.status_ = res.status
        self.best_epoch_ = res.best_epoch
        self.converged_ = res.status in _CONVERGED
        if res.status == Status.END_OF_DATA and self.tol is not None and not partial:
            reason = _not_converged(self.history_["loss"], self.patience, self.epochs)
        self.stop_reason_ = reason
        with np.errstate(over="ignore", invalid="ignore"):
            self._set_public()
        if res.status == Status.DIVERGED:
            warnings.warn(f"{type(self).__name__}: {reason}", ConvergenceWarning, stacklevel=3)
        elif not partial and not self.converged_ and self.tol is not None:
            warnings.warn(f"{type(self).__name__}: {reason}; train longer "
                          f"(epochs={2 * self.epochs}) or loosen tol", ConvergenceWarning,
                          stacklevel=3)
        return self

    def _patience(self, rule: Rule) -> int:
        """Epochs without improvement before the tolerance stop: ``patience``, but at most
        two for L-BFGS on a full batch, whose loss falls every epoch until it is done."""
        return min(self.patience, 2) if getattr(rule, "name", "") == "lbfgs" else self.patience

    def _training_loss(self, stream: Any) -> Any:
        """The loss the optimizer descends when it is not the model's own (``None``)."""
        return None

    def _report_losses(self, history: dict[str, list]) -> None:
        """Turn a descended loss's history into the model's loss (see ``_training_loss``)."""

    def _fingerprint(self, stream: Any) -> str:
        """What a checkpoint must agree on to be resumed: settings and data shape."""
        import hashlib
        import json as _json
        params = {k: repr(v) for k, v in sorted(self.get_params(deep=False).items())
                  if k not in ("verbose", "time_limit", "epochs")}
        key = {"class": type(self).__name__, "params": params,
               "n_features": int(stream.n_features), "n_samples": stream.n_samples,
               "batch_size": stream.batch_size, "n_params": int(self.objective_.n_params)}
        return hashlib.sha256(_json.dumps(key, sort_keys=True).encode()).hexdigest()

    def fit_stream(self, stream: Any, *, classes: Any = None, checkpoint: str | None = None,
                   checkpoint_every: int = 0, resume: bool = False) -> "_GDEstimator":
        """Train on a :class:`gdlab.data.BatchStream` (a CSV or Parquet file read in bounded
        memory, or arrays), for data larger than memory.

        The stream's batch size and shuffling are used as they are. Features are standardized
        with statistics from the stream's own validation scan (no extra pass). Classifiers
        find their labels with one pass over the target unless ``classes`` is given.
        ``checkpoint`` names a file written atomically every ``checkpoint_every`` steps;
        ``resume=True`` continues from it and ends with the weights of an uninterrupted run.
        Early stopping on a held-out fraction is for in-memory data (:meth:`fit`).
        """
        from ..data.stream import BatchStream
        if not isinstance(stream, BatchStream):
            raise ParameterError("fit_stream takes a gdlab.data BatchStream; use fit for arrays")
        self._check_params()
        d = int(stream.n_features)
        self.n_features_in_ = d
        # scikit-learn sets feature_names_in_ only for DataFrames; the file's column names
        # stay with the stream (and the CLI's model file), so arrays predict without warnings
        if hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        dtype = np.dtype(stream.dtype)
        n_out = 1
        if self._is_classifier:
            if classes is None and isinstance(stream, DaskStream):
                classes = stream.unique_targets(limit=1 << 20)[0]
            elif classes is None:
                classes = np.unique(np.concatenate([np.unique(y) for _, y in stream.iter_chunks()]))
            self.classes_ = np.unique(np.asarray(classes))
            if len(self.classes_) < 2:
                raise ValueError("The number of classes has to be greater than one; got 1 class")
            self._prepare_y(self.classes_, first=False)  # the label checks of the estimator
            n_out = len(self.classes_)
            if not np.array_equal(self.classes_, np.arange(n_out)):
                stream = stream.encoded(self.classes_) if isinstance(stream, DaskStream) \
                    else _EncodedLabels(stream, self.classes_)
        elif self._multi_target_stream(stream):
            n_out = getattr(stream, "n_targets", 1)  # (BatchStream itself has no n_targets)
        self.scaler_ = stream.fit_standardizer(apply=True) if self.standardize else None
        self.objective_ = self._make_loss(d, n_out)
        self.params_ = self.objective_.init_params(np.random.default_rng(self.seed), dtype=dtype)
        self._opt_state = None
        self.t_ = 0
        return self._train(stream, None, checkpoint=checkpoint,
                           checkpoint_every=checkpoint_every, resume=resume)

    @staticmethod
    def _multi_target_stream(stream: Any) -> bool:
        return getattr(stream, "n_targets", 1) > 1

    def score_stream(self, stream: Any) -> float:
        """The score (R² or accuracy) over all rows of a stream, in one bounded-memory pass."""
        check_is_fitted(self, "params_")
        if isinstance(stream, DaskStream):  # on the workers holding the rows
            return _dask.score_blocks(self, stream)
        if self._is_classifier:
            right = n = 0
            for X, y in stream.iter_chunks():
                right += int(np.sum(self.predict(X) == y))
                n += len(y)
            return right / n if n else math.nan
        sse = sy = syy = 0.0
        n = 0
        for X, y in stream.iter_chunks():
            pred = self.predict(X).reshape(y.shape)
            sse += float(np.sum((y - pred) ** 2))
            sy += float(np.sum(y))
            syy += float(np.sum(y * y))
            n += len(y)
        ss = syy - sy * sy / n if n else 0.0
        return 1 - sse / ss if ss > 0 else 0.0

    def fit(self, X: Any, y: Any) -> "_GDEstimator":
        """Train from scratch for ``epochs`` epochs (or until a stop rule fires)."""
        return self._fit(X, y, partial=False)

    def _check_init_arrays(self, coef_init: Any, intercept_init: Any, coef_shapes: tuple,
                           n_out: int) -> tuple[np.ndarray, np.ndarray]:
        """``coef_init`` in one of ``coef_shapes`` (returned as (n_features, n_out)) and
        ``intercept_init`` (returned as (n_out,)); missing ones are zeros."""
        d = self.n_features_in_
        if coef_init is None:
            coef = np.zeros((d, n_out))
        else:
            coef = np.asarray(coef_init, dtype=np.float64)
            if coef.shape not in coef_shapes:
                raise ValueError(f"coef_init has shape {coef.shape}; expected "
                                 f"{' or '.join(map(str, coef_shapes))}")
            coef = coef.reshape(-1, d).T              # (n_out, d) or (d,) -> (d, n_out)
        if intercept_init is None:
            intercept = np.zeros(n_out)
        else:
            if not self.fit_intercept:
                raise ValueError("intercept_init was given but fit_intercept=False")
            intercept = np.asarray(intercept_init, dtype=np.float64).reshape(-1)
            if intercept.shape != (n_out,):
                raise ValueError(f"intercept_init must have {n_out} value(s), got "
                                 f"{intercept.size}")
        if not (np.all(np.isfinite(coef)) and np.all(np.isfinite(intercept))):
            raise ValueError("coef_init and intercept_init must be finite")
        if self.scaler_ is not None:
            mean, scale = self.scaler_.mean_, self.scaler_.scale_
            assert mean is not None and scale is not None  # a fitted standardizer
            # x·c + b = x_s·(c·scale) + (b + mean·c) with x_s the standardized features
            intercept = intercept + mean @ coef
            coef = coef * scale[:, None]
        return coef, intercept

    def _pack_linear(self, coef: np.ndarray, intercept: np.ndarray,
                     dtype: np.dtype) -> np.ndarray:
        v = self.objective_.views(self.objective_.init_params(dtype=np.float64))
        arrays = {"coef": coef.reshape(v["coef"].shape)}
        if "intercept" in v:
            arrays["intercept"] = intercept.reshape(v["intercept"].shape)
        return self.objective_.pack(arrays, dtype=dtype)

    def _transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "params_")
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        X = X.astype(self.params_.dtype, copy=False)
        if self.scaler_ is not None:
            X = self.scaler_.transform(X).astype(self.params_.dtype, copy=False)
        return X

    def _set_public(self) -> None:
        pass

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags


class LinearRegression(_DaskScore, RegressorMixin, _GDEstimator):
    """Linear regression ``y ≈ Xβ + b`` by gradient descent.

    ``loss``: ``"mse"`` (‖y−Xβ‖²/n), ``"rmse"`` (the lecture's ‖y−Xβ‖₂ with 1/n inside the
    norm) or ``"half_mse"`` (1/(2m)·Σ(h−y)², lecture 004). :meth:`closed_form` gives the
    least-squares reference (``np.linalg.lstsq``).
    """

    intercept_: np.ndarray | float  # a float for one target, as scikit-learn

    def __init__(self, *, loss: str = "mse", fit_intercept: bool = True,
                 optimizer: Any = "auto", lr: float | None = None, schedule: Any = None,
                 batch_size: int | None = None, epochs: int = 1000, shuffle: bool = True,
                 seed: int | None = 0, tol: float | None = 1e-6, patience: int = 10,
                 early_stopping: bool = False, validation_fraction: float = 0.1,
                 l2: float = 0.0, standardize: bool = True, time_limit: float | None = None,
                 verbose: bool = False, optimizer_options: dict | None = None):
        self.loss = loss
        self.fit_intercept = fit_intercept
        super().__init__(optimizer=optimizer, lr=lr, schedule=schedule, batch_size=batch_size,
                         epochs=epochs, shuffle=shuffle, seed=seed, tol=tol, patience=patience,
                         early_stopping=early_stopping, validation_fraction=validation_fraction,
                         l2=l2, standardize=standardize, time_limit=time_limit, verbose=verbose,
                         optimizer_options=optimizer_options)

    def _make_loss(self, n_features, n_outputs):
        return LinearLoss(n_features, n_targets=n_outputs, fit_intercept=self.fit_intercept,
                          loss=self.loss, l2=self.l2)

    @property
    def _curvature(self) -> float:  # type: ignore[override]
        return 2.0 if self.loss == "mse" else 1.0

    def _training_loss(self, stream: Any) -> Any:
        # rmse is a square root of a mean over all rows: a batch has no unbiased gradient of
        # it, and a batch's own rmse (|e| for one row) has another minimizer (the median
        # regression). With the default optimizer, mini-batches and online SGD descend
        # half_mse, whose minimizer is the rmse's (least squares), and report the rmse.
        if self.loss == "rmse" and stream.batch_size is not None and self.optimizer == "auto" \
                and self.l2 == 0:
            o = self.objective_
            return LinearLoss(o.n_features, n_targets=o.n_targets,
                              fit_intercept=self.fit_intercept, loss="half_mse", l2=self.l2)
        return None

    def _report_losses(self, history: dict[str, list]) -> None:
        for key in ("loss", "val_loss"):
            history[key] = [math.sqrt(2 * v) if v >= 0 else v for v in history.get(key, [])]

    def fit(self, X: Any, y: Any, coef_init: Any = None,
            intercept_init: Any = None) -> "LinearRegression":
        """Train from scratch for ``epochs`` epochs (or until a stop rule fires).

        ``coef_init`` (shape of ``coef_``) and ``intercept_init`` (a float, or shape
        ``(n_targets,)``) are the starting weights for the original features (default 0),
        as in scikit-learn's ``SGDRegressor.fit``.
        """
        return self._fit(X, y, partial=False, coef_init=coef_init,
                         intercept_init=intercept_init)

    def _init_from(self, coef_init, intercept_init, dtype):
        d, k = self.n_features_in_, self.objective_.n_targets
        shapes = ((d,), (1, d)) if k == 1 else ((k, d),)
        coef, intercept = self._check_init_arrays(coef_init, intercept_init, shapes, k)
        return self._pack_linear(coef, intercept, dtype)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True     # y of shape (n, k): k targets
        return tags

    def _score_fn(self):
        def r2(p, X, y):
            pred = self.objective_.predict_raw(p, X).reshape(y.shape)
            ss = float(np.sum((y - y.mean(axis=0)) ** 2))
            return 1 - float(np.sum((y - pred) ** 2)) / ss if ss > 0 else 0.0
        return r2

    def partial_fit(self, X: Any, y: Any) -> "LinearRegression":
        """One epoch over ``(X, y)``, continuing the weights and the optimizer state.

        With ``standardize=True`` the scaling is fitted on the first call's data only."""
        return self._fit(X, y, partial=True)

    def _set_public(self) -> None:
        v = self.objective_.views(self.params_)
        coef = np.array(v["coef"], dtype=self.params_.dtype)
        intercept = np.array(v["intercept"], dtype=self.params_.dtype) if "intercept" in v \
            else np.zeros(coef.shape[1] if coef.ndim == 2 else 1, dtype=coef.dtype)
        if self.scaler_ is not None:
            assert self.scaler_.scale_ is not None and self.scaler_.mean_ is not None  # fitted
            scale = self.scaler_.scale_.astype(coef.dtype)
            mean = self.scaler_.mean_.astype(coef.dtype)
            coef = coef / (scale[:, None] if coef.ndim == 2 else scale)
            intercept = intercept - mean @ coef
        if coef.ndim == 2:
            self.coef_ = coef.T.copy()          # (n_targets, n_features), as scikit-learn
            self.intercept_ = intercept
        else:
            self.coef_ = coef
            self.intercept_ = float(intercept.reshape(-1)[0]) if intercept.size == 1 else intercept

    @_blockwise
    def predict(self, X: Any) -> np.ndarray:
        Xs = self._transform(X)
        out = self.objective_.predict_raw(self.params_, Xs)
        return out.reshape(len(Xs)) if self.coef_.ndim == 1 else out

    def closed_form(self, X: Any, y: Any) -> dict[str, Any]:
        """The least-squares solution on ``(X, y)`` and the gap to this model:
        ``{"coef", "intercept", "r2_lstsq", "r2_gd", "r2_gap", "coef_gap"}``."""
        check_is_fitted(self, "params_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        obj = LinearLoss(X.shape[1], n_targets=1 if y.ndim == 1 else y.shape[1],
                         fit_intercept=self.fit_intercept, loss="mse")
        flat = obj.closed_form(X, y)
        v = obj.views(flat)
        pred = obj.predict_raw(flat, X).reshape(y.shape)
        ss = float(np.sum((y - y.mean(axis=0)) ** 2))
        r2_ls = 1 - float(np.sum((y - pred) ** 2)) / ss if ss > 0 else 0.0
        r2_gd = float(self.score(X, y))
        coef_ls = np.asarray(v["coef"]).reshape(np.shape(self.coef_.T)).T
        return {"coef": coef_ls, "intercept": np.asarray(v.get("intercept", 0.0)),
                "r2_lstsq": r2_ls, "r2_gd": r2_gd, "r2_gap": r2_ls - r2_gd,
                "coef_gap": float(np.max(np.abs(coef_ls - self.coef_)))}


class _ClassifierBase(_DaskScore, ClassifierMixin, _GDEstimator):
    _is_classifier = True

    def _score_fn(self):
        def acc(p, X, y):
            return float(np.mean(self.objective_.predict(p, X) == y))
        return acc

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> "_ClassifierBase":
        """One epoch over ``(X, y)``; ``classes`` (all labels) is required on the first call.

        With ``standardize=True`` the scaling is fitted on the first call's data only."""
        if not hasattr(self, "params_") and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit")
        return self._fit(X, y, partial=True, classes=classes)

    @_blockwise
    def predict_proba(self, X: Any) -> np.ndarray:
        Xs = self._transform(X)
        p = np.asarray(self.objective_.predict_raw(self.params_, Xs))
        if p.ndim == 1:
            p = np.column_stack([1 - p, p])
        return p

    @_blockwise
    def predict(self, X: Any) -> np.ndarray:
        proba = self.predict_proba(X)          # first: NotFittedError before classes_ is read
        return self.classes_[np.argmax(proba, axis=1)]


class _LinearClassifierBase(_ClassifierBase):
    """Logistic and softmax regression: ``coef_init``/``intercept_init`` in ``fit``."""

    def fit(self, X: Any, y: Any, coef_init: Any = None,
            intercept_init: Any = None) -> "_LinearClassifierBase":
        """Train from scratch for ``epochs`` epochs (or until a stop rule fires).

        ``coef_init`` (shape of ``coef_``) and ``intercept_init`` (shape of ``intercept_``)
        are the starting weights for the original features (default 0), as in
        scikit-learn's ``SGDClassifier.fit``.
        """
        return self._fit(X, y, partial=False, coef_init=coef_init,
                         intercept_init=intercept_init)


class LogisticRegression(_LinearClassifierBase):
    """Binary logistic regression (cross-entropy, sigmoid) by gradient descent."""

    _curvature = 0.25  # sigmoid' <= 1/4

    def __init__(self, *, fit_intercept: bool = True, optimizer: Any = "auto",
                 lr: float | None = None, schedule: Any = None, batch_size: int | None = None,
                 epochs: int = 1000, shuffle: bool = True, seed: int | None = 0,
                 tol: float | None = 1e-6,
                 patience: int = 10, early_stopping: bool = False,
                 validation_fraction: float = 0.1, l2: float = 0.0, standardize: bool = True,
                 time_limit: float | None = None, verbose: bool = False,
                 optimizer_options: dict | None = None):
        self.fit_intercept = fit_intercept
        super().__init__(optimizer=optimizer, lr=lr, schedule=schedule, batch_size=batch_size,
                         epochs=epochs, shuffle=shuffle, seed=seed, tol=tol, patience=patience,
                         early_stopping=early_stopping, validation_fraction=validation_fraction,
                         l2=l2, standardize=standardize, time_limit=time_limit, verbose=verbose,
                         optimizer_options=optimizer_options)

    def _prepare_y(self, y, first, classes=None):
        yt, k = super()._prepare_y(y, first, classes)
        if len(self.classes_) > 2:
            raise ValueError(f"Only binary classification is supported. The type of the target "
                             f"is multiclass ({len(self.classes_)} classes); use "
                             f"SoftmaxRegression for more than two classes.")
        return yt, k

    def _make_loss(self, n_features, n_outputs):
        return LogisticLoss(n_features, fit_intercept=self.fit_intercept, l2=self.l2)

    def _init_from(self, coef_init, intercept_init, dtype):
        d = self.n_features_in_
        coef, intercept = self._check_init_arrays(coef_init, intercept_init, ((d,), (1, d)), 1)
        return self._pack_linear(coef, intercept, dtype)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False   # binary by design: SoftmaxRegression is K > 2
        return tags

    def _set_public(self) -> None:
        v = self.objective_.views(self.params_)
        coef = np.array(v["coef"]).reshape(1, -1)
        intercept = np.array(v.get("intercept", np.zeros(1))).reshape(1)
        if self.scaler_ is not None:
            coef = coef / self.scaler_.scale_
            intercept = intercept - coef @ self.scaler_.mean_
        self.coef_ = coef.astype(self.params_.dtype)
        self.intercept_ = intercept.astype(self.params_.dtype)

    @_blockwise
    def decision_function(self, X: Any) -> np.ndarray:
        Xs = self._transform(X)
        return self.objective_.decision_function(self.params_, Xs)


class SoftmaxRegression(_LinearClassifierBase):
    """Multiclass logistic (softmax) regression with cross-entropy, by gradient descent."""

    _curvature = 0.5  # the softmax cross-entropy's Hessian in the logits is <= 1/2

    def __init__(self, *, fit_intercept: bool = True, optimizer: Any = "auto",
                 lr: float | None = None, schedule: Any = None, batch_size: int | None = None,
                 epochs: int = 1000, shuffle: bool = True, seed: int | None = 0,
                 tol: float | None = 1e-6,
                 patience: int = 10, early_stopping: bool = False,
                 validation_fraction: float = 0.1, l2: float = 0.0, standardize: bool = True,
                 time_limit: float | None = None, verbose: bool = False,
                 optimizer_options: dict | None = None):
        self.fit_intercept = fit_intercept
        super().__init__(optimizer=optimizer, lr=lr, schedule=schedule, batch_size=batch_size,
                         epochs=epochs, shuffle=shuffle, seed=seed, tol=tol, patience=patience,
                         early_stopping=early_stopping, validation_fraction=validation_fraction,
                         l2=l2, standardize=standardize, time_limit=time_limit, verbose=verbose,
                         optimizer_options=optimizer_options)

    def _make_loss(self, n_features, n_outputs):
        return SoftmaxLoss(n_features, max(n_outputs, 2), fit_intercept=self.fit_intercept,
                           l2=self.l2)

    def _init_from(self, coef_init, intercept_init, dtype):
        d, K = self.n_features_in_, self.objective_.n_classes
        coef, intercept = self._check_init_arrays(coef_init, intercept_init, ((K, d),), K)
        return self._pack_linear(coef, intercept, dtype)

    def _set_public(self) -> None:
        v = self.objective_.views(self.params_)
        coef = np.array(v["coef"])               # (d, K)
        intercept = np.array(v.get("intercept", np.zeros(coef.shape[1])))
        if self.scaler_ is not None:
            assert self.scaler_.scale_ is not None and self.scaler_.mean_ is not None  # fitted
            coef = coef / self.scaler_.scale_[:, None]
            intercept = intercept - self.scaler_.mean_ @ coef
        self.coef_ = coef.T.astype(self.params_.dtype)
        self.intercept_ = intercept.astype(self.params_.dtype)

    @_blockwise
    def decision_function(self, X: Any) -> np.ndarray:
        """Logits, shape (n_samples, n_classes); for two classes, as scikit-learn, one column
        ``z₁ − z₀`` of shape (n_samples,) (positive means ``classes_[1]``)."""
        Xs = self._transform(X)
        z = self.objective_.decision_function(self.params_, Xs)
        return z[:, 1] - z[:, 0] if z.shape[1] == 2 else z


class _MLPBase(_GDEstimator):
    def _layers(self, n_in: int, n_out: int) -> list[int]:
        hidden = self.hidden_layer_sizes
        if isinstance(hidden, (int, np.integer)):
            hidden = (hidden,)
        sizes = [checks.count(f"hidden_layer_sizes[{i}]", h, minimum=1)
                 for i, h in enumerate(hidden)]
        return [n_in, *sizes, n_out]

    def _set_public(self) -> None:
        layers = self.objective_.layers(self.params_)
        self.coefs_ = [np.array(W) for W, _ in layers]
        self.intercepts_ = [np.array(b) for _, b in layers]


class MLPClassifier(_MLPBase, _ClassifierBase):
    """Multi-layer perceptron classifier: hidden layers with ``activation``, softmax output,
    cross-entropy loss, gradients by backpropagation."""

    def __init__(self, hidden_layer_sizes: Any = (100,), *, activation: str = "relu",
                 optimizer: Any = "adam", lr: float = 1e-3, schedule: Any = None,
                 batch_size: int | None = 200, epochs: int = 200, shuffle: bool = True,
                 seed: int | None = 0, tol: float | None = 1e-4, patience: int = 10,
                 early_stopping: bool = False, validation_fraction: float = 0.1,
                 l2: float = 1e-4, standardize: bool = True, time_limit: float | None = None,
                 verbose: bool = False, optimizer_options: dict | None = None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        super().__init__(optimizer=optimizer, lr=lr, schedule=schedule, batch_size=batch_size,
                         epochs=epochs, shuffle=shuffle, seed=seed, tol=tol, patience=patience,
                         early_stopping=early_stopping, validation_fraction=validation_fraction,
                         l2=l2, standardize=standardize, time_limit=time_limit, verbose=verbose,
                         optimizer_options=optimizer_options)

    def _make_loss(self, n_features, n_outputs):
        return MLPLoss(self._layers(n_features, max(n_outputs, 2)),
                       activation=self.activation, task="classification", l2=self.l2)


class MLPRegressor(_DaskScore, RegressorMixin, _MLPBase):
    """Multi-layer perceptron regressor: hidden layers with ``activation``, linear output,
    squared-error loss ``(1/(2n))·Σ‖ŷ−y‖²``, gradients by backpropagation."""

    def __init__(self, hidden_layer_sizes: Any = (100,), *, activation: str = "relu",
                 optimizer: Any = "adam", lr: float = 1e-3, schedule: Any = None,
                 batch_size: int | None = 200, epochs: int = 200, shuffle: bool = True,
                 seed: int | None = 0, tol: float | None = 1e-4, patience: int = 10,
                 early_stopping: bool = False, validation_fraction: float = 0.1,
                 l2: float = 1e-4, standardize: bool = True, time_limit: float | None = None,
                 verbose: bool = False, optimizer_options: dict | None = None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        super().__init__(optimizer=optimizer, lr=lr, schedule=schedule, batch_size=batch_size,
                         epochs=epochs, shuffle=shuffle, seed=seed, tol=tol, patience=patience,
                         early_stopping=early_stopping, validation_fraction=validation_fraction,
                         l2=l2, standardize=standardize, time_limit=time_limit, verbose=verbose,
                         optimizer_options=optimizer_options)

    def _make_loss(self, n_features, n_outputs):
        return MLPLoss(self._layers(n_features, n_outputs), activation=self.activation,
                       task="regression", l2=self.l2)

    def _score_fn(self):
        def r2(p, X, y):
            pred = np.asarray(self.objective_.predict_raw(p, X)).reshape(y.shape)
            ss = float(np.sum((y - y.mean(axis=0)) ** 2))
            return 1 - float(np.sum((y - pred) ** 2)) / ss if ss > 0 else 0.0
        return r2

    def partial_fit(self, X: Any, y: Any) -> "MLPRegressor":
        """One epoch over ``(X, y)``, continuing the weights and the optimizer state.

        With ``standardize=True`` the scaling is fitted on the first call's data only."""
        return self._fit(X, y, partial=True)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    @_blockwise
    def predict(self, X: Any) -> np.ndarray:
        Xs = self._transform(X)
        out = np.asarray(self.objective_.predict_raw(self.params_, Xs))
        return out.reshape(len(Xs)) if out.ndim == 2 and out.shape[1] == 1 else out


ESTIMATORS = {"linear": LinearRegression, "logistic": LogisticRegression,
              "softmax": SoftmaxRegression, "mlp": MLPClassifier, "mlp_regressor": MLPRegressor}
