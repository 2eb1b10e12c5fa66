"""Data models: objectives with analytic gradients and scikit-learn-style estimators."""
