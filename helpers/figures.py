"""Figures a phone can read and a colour-blind reader can tell apart.

Every chapter figure is drawn for the narrowest page first: a phone shows the book's content
column :data:`PHONE_WIDTH_PX` CSS pixels wide, so a figure :data:`FIG_WIDTH_IN` inches wide is
scaled by ``PHONE_WIDTH_PX / (72 * width)`` and its smallest text must still be
:data:`MIN_TEXT_PX` pixels tall there. Colours come from the Okabe-Ito palette, and every series
also gets its own marker and line style (:func:`series`), so colour is never the only cue.
:func:`check` enforces both rules on a finished figure (each chapter's figure cell ends with
``figures.check(fig)``, so ``python -m helpers execute`` and nbval fail on an illegible figure).
"""
from __future__ import annotations

import itertools
import math

import numpy as np

PHONE_WIDTH_PX = 342          # the book's content column on a 390-px-wide phone
MIN_TEXT_PX = 9.0             # the smallest text height a reader can read there
FIG_WIDTH_IN = 6.0            # default figure width (the height follows the content)
DPI = 170                     # 1,020 px wide: sharp on a 3x phone at 342 CSS px

# Okabe & Ito (2008), "Color Universal Design": distinguishable under the common colour-vision
# deficiencies; black first for the series a figure is about
OKABE_ITO = ("#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00",
             "#CC79A7")
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (8, 2)), (0, (1, 3)))

RC = {
    "figure.figsize": (FIG_WIDTH_IN, 4.0), "figure.dpi": DPI, "savefig.dpi": DPI,
    "savefig.bbox": "tight", "font.size": 13, "axes.titlesize": 13, "axes.labelsize": 13,
    "xtick.labelsize": 12, "ytick.labelsize": 12, "legend.fontsize": 12,
    "legend.title_fontsize": 12, "axes.grid": True, "grid.alpha": 0.3,
    "axes.spines.top": False, "axes.spines.right": False, "lines.linewidth": 2.0,
    "lines.markersize": 7, "svg.hashsalt": "book",
}


def series(i: int) -> dict:
    """The i-th series' colour, marker and line style (``ax.plot(x, y, **series(i))``)."""
    return {"color": PALETTE[i % len(PALETTE)], "marker": MARKERS[i % len(MARKERS)],
            "linestyle": LINESTYLES[i % len(LINESTYLES)]}


def apply() -> None:
    """Set Matplotlib's defaults to the book's figure style (called by ``notebook.setup``)."""
    import matplotlib.pyplot as plt
    from cycler import cycler

    rc = dict(RC)
    rc["axes.prop_cycle"] = (cycler(color=list(PALETTE)) +
                             cycler(linestyle=list(LINESTYLES)[:len(PALETTE)]))
    plt.rcParams.update(rc)


# --- direct labels --------------------------------------------------------------------------

def label_ends(ax, items, *, pad_px: float = 4.0, min_gap_px: float | None = None) -> list:
    """Label lines at their right ends instead of a legend: ``items`` is ``[(line, text), ...]``.
    Labels that would overlap are pushed apart vertically (in display pixels), keeping order."""
    fig = ax.figure
    fig.canvas.draw()
    size_px = ax.xaxis.get_label().get_size() * fig.dpi / 72      # text height, display px
    gap = min_gap_px if min_gap_px is not None else 1.15 * size_px
    ends = []
    for line, text in items:
        x, y = (np.asarray(a, float) for a in line.get_data())
        ok = np.isfinite(x) & np.isfinite(y)
        x, y = x[ok], y[ok]
        xlim = ax.get_xlim()
        inside = (x >= min(xlim)) & (x <= max(xlim))
        if inside.any():
            x, y = x[inside], y[inside]
        ends.append([ax.transData.transform((x[-1], y[-1])), text, line.get_color()])
    ends.sort(key=lambda e: e[0][1])
    ys = [e[0][1] for e in ends]
    for i in range(1, len(ys)):                      # push up until no two are closer than gap
        ys[i] = max(ys[i], ys[i - 1] + gap)
    texts = []
    for (xy, text, colour), y in zip(ends, ys):
        xd, yd = ax.transData.inverted().transform((xy[0], y))
        texts.append(ax.annotate(text, (xd, yd), xytext=(pad_px, 0),
                                 textcoords="offset pixels", va="center", ha="left",
                                 color=colour, annotation_clip=False))
    return texts


# --- the checks ---------------------------------------------------------------------------

def _px(fig, size_pt: float) -> float:
    """Height in phone CSS pixels of text ``size_pt`` points tall in ``fig``."""
    width_pt = 72 * fig.get_figwidth()
    return size_pt * PHONE_WIDTH_PX / width_pt


def _srgb_to_linear(c):
    c = np.asarray(c, float)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _linear_to_srgb(c):
    c = np.clip(np.asarray(c, float), 0, 1)
    return np.where(c <= 0.0031308, 12.92 * c, 1.055 * c ** (1 / 2.4) - 0.055)


# Machado, Oliveira & Fernandes (2009), deuteranomaly at severity 1.0 (deuteranopia), linear RGB
_DEUTERANOPIA = np.array([[0.367322, 0.860646, -0.227968],
                          [0.280085, 0.672501, 0.047413],
                          [-0.011820, 0.042940, 0.968881]])


def deuteranopia(rgb) -> np.ndarray:
    """An sRGB colour (0..1) as a deuteranope sees it (Machado et al. 2009, severity 1)."""
    return _linear_to_srgb(_DEUTERANOPIA @ _srgb_to_linear(rgb[:3]))


def _lab(rgb) -> np.ndarray:
    lin = _srgb_to_linear(rgb)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722],
                    [0.0193, 0.1192, 0.9505]]) @ lin / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


MIN_DELTA_E = 12.0      # CIE76 distance below which two simulated colours read as one


def distinguishable(c1, c2) -> bool:
    """Whether two colours stay apart for a deuteranope (CIE76 ΔE of the simulated colours)."""
    return float(np.linalg.norm(_lab(deuteranopia(c1)) - _lab(deuteranopia(c2)))) >= MIN_DELTA_E


def _series_of(ax):
    """(name, colour, style) of each data series in ``ax``: lines, scatter sets, bars' groups."""
    from matplotlib.colors import to_rgba
    out = []
    for line in ax.get_lines():
        if not line.get_visible() or len(np.atleast_1d(line.get_xdata())) < 2 and \
                line.get_marker() in ("None", None, "", " "):
            continue
        style = (str(line.get_linestyle()), str(line.get_marker()))
        out.append((line.get_label(), to_rgba(line.get_color()), style))
    for coll in ax.collections:
        fc = coll.get_facecolor()
        if not coll.get_visible() or len(fc) != 1 or not hasattr(coll, "get_offsets") \
                or len(coll.get_offsets()) == 0 or coll.get_alpha() is not None \
                and coll.get_alpha() < 0.5:
            continue      # shaded bands and colour-mapped sets are not series
        paths = coll.get_paths()
        marker = str(paths[0].vertices.round(2).tolist()) if paths else ""
        out.append((coll.get_label(), tuple(fc[0]), ("scatter", marker)))
    return out


def problems(fig) -> list[str]:
    """What makes ``fig`` hard to read: text under :data:`MIN_TEXT_PX` on a phone, or two
    series a deuteranope cannot tell apart that share marker and line style."""
    out = []
    fig.canvas.draw()
    for text in fig.findobj(lambda a: hasattr(a, "get_fontsize") and hasattr(a, "get_text")):
        if text.get_visible() and text.get_text().strip():
            px = _px(fig, text.get_fontsize())
            if px < MIN_TEXT_PX - 1e-9:
                out.append(f"text {text.get_text()[:30]!r} is {px:.1f} px on a phone "
                           f"(at least {MIN_TEXT_PX:g})")
    for i, ax in enumerate(fig.axes):
        for (n1, c1, s1), (n2, c2, s2) in itertools.combinations(_series_of(ax), 2):
            if s1 == s2 and not distinguishable(c1, c2):
                out.append(f"axes {i}: series {n1!r} and {n2!r} differ only by colour, and "
                           "a deuteranope cannot tell those colours apart")
    return out


def check(fig) -> None:
    """Raise if ``fig`` breaks the book's figure rules (see :func:`problems`)."""
    found = problems(fig)
    if found:
        raise ValueError("figure not legible: " + "; ".join(found))


def height_for(rows: int = 1, aspect: float = 0.62) -> float:
    """A figure height in inches for ``rows`` stacked panels at the default width."""
    return round(FIG_WIDTH_IN * aspect * rows, 2) if rows else math.nan
