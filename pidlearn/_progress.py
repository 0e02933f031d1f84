"""Progress bars of long loops (training epochs): tqdm when it is installed and wanted, the plain iterable otherwise."""

from __future__ import annotations


def progress_bar(it, enabled: bool, desc: str):
    """``it`` wrapped in a transient tqdm bar labelled ``desc``; ``it`` itself when disabled or without tqdm."""
    if not enabled:
        return it
    try:
        from tqdm.auto import tqdm
    except ImportError:  # tqdm is optional
        return it
    return tqdm(it, desc=desc, leave=False)
