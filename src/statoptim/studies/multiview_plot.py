"""Figures of ``statoptim reproduce multiview`` (see :mod:`statoptim.studies.multiview`).

The plot layer of the study: each function takes what the compute layer
returns -- the precision-recall ``curves`` or the mixing-weight ``paths`` --
and draws one figure into ``path`` (matplotlib is imported only here).
"""
from __future__ import annotations

import numpy as np

from statoptim.studies.multiview_report import _is_collapsed

__all__ = ["plot_mixing"]


def plot_mixing(paths, path):
    """alpha per topic and J against the BCD cycles (needs matplotlib).

    One row per (data set, lambda); columns: alpha with mu = 0, alpha with the
    consensus mu, and J of both.
    """
    from matplotlib.figure import Figure

    rows = list(dict.fromkeys((p["data"], p["regularization"]) for p in paths))
    fig = Figure(figsize=(13, 3.2 * len(rows)))
    axes = fig.subplots(len(rows), 3, squeeze=False)
    for i, key in enumerate(rows):
        fits = [p for p in paths if (p["data"], p["regularization"]) == key]
        for p in fits:
            col = 0 if p["consensus"] == 0 else 1
            ax = axes[i, col]
            ax.plot(p["alpha_path"], lw=1)
            n = int(_is_collapsed(p["alpha_path"][-1]).sum())
            ax.set_title(f"{key[0]}, lambda={key[1]:g}, mu={p['consensus']:g}: "
                         f"{n}/{p['alpha_path'].shape[1]} at 0/1", fontsize=9)
            ax.set_ylim(-0.05, 1.05)
            ax.set_ylabel("alpha (one line per topic)")
            style = "-" if p["consensus"] == 0 else "--"
            axes[i, 2].semilogy(p["objective"], style, label=f"mu={p['consensus']:g}")
        axes[i, 2].set_title(f"{key[0]}, lambda={key[1]:g}: J per cycle", fontsize=9)
        axes[i, 2].set_ylabel("J")
        axes[i, 2].legend(fontsize=8)
        for ax in axes[i]:
            ax.set_xlabel("BCD cycle")
            ax.grid(alpha=0.3)
    fig.suptitle("Mixing weights and objective per BCD cycle (squared loss; mu = 0 is the "
                 "talk's objective)")
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    fig.savefig(path, dpi=110)


def _plot(curves, path):
    """The 11-point precision-recall curves (needs matplotlib)."""
    import matplotlib
    from matplotlib.figure import Figure

    settings = list(curves)
    fig = Figure(figsize=(10, 3.6 * len(settings)))
    axes = fig.subplots(len(settings), 2, squeeze=False)
    levels = np.linspace(0, 1, 11)
    colors = matplotlib.colormaps["tab10"](np.linspace(0, 1, 10))
    for row, setting in enumerate(settings):
        for col, (key, _label) in enumerate((("pr_fwd", "A -> B"), ("pr_rev", "B -> A"))):
            ax = axes[row, col]
            for i, (method, res) in enumerate(curves[setting].items()):
                style = "-o" if method.startswith("TM") else (
                    ":" if method.endswith("relevance") else "--")
                ax.plot(levels, res[key], style, ms=3, label=method, color=colors[i % 10],
                        lw=2.2 if "inner-CV" in method else 1.3)
            direction = {"wikipedia": ("image -> text", "text -> image")}.get(
                setting, ("A -> B", "B -> A"))[col]
            ax.set_title(f"{setting}: {direction}")
            ax.set_xlabel("recall")
            ax.set_ylabel("precision (11-point interpolated)")
            ax.set_xlim(0, 1)
            ax.set_ylim(0, 1)
            ax.grid(alpha=0.3)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=8, frameon=False)
    fig.suptitle("Cross-modal retrieval (cosine scoring; 'relevance': dot product of "
                 "posteriors); UCI: mean over the split seeds")
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(path, dpi=110)
