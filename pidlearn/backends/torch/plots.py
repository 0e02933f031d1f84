"""Old home of the training plots: they live in :mod:`pidlearn.backends.plots` (shared by both backends)."""

from pidlearn.backends.plots import plot_history, plot_mi_history

__all__ = ["plot_history", "plot_mi_history"]
