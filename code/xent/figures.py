"""The book's figure style: readable on a phone and on a projector (retina PNG, larger type)."""

from __future__ import annotations

import matplotlib as mpl

STYLE = {
    "figure.figsize": (6.4, 3.8),
    "figure.dpi": 100,
    "savefig.dpi": 200,
    "font.size": 13,
    "axes.titlesize": 14,
    "axes.labelsize": 13,
    "xtick.labelsize": 12,
    "ytick.labelsize": 12,
    "legend.fontsize": 12,
    "lines.linewidth": 2.2,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "figure.constrained_layout.use": True,
}


def setup() -> None:
    """Apply STYLE to matplotlib and, inside IPython, store figures as 2x (retina) PNGs."""
    mpl.rcParams.update(STYLE)
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats
        from IPython import get_ipython
    except ImportError:  # plain Python: rcParams are enough
        return
    if get_ipython() is not None:
        set_matplotlib_formats("retina")
