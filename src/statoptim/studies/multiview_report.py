"""Tables of ``statoptim reproduce multiview`` (see :mod:`statoptim.studies.multiview`).

The tabulate layer of the study: each function takes what the compute layer
returns -- ``results`` (``{(setting, method): [per-split dict]}``) or the
mixing-weight ``paths`` -- and builds :class:`~statoptim.studies._output.Table`
objects (the figures are in :mod:`statoptim.studies.multiview_plot`). The
published numbers printed beside ours live here too.
"""
from __future__ import annotations

import numpy as np

from statoptim.studies._output import Column, Table

__all__ = ["COLLAPSE_TOL", "DIRECTION_K", "direction_tables", "mixing_tables",
           "published_tables"]

#: The cut-offs of the image->text and text->image tables.
DIRECTION_K = (1, 5, 10, 50)

#: |alpha| within this of 0 or 1 counts as collapsed.
COLLAPSE_TOL = 1e-6

# Published numbers on the same Wikipedia features and split (docs/multiview.rst,
# "Published numbers").
PUBLISHED_WIKIPEDIA = [
    ("random (Rasiwasia et al. 2010)", "0.118", "0.118", "paper"),
    ("CM / CCA (Rasiwasia et al. 2010)", "0.249", "0.196", "recalled, not re-verified"),
    ("SM (Rasiwasia et al. 2010)", "0.225", "0.223", "recalled, not re-verified"),
    ("SCM (Rasiwasia et al. 2010)", "0.277", "0.226", "recalled, not re-verified"),
    ("CCA (secondary table)", "0.2549", "0.1846", "secondary table, unchecked"),
    ("PLS (LCFS/JFSSL tables)", "0.2402", "0.1633", "recalled, unverified"),
    ("GMMFA", "0.2750", "0.2139", "recalled, unverified"),
    ("GMLDA", "0.2751", "0.2098", "recalled, unverified"),
    ("LCFS (Wang et al. ICCV 2013)", "0.2798", "0.2141", "recalled, unverified"),
    ("JFSSL (Wang et al. TPAMI 2016)", "0.3063", "0.2275", "secondary table, unchecked"),
]

NUS_WIDE_TALK = [
    ("JRL (Zhai, Peng, Xiao, TCSVT 2014)", "0.5432 / 0.5010", "0.5199 / 0.5218"),
    ("SMFH (Tang, Wang, Shao, TIP 2016; hashing)", "0.5974 / 0.4658", "0.5596 / 0.4973"),
    ("TM (the talk's model)", "0.7011 / 0.7467", "0.7693 / 0.7748"),
]

# Issue targets: (data key, A->B, B->A)
TARGETS = {"wikipedia": (0.28, 0.23), "uci (fou,zer)->(kar,mor)": (0.90, 0.88)}

# ---------------------------------------------------------------- tabulate
def published_tables():
    """The published Wikipedia mAP and the talk's NUS-WIDE table, as printed beside ours."""
    published = Table(
        "multiview_published_wikipedia",
        "\nPublished mAP on the same Wikipedia features and split (image->text / "
        "text->image; docs/multiview.rst, 'Published numbers'):",
        [Column("method"), Column("i_to_t", "I->T", "{:.4g}"),
         Column("t_to_i", "T->I", "{:.4g}"), Column("source")],
        [{"method": m, "i_to_t": float(a), "t_to_i": float(b), "source": src}
         for m, a, b, src in PUBLISHED_WIKIPEDIA])

    def pair(second):
        return lambda v, row: f"{v:.4f} / {row[second]:.4f}"

    talk = Table(
        "multiview_nus_wide_talk",
        "\nThe talk's NUS-WIDE table (81 concepts) -- NOT reproducible offline: no data, "
        "code or split; the protocol is unstated and 'Precision' gives no K:",
        [Column("method"),
         Column("i_to_t_map", "I->T mAP / Precision", pair("i_to_t_precision")),
         Column("i_to_t_precision", show=False),
         Column("t_to_i_map", "T->I mAP / Precision", pair("t_to_i_precision")),
         Column("t_to_i_precision", show=False)],
        [{"method": m, "i_to_t_map": float(a.split("/")[0]),
          "i_to_t_precision": float(a.split("/")[1]), "t_to_i_map": float(b.split("/")[0]),
          "t_to_i_precision": float(b.split("/")[1])} for m, a, b in NUS_WIDE_TALK])
    return published, talk


def _curves(results, plotted):
    """Mean 11-point curves of the baselines and the ``plotted`` CP-model rows."""
    curves = {}
    for (setting, method), runs in results.items():
        if method.startswith("TM") and method not in plotted:
            continue
        curves.setdefault(setting, {})[method] = {
            key: np.mean([r[key] for r in runs], axis=0) for key in ("pr_fwd", "pr_rev")}
    return curves


def _mean_sd(key):
    def fmt(value, row):
        return f"{value:.3f}" if row["splits"] == 1 else f"{value:.3f} +- {row[key]:.3f}"
    return fmt


def _pair(second):
    return lambda value, row: f"{value:.3f}, {row[second]:.3f}"


def _cycles(value, row):
    if value is None:
        return ""
    text = str(value)
    if row["collapsed"] and "mu=0" in row["method"]:
        text += f" ({row['collapsed']} alpha at 0/1)"
    if row["selected"]:
        text += f" [{row['selected']}] (selection {row['selection_s']:.1f} s)"
    return text


def _retrieval_table(results):
    """The main table: mAP both ways, P@K, mAP@50, fit time and cycles per method."""
    columns = [Column("data", "data (A->B)"), Column("method"),
               Column("splits", show=False),
               Column("map_ab", "A->B mAP", _mean_sd("map_ab_sd")),
               Column("map_ab_sd", show=False),
               Column("map_ba", "B->A mAP", _mean_sd("map_ba_sd")),
               Column("map_ba_sd", show=False)]
    for label, key in (("P@10", "p10"), ("P@50", "p50"), ("P@100", "p100"),
                       ("mAP@50", "mapk50")):
        columns += [Column(f"{key}_ab", label, _pair(f"{key}_ba")),
                    Column(f"{key}_ba", show=False)]
    columns += [Column("fit_s", "fit s", "{:.3f}"), Column("cycles", fmt=_cycles),
                Column("collapsed", show=False), Column("selected", show=False),
                Column("selection_s", show=False)]
    table = Table("multiview_retrieval", "", columns,
                  note="\nP@K and mAP@50 columns: (A->B, B->A); mAP@50 divides by the "
                       "relevant items found in the top 50.")
    for (setting, method), runs in results.items():
        def mean(key, runs=runs):
            return float(np.mean([r[key] for r in runs]))

        row = {"data": setting, "method": method, "splits": len(runs),
               "map_ab": mean("map_fwd"), "map_ba": mean("map_rev"),
               "map_ab_sd": float(np.std([r["map_fwd"] for r in runs])),
               "map_ba_sd": float(np.std([r["map_rev"] for r in runs])),
               "fit_s": float(np.median([r["fit_s"] for r in runs]))}
        for key, name in (("p10", "p10"), ("p50", "p50"), ("p100", "p100"),
                          ("mapk50", "mapk")):
            row[f"{key}_ab"], row[f"{key}_ba"] = mean(f"{name}_fwd"), mean(f"{name}_rev")
        if "n_iter" in runs[0]:
            row["cycles"] = int(np.median([r["n_iter"] for r in runs]))
            row["collapsed"] = int(sum(r["collapsed"] for r in runs))
            if "selected" in runs[0]:
                picks = sorted({r["selected"] for r in runs})
                row["selected"] = ", ".join(
                    f"{p} x{sum(r['selected'] == p for r in runs)}" for p in picks)
                row["selection_s"] = float(np.median([r["select_s"] for r in runs]))
        table.add(row)
    return table


def _targets_table(results, models):
    """The issue's targets beside what this run measured."""
    table = Table(
        "multiview_targets",
        "\nTargets of the issue (mean mAP, A->B / B->A) and what this run measured:",
        [Column("data"), Column("method"),
         Column("target_ab", "target A->B", "{:.2f}"), Column("target_ba", "target B->A",
                                                               "{:.2f}"),
         Column("map_ab", "A->B mAP", "{:.4f}"), Column("map_ba", "B->A mAP", "{:.4f}"),
         Column("met", fmt=lambda v, row: "met" if v else "NOT met"),
         Column("slowest_fit_s", "slowest fit s", "{:.2f}")])
    for setting, (t_fwd, t_rev) in TARGETS.items():
        for method in models:
            runs = results.get((setting, method))
            if not runs or "mu=0 " in method:
                continue
            fwd = float(np.mean([r["map_fwd"] for r in runs]))
            rev = float(np.mean([r["map_rev"] for r in runs]))
            table.add(data=setting, method=method, target_ab=t_fwd, target_ba=t_rev,
                      map_ab=fwd, map_ba=rev, met=bool(fwd >= t_fwd and rev >= t_rev),
                      slowest_fit_s=float(max(r["fit_s"] for r in runs)))
    return table


def _curves_table(curves):
    """The precision-recall curves of the figure, one row per point."""
    table = Table("multiview_precision_recall", "",
                  ["data", "method", "direction", "recall", "precision"])
    levels = np.linspace(0, 1, 11)
    for setting, by_method in curves.items():
        for method, res in by_method.items():
            for key, direction in (("pr_fwd", "A->B"), ("pr_rev", "B->A")):
                for r, p in zip(levels, res[key]):
                    table.add(data=setting, method=method, direction=direction,
                              recall=float(r), precision=float(p))
    return table


def _direction_row(setting, method, runs, key):
    row = {"data": setting, "method": method, "splits": len(runs),
           "map": float(np.mean([r[f"map_{key}"] for r in runs])),
           "map_sd": float(np.std([r[f"map_{key}"] for r in runs]))}
    for k in DIRECTION_K:
        row[f"p{k}"] = float(np.mean([r[f"p{k}_{key}"] for r in runs]))
    return row


def direction_tables(results):
    """The image->text (A->B) and text->image (B->A) tables: mAP and P@K per method.

    P@K (K in ``DIRECTION_K``) is the fraction of the first K retrieved items
    that share the query's class, averaged over queries (and then over the
    UCI splits, as mAP).
    """
    tables = []
    for key, name, label in (("fwd", "multiview_image_to_text", "image -> text (A -> B)"),
                             ("rev", "multiview_text_to_image", "text -> image (B -> A)")):
        columns = [Column("data", "data (A->B)"), Column("method"),
                   Column("splits", show=False),
                   Column("map", "mAP", _mean_sd("map_sd")), Column("map_sd", show=False)]
        columns += [Column(f"p{k}", f"P@{k}", "{:.3f}") for k in DIRECTION_K]
        table = Table(name, f"\n{label}: mAP over the whole database and precision at "
                            f"K = {', '.join(map(str, DIRECTION_K))}", columns,
                      note="UCI has no text: A and B stand for the two modalities' views "
                           "(fou -> pix, (fou,zer) -> (kar,mor)). The talk's NUS-WIDE "
                           "'Precision' (below) gives no K.")
        for (setting, method), runs in results.items():
            table.add(_direction_row(setting, method, runs, key))
        tables.append(table)
    return tables


def _is_collapsed(alpha):
    return (alpha <= COLLAPSE_TOL) | (alpha >= 1.0 - COLLAPSE_TOL)


def mixing_tables(paths):
    """The mixing-weight summary per fit, and the path per cycle and topic (figure data)."""
    summary = Table(
        "multiview_mixing",
        "\nMixing weights alpha of the squared-loss CP model (first split; the talk's "
        "objective is mu = 0): final range, topics at 0 or 1 (within "
        f"{COLLAPSE_TOL:g}), and J per BCD cycle",
        [Column("data"), Column("regularization", "lambda", "{:g}"),
         Column("consensus", "mu", "{:g}"), Column("cycles"),
         Column("alpha_min", "alpha min", "{:.3f}"), Column("alpha_mean", "mean", "{:.3f}"),
         Column("alpha_max", "max", "{:.3f}"),
         Column("collapsed", fmt=lambda v, row: f"{v} of {row['n_topics']}"),
         Column("n_topics", show=False), Column("objective_init", "J init", "{:.4g}"),
         Column("objective_final", "J final", "{:.4g}"),
         Column("max_increase", "largest J rise", "{:.1e}"),
         Column("map_ab", "A->B mAP", "{:.3f}"), Column("map_ba", "B->A mAP", "{:.3f}")],
        note="largest J rise: the largest increase of J over one cycle (<= 0: J "
             "never rose). mAP: test split, cosine of the topic scores f_m; a modality "
             "with weight 0 in a topic does not score it.")
    path_table = Table("multiview_mixing_path", "",
                       ["data", "regularization", "consensus", "cycle", "objective", "topic",
                        "alpha"])
    for p in paths:
        alpha, J = p["alpha_path"], p["objective"]
        final = alpha[-1]
        summary.add(data=p["data"], regularization=p["regularization"],
                    consensus=p["consensus"], cycles=alpha.shape[0] - 1,
                    alpha_min=float(final.min()), alpha_mean=float(final.mean()),
                    alpha_max=float(final.max()), collapsed=int(_is_collapsed(final).sum()),
                    n_topics=final.size, objective_init=float(J[0]),
                    objective_final=float(J[-1]), max_increase=float(np.max(np.diff(J))),
                    map_ab=p.get("map_ab"), map_ba=p.get("map_ba"))
        for cycle, (row, value) in enumerate(zip(alpha, J)):
            for topic, a in enumerate(row):
                path_table.add(data=p["data"], regularization=p["regularization"],
                               consensus=p["consensus"], cycle=cycle, objective=float(value),
                               topic=topic, alpha=float(a))
    return summary, path_table
