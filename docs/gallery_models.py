"""The gallery's model pictures (run by `make gallery`): a fitted line, decision regions, and
full-batch GD against mini-batch SGD on the same axes."""

import sys
import warnings
from pathlib import Path

from gdlab import plot
from gdlab.data import make_classification_blobs, make_linear
from gdlab.models import LinearRegression, SoftmaxRegression

out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/gallery")
out.mkdir(parents=True, exist_ok=True)

X, y, _, _ = make_linear(200, 1, noise=0.8, seed=2)
line = LinearRegression().fit(X, y)
plot.plot_fit(line, X, y, path=out / "fit-line.png",
              title=f"linear regression by GD: y = {line.coef_[0]:.3f} x + {line.intercept_:.3f}")

Xc, yc = make_classification_blobs(300, n_classes=3, seed=4)
clf = SoftmaxRegression().fit(Xc, yc)
plot.plot_decision_regions(clf, Xc, yc, path=out / "decision-regions.png",
                           title=f"softmax regression: accuracy {clf.score(Xc, yc):.3f}")

Xs, ys, _, _ = make_linear(5000, 10, noise=0.5, seed=1)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    full = LinearRegression(batch_size=None, lr=0.05, epochs=60, tol=None).fit(Xs, ys)
    mini = LinearRegression(batch_size=32, lr=0.01, epochs=60, tol=None).fit(Xs, ys)
plot.plot_loss([full, mini], labels=["full-batch GD (1 step/epoch)", "mini-batch SGD (batch 32)"],
               path=out / "full-vs-minibatch.png", title="mean squared error per epoch", log=True)
print(f"pictures in {out}")
