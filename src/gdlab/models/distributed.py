"""The same descent on a Dask cluster: the distributed full-batch loss and the estimators'
Dask input.

The descent loop does not change. A :class:`~gdlab.data.DaskStream` holds the rows on the
workers; for a full-batch step its one batch is the set of blocks itself, and
:class:`DistributedLoss` (a model loss, wrapped by :class:`gdlab.train.ModelObjective` into
the loop's objective as every model loss is) evaluates the loss and gradient where the
blocks are:

1. the parameters travel to each worker once per evaluation, inside the one task each
   worker gets (it runs over all the blocks it holds);
2. each block returns its sums: ``Σe², Xᵀe, Σe`` for linear regression (so the mean, the
   rmse and their gradients come out exactly), ``n·(loss, gradient)`` for other models;
3. the client adds them in block order (the same numbers however blocks are spread over
   workers) and finishes the mean, the gradient and the L2 penalty.

What crosses the network per evaluation is one parameter vector per worker and one sum
vector per block; the data never moves. The accepted trial point of a line search is the
next step's point: its evaluation is remembered (the same numbers, no second pass). For
linear layers (linear, logistic, softmax regression), value-only line-search trials along
one direction read no data: each block keeps ``Xβ`` at the iterate and ``Xβ'`` at the
first trial, and the loss at ``β + s(β' − β)`` needs only ``Xβ + s(Xβ' − Xβ)``.

The estimators accept dask arrays and dataframes through :func:`fit_collections`,
:func:`score_collections` and :func:`predict_blocks`, and score a DaskStream with
:func:`score_blocks`; :func:`gdlab.data.dask_cluster.connect` starts or reaches a cluster.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np

from ..data.dask_stream import BlockSet, BlockStandardizer, DaskStream
from ..data.standardize import Standardizer
from ..errors import ParameterError
from ..train import ModelObjective
from .linear import LinearLoss, LogisticLoss, SoftmaxLoss
from .loss import _as_class_targets, _softmax_xent_value

__all__ = ["DaskObjective", "DistributedLoss", "fit_collections", "predict_blocks",
           "score_blocks", "score_collections"]


# --- the distributed full-batch loss ---------------------------------------------------------

class DistributedLoss:
    """A model loss whose evaluations on a :class:`~gdlab.data.dask_stream.BlockSet` (a
    DaskStream's full batch) run on the workers holding the blocks; on numpy arrays it is
    the wrapped loss itself. Everything else (``n_params``, ``views``, ...) is the wrapped
    loss's. See the module docstring; ``line_cache=False`` evaluates every line-search
    trial from the data. ``stats`` counts passes over the data, evaluations answered from
    memory, and line-search values from cached products."""

    def __init__(self, loss: Any, *, line_cache: bool = True):
        self.loss = loss
        self.line_cache = bool(line_cache)
        self._memo: OrderedDict[tuple, tuple[float, np.ndarray]] = OrderedDict()
        self._line: dict[str, Any] | None = None
        self._anchor: tuple[str, np.ndarray] | None = None
        self._ids = 0
        self.stats = {"passes": 0, "remembered": 0, "line_values": 0}

    def __getattr__(self, name: str) -> Any:
        if name == "loss":  # (while unpickling)
            raise AttributeError(name)
        return getattr(self.loss, name)

    def __repr__(self) -> str:
        return f"DistributedLoss({self.loss!r})"

    # -- value and gradient --------------------------------------------------------------------
    def value_and_grad(self, params: np.ndarray, X: Any, y: Any,
                       out: np.ndarray | None = None) -> tuple[float, np.ndarray]:
        if not isinstance(X, BlockSet):
            return self.loss.value_and_grad(params, X, y, out=out)
        p = np.ascontiguousarray(params)
        key = (X.token, X.scaler is None, p.dtype.str, p.tobytes())
        hit = self._memo.get(key)
        if hit is None:
            hit = self._evaluate(p, X)
            self._memo[key] = hit
            while len(self._memo) > 4:
                self._memo.popitem(last=False)
        else:
            self.stats["remembered"] += 1
        self._anchor = (self._new_id(), p.copy())
        f, g = hit
        if out is None:
            return f, g.copy()
        out[...] = g
        return f, out

    def _evaluate(self, p: np.ndarray, blocks: BlockSet) -> tuple[float, np.ndarray]:
        """One pass: each block's sums on its worker, added in block order."""
        self.stats["passes"] += 1
        linear = isinstance(self.loss, LinearLoss)
        parts = blocks.per_block(_linear_sums if linear else _mean_sums, self.loss, p)
        n = len(blocks)
        g = np.empty(self.loss.n_params, dtype=p.dtype)
        if linear:
            S, G, s = _add_in_order(parts)
            L = self.loss._loss_from_sq(S, n)
            c = self.loss._grad_scale(L, n)
            dk = G.size
            g[:dk] = G.reshape(-1) * c
            if dk < len(g):
                g[dk:] = s * c
            return float(self.loss._penalized(p, g, L)), g
        total, acc = _add_in_order(parts)
        g[...] = acc / n
        return float(total / n), g

    # -- values alone (line searches) -----------------------------------------------------------
    def value(self, params: np.ndarray, X: Any, y: Any) -> float:
        if not isinstance(X, BlockSet):
            return self.loss.value(params, X, y)
        p = np.ascontiguousarray(params)
        kind = _layer_kind(self.loss)
        if kind is not None and self.line_cache and self._anchor is not None \
                and X.scaler is None:
            total = self._line_value(p, X)
        else:
            self.stats["passes"] += 1
            total = sum(X.per_block(_value_sums, self.loss, p, kind))
        n = len(X)
        if kind is None:
            return float(total / n)
        L = self.loss._loss_from_sq(total, n) if kind == "linear" else total / n
        if self.loss.l2:
            L = L + self.loss._penalty(p)
        return float(L)

    def _line_value(self, q: np.ndarray, blocks: BlockSet) -> float:
        """The summed loss at ``q`` from products cached on the workers when ``q`` lies on
        the line from the anchor (the last point with a gradient) through the first trial;
        else one pass that caches ``X·anchor`` and ``X·q`` for the next trials."""
        assert self._anchor is not None
        aid, a = self._anchor
        line = self._line
        s = None
        plan: tuple
        if line is not None and line["anchor"] == aid and line["token"] == blocks.token:
            s = _on_line(a, line["q"], q)
        if s is None:
            qid = self._new_id()
            self._line = {"anchor": aid, "q": q.copy(), "qid": qid, "token": blocks.token}
            plan = ("new", aid, a, qid, q)
            self.stats["passes"] += 1
        else:
            assert line is not None
            plan = ("line", aid, a, line["qid"], line["q"], s, q)
            self.stats["line_values"] += 1
        return float(sum(blocks.per_block(_line_sums, self.loss, blocks.token, plan)))

    def _new_id(self) -> str:
        self._ids += 1
        return f"{id(self):x}-{self._ids}"


def _add_in_order(parts: list) -> Any:
    """The sum of per-block tuples, added in block order."""
    total = [np.array(v, dtype=np.float64, copy=True) for v in parts[0]]
    for part in parts[1:]:
        for t, v in zip(total, part):
            t += v
    return tuple(total)


def _on_line(a: np.ndarray, q1: np.ndarray, q: np.ndarray) -> float | None:
    """``s`` with ``q = a + s (q1 − a)`` up to the rounding of the points, or ``None``."""
    v = q1 - a
    w = q - a
    vv = float(v @ v)
    if not vv > 0:
        return None
    s = float(w @ v) / vv
    scale = float(np.max(np.abs(a)) + np.max(np.abs(q)) + abs(s) * np.max(np.abs(q1)))
    tol = 8 * np.finfo(q.dtype).eps * max(scale, 1e-300)
    if not np.isfinite(s) or float(np.max(np.abs(w - s * v))) > tol:
        return None
    return s


# --- what the workers compute -------------------------------------------------------------------

def _linear_sums(X: np.ndarray, y: np.ndarray, i: int, loss: LinearLoss, p: np.ndarray
                 ) -> tuple[float, np.ndarray, np.ndarray]:
    """``(Σe², Xᵀe, Σe)`` of one block for linear regression (e = Xβ + b − y), in float64:
    the compiled one-pass kernel for one target on a large block, else BLAS."""
    from .. import kernels
    from .linear import _FUSED_MIN
    n, d = X.shape
    k = loss.n_targets
    B, b = loss._split(p)
    Y = y.reshape(n, k)
    kernel = kernels.linear_pass() if k == 1 and n * d >= _FUSED_MIN and \
        X.flags.c_contiguous else None
    if kernel is not None:
        G = np.empty(d)
        S, s = kernel(X, np.ascontiguousarray(Y[:, 0]), np.ascontiguousarray(B[:, 0]),
                      float(b[0]) if b is not None else 0.0, 0, n, G)
        return float(S), G.reshape(d, 1), np.array([s])
    e = X @ B.astype(X.dtype, copy=False)
    if b is not None:
        e += b
    e -= Y
    ef = e.reshape(-1)
    return (float(np.dot(ef, ef)), (X.T @ e).astype(np.float64),
            e.sum(axis=0).astype(np.float64))


def _mean_sums(X: np.ndarray, y: np.ndarray, i: int, loss: Any, p: np.ndarray
               ) -> tuple[float, np.ndarray]:
    """``(n·loss, n·gradient)`` of one block for any model loss (its L2 penalty, added per
    block, averages back to once)."""
    f, g = loss.value_and_grad(p, X, y)
    n = len(X)
    return float(f) * n, g.astype(np.float64) * n


def _layer_kind(loss: Any) -> str | None:
    """``"linear"``, ``"logistic"`` or ``"softmax"`` for one linear layer, else ``None``."""
    if isinstance(loss, LinearLoss):
        return "linear"
    if isinstance(loss, LogisticLoss):
        return "logistic"
    if isinstance(loss, SoftmaxLoss):
        return "softmax"
    return None


def _value_sums(X: np.ndarray, y: np.ndarray, i: int, loss: Any, p: np.ndarray,
                kind: str | None) -> float:
    """One block's share of the value: the summed loss (without the penalty) of a linear
    layer, ``n·value`` otherwise."""
    if kind is None:
        return float(loss.value(p, X, y)) * len(X)
    return _sum_from_z(loss, kind, _products(loss, X, p[None, :])[0], y)


def _products(loss: Any, X: np.ndarray, P: np.ndarray) -> list[np.ndarray]:
    """``Z = X W + b`` of a linear layer at each row of ``P``, from one product with X."""
    d = loss.n_features
    k = loss.n_targets if isinstance(loss, LinearLoss) else \
        (1 if isinstance(loss, LogisticLoss) else loss.n_classes)
    W = np.concatenate([row[:d * k].reshape(d, k) for row in P], axis=1)
    Z = X @ W.astype(X.dtype, copy=False)
    out = []
    for j, row in enumerate(P):
        z = Z[:, j * k:(j + 1) * k]
        if loss.fit_intercept:
            z = z + row[d * k:]
        out.append(np.ascontiguousarray(z))
    return out


def _sum_from_z(loss: Any, kind: str, Z: np.ndarray, y: np.ndarray) -> float:
    """The summed loss of one block from its products ``Z`` (n × k), without the penalty."""
    from scipy.special import log_expit
    n = len(Z)
    if kind == "linear":
        e = (Z - y.reshape(n, -1)).reshape(-1)
        return float(np.dot(e, e))
    if kind == "logistic":
        yy = loss._labels(y, n, Z.dtype)
        return float(-log_expit(-(1 - 2 * yy) * Z[:, 0]).sum())
    k, Y = _as_class_targets(y, n, loss.n_classes, Z.dtype)
    return float(_softmax_xent_value(Z.copy(), k, Y, n)) * n


#: products of the last line search, per (blocks, block index): {point id: Z}
_LINE_CACHE: dict[tuple[str, int], dict[str, np.ndarray]] = {}
_LINE_KEYS: list[tuple[str, int]] = []


def _line_sums(X: np.ndarray, y: np.ndarray, i: int, loss: Any, token: str,
               plan: tuple) -> float:
    """One block's summed loss at a line-search trial (see DistributedLoss._line_value):
    ``("new", anchor id, anchor, q id, q)`` computes and keeps both products from one
    product with X; ``("line", anchor id, anchor, q1 id, q1, s, q)`` uses the kept ones
    (computing them again when this worker does not hold them)."""
    kind = _layer_kind(loss)
    assert kind is not None
    key = (token, i)
    cache = _LINE_CACHE.get(key)
    if plan[0] == "line":
        _, aid, a, qid, q1, s, q = plan
        if cache is None or aid not in cache or qid not in cache:
            cache = _keep(key, aid, qid, _products(loss, X, np.stack([a, q1])))
        Za, Zq = cache[aid], cache[qid]
        return _sum_from_z(loss, kind, Za + s * (Zq - Za), y)
    _, aid, a, qid, q = plan
    if cache is not None and aid in cache:
        Za = cache[aid]
        Zq = _products(loss, X, q[None, :])[0]
        cache = _keep(key, aid, qid, [Za, Zq])
    else:
        cache = _keep(key, aid, qid, _products(loss, X, np.stack([a, q])))
    return _sum_from_z(loss, kind, cache[qid], y)


def _keep(key: tuple[str, int], aid: str, qid: str, Z: list[np.ndarray]) -> dict:
    """Keep one block's two products (and at most 64 blocks' products per process)."""
    _LINE_CACHE[key] = {aid: Z[0], qid: Z[1]}
    if key in _LINE_KEYS:
        _LINE_KEYS.remove(key)
    _LINE_KEYS.append(key)
    while len(_LINE_KEYS) > 64:
        _LINE_CACHE.pop(_LINE_KEYS.pop(0), None)
    return _LINE_CACHE[key]


def drop_line_cache(token: str | None = None) -> None:
    """Forget the kept line-search products (of one set of blocks, or all)."""
    for key in list(_LINE_CACHE):
        if token is None or key[0] == token:
            _LINE_CACHE.pop(key, None)
            if key in _LINE_KEYS:
                _LINE_KEYS.remove(key)


class DaskObjective:
    """The loop's objective (``value_and_grad(x, batch)``, ``value(x, batch)``) of a model
    loss over all rows of a DaskStream, for :func:`gdlab.loop.descend` used directly: each
    row of ``x`` is evaluated on the workers (``batch`` is ignored; the stream's
    standardizer, if any, applies)."""

    def __init__(self, loss: Any, stream: DaskStream, *, line_cache: bool = True):
        self.loss = DistributedLoss(loss, line_cache=line_cache)
        self.stream = stream
        self._objective = ModelObjective(self.loss)

    def value_and_grad(self, x: np.ndarray, batch: Any = None
                       ) -> tuple[np.ndarray, np.ndarray]:
        blocks = self.stream.full_blocks()
        fs, gs = [], []
        for row in np.atleast_2d(x):
            f, g = self.loss.value_and_grad(row, blocks, None)
            fs.append(f)
            gs.append(g)
        return np.array(fs, dtype=float), np.stack(gs)

    def value(self, x: np.ndarray, batch: Any = None) -> np.ndarray:
        blocks = self.stream.full_blocks()
        return np.array([self.loss.value(row, blocks, None) for row in np.atleast_2d(x)])


# --- the estimators' Dask input --------------------------------------------------------------

def bind_loss(loss: Any, stream: Any) -> Any:
    """The loss to train with on ``stream``: a :class:`DistributedLoss` for a DaskStream."""
    return DistributedLoss(loss) if isinstance(stream, DaskStream) else loss


def block_standardizer(scaler: Standardizer | None) -> BlockStandardizer | None:
    """``scaler``'s numbers as a :class:`BlockStandardizer` (which scales blocks on the
    workers when a pass over a stream's chunks meets them)."""
    if scaler is None or isinstance(scaler, BlockStandardizer):
        return scaler
    s = BlockStandardizer()
    s.__dict__.update(scaler.__dict__)
    return s


def fit_collections(est: Any, X: Any, y: Any, *, partial: bool, classes: Any = None,
                    coef_init: Any = None, intercept_init: Any = None) -> Any:
    """``est.fit`` / ``est.partial_fit`` on dask collections: the rows become a DaskStream
    on the workers (validated there as scikit-learn validates arrays), and training is the
    estimator's own (``est._train``), on the same settings as for arrays."""
    est._check_params()
    if est.early_stopping and not partial:
        raise ParameterError("early_stopping holds out rows of in-memory data; with Dask "
                             "data hold out a validation set yourself (or fit on arrays)")
    first = not partial or not hasattr(est, "params_")
    stream = DaskStream.from_dask(X, y, batch_size=est.batch_size, shuffle=est.shuffle,
                                  seed=est.seed if est.seed is not None else 0,
                                  labels=est._is_classifier)
    try:
        _check_features(est, stream, X, first)
        if est._is_classifier:
            stream, n_out = _encode_classes(est, stream, first, classes)
        else:
            n_out = stream.blocks.n_targets
        if first:
            _start(est, stream, n_out, coef_init, intercept_init)
        stream.standardizer = block_standardizer(est.scaler_)
        return est._train(stream, None, partial=partial)
    finally:
        stream.close()


def _check_features(est: Any, stream: DaskStream, X: Any, reset: bool) -> None:
    """``n_features_in_`` and ``feature_names_in_`` as scikit-learn's ``validate_data``
    sets (``reset``) or checks them."""
    d = stream.n_features
    names = np.asarray(stream.feature_names, dtype=object) if hasattr(X, "columns") else None
    if reset:
        est.n_features_in_ = d
        if names is not None:
            est.feature_names_in_ = names
        elif hasattr(est, "feature_names_in_"):
            del est.feature_names_in_
        return
    if d != est.n_features_in_:
        raise ValueError(f"X has {d} features, but {type(est).__name__} is expecting "
                         f"{est.n_features_in_} features as input.")


def _encode_classes(est: Any, stream: DaskStream, first: bool, classes: Any
                    ) -> tuple[DaskStream, int]:
    """The classes from the workers (checked as scikit-learn checks targets) and the
    stream with its labels encoded as 0 .. K-1 on the workers."""
    from sklearn.utils.multiclass import check_classification_targets
    values, _ = stream.unique_targets(limit=1 << 20)
    check_classification_targets(values)
    est._prepare_y(values, first, classes)
    encoded = stream.encoded(est.classes_)
    stream.close()
    return encoded, len(est.classes_)


def _start(est: Any, stream: DaskStream, n_out: int, coef_init: Any,
           intercept_init: Any) -> None:
    """The first call's state, as the estimators' ``_fit`` makes it: the standardizer
    (fitted on the workers), the loss, the starting weights, the empty history."""
    names = [str(f) for f in getattr(est, "feature_names_in_", [])] or None
    if est.standardize:
        est.scaler_ = Standardizer().fit_stats(stream.feature_stats(), names)
    else:
        est.scaler_ = None
    est.objective_ = est._make_loss(stream.n_features, n_out)
    dtype = stream.dtype
    if coef_init is None and intercept_init is None:
        est.params_ = est.objective_.init_params(np.random.default_rng(est.seed), dtype=dtype)
    else:
        est.params_ = est._init_from(coef_init, intercept_init, dtype)
    est._opt_state = None
    est.t_ = 0
    est.history_ = {"loss": [], "val_loss": [], "val_score": [], "lr": [], "time": []}


def score_blocks(est: Any, stream: DaskStream, *, pooled: bool = True) -> float:
    """The estimator's score on every row of ``stream``, computed on the workers: accuracy,
    or R² (``pooled``: one R² over all targets, as ``score_stream``; else the mean of the
    targets' R², as scikit-learn's ``score``)."""
    parts = stream.blocks.per_block(_score_part, est)
    if est._is_classifier:
        right = sum(p[0] for p in parts)
        return right / stream.n_samples
    from ..data.standardize import RunningStats
    stats: RunningStats = parts[0][1]
    sse = np.array(parts[0][0], dtype=np.float64)
    for p in parts[1:]:
        sse = sse + p[0]
        stats = stats.merge(p[1])
    ss = stats.m2
    if pooled:
        total = float(ss.sum())
        return 1 - float(sse.sum()) / total if total > 0 else 0.0
    r2 = np.where(ss > 0, 1 - sse / np.where(ss > 0, ss, 1.0), np.where(sse > 0, 0.0, 1.0))
    return float(np.mean(r2))


def _score_part(X: np.ndarray, y: np.ndarray, i: int, est: Any) -> tuple:
    """One block's share of a score: right answers, or the per-target squared errors and
    the targets' column statistics."""
    from ..data.standardize import RunningStats
    names = getattr(est, "feature_names_in_", None)
    if names is not None:  # fitted on a dataframe: predict on one (no warning about names)
        import pandas as pd
        X = pd.DataFrame(X, columns=names)
    pred = est.predict(X)
    if est._is_classifier:
        return int(np.sum(pred == y)), len(y)
    y2 = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    e = y2 - np.asarray(pred, dtype=np.float64).reshape(y2.shape)
    return (e * e).sum(axis=0), RunningStats(y2.shape[1]).update(y2)


def score_collections(est: Any, X: Any, y: Any) -> float:
    """``est.score(X, y)`` for dask collections, computed on the workers."""
    stream = DaskStream.from_dask(X, y, labels=est._is_classifier)
    try:
        return score_blocks(est, stream, pooled=False)
    finally:
        stream.close()


def predict_blocks(est: Any, method: str, X: Any) -> Any:
    """``est.<method>(X)`` for a dask array or dataframe: a dask array computed block by
    block on the workers (its row chunks are X's; nothing is computed yet)."""
    import dask
    import dask.array as da
    probe = getattr(est, method)(_probe_rows(est, X))
    tail, dtype = probe.shape[1:], probe.dtype
    model = dask.delayed(est, pure=True)
    if hasattr(X, "columns"):  # a dataframe: its partitions keep their column names
        parts = [da.from_delayed(dask.delayed(_call)(model, method, p), dtype=dtype,
                                 shape=(np.nan,) + tail) for p in X.to_delayed()]
        return da.concatenate(parts)
    if X.ndim != 2:
        raise ParameterError(f"X must be a 2-D dask array, got shape {X.shape}")
    X = X.rechunk({1: -1})
    chunks = (X.chunks[0],) + tuple((t,) for t in tail)
    meta = np.empty((0,) + tail, dtype=dtype)
    if tail:
        return X.map_blocks(_call_block, model, method, dtype=dtype, chunks=chunks, meta=meta)
    return X.map_blocks(_call_block, model, method, dtype=dtype, chunks=chunks, drop_axis=1,
                        meta=meta)


def _probe_rows(est: Any, X: Any) -> Any:
    """One row of zeros shaped as X's rows (the output's dtype and shape come from it)."""
    d = X.shape[1]
    if hasattr(X, "columns"):
        import pandas as pd
        return pd.DataFrame(np.zeros((1, d)), columns=X.columns)
    return np.zeros((1, d), dtype=X.dtype if X.dtype.kind == "f" else np.float64)


def _call(est: Any, method: str, X: Any) -> np.ndarray:
    return np.asarray(getattr(est, method)(X))


def _call_block(X: np.ndarray, est: Any, method: str) -> np.ndarray:
    return np.asarray(getattr(est, method)(X))
