"""A PNG report of a recorded show, computed from its replay (the same signal core).

One figure (matplotlib, Agg backend: no display needed): for each wearer their heart
rate (bpm) and HRV (RMSSD, ms), and their skin conductance (SCL) with each SCR
marked; then the group's synchrony (``group.sync``) and every wearer's signal
quality (0..1). Scene changes are drawn across every panel (dashed, named at the
top), operator marks as dotted lines.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from installation.record.reader import Recording
from installation.commands.replay import Progress, ReplayResult, replay

#: Samples of the features per report, at most (the period grows with the show's length).
MAX_POINTS = 3600


@dataclass(frozen=True, slots=True)
class ReportSummary:
    """What the report shows: wearers, seconds, beats and SCRs per wearer, scene changes."""

    path: Path
    wearers: list[str]
    duration_s: float
    beats: dict[str, int]
    scrs: dict[str, int]
    scenes: int


def _series(result: ReplayResult, address: str) -> np.ndarray:
    assert result.features is not None
    return np.array([v.get(address, math.nan) for v in result.features.values], dtype=float)


def write_report(recording: Recording, out_path: Path, progress: Progress | None = None) -> ReportSummary:
    """Replay ``recording`` and draw its report into ``out_path`` (PNG; its folder is made).

    Raises
    ------
    ConfigError
        The recorded show file does not load.
    OSError
        The PNG cannot be written.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    period_s = max(0.25, recording.duration_s / MAX_POINTS)
    result = replay(recording, progress=progress, feature_period_s=period_s)
    assert result.features is not None
    scale, unit = (60.0, "minutes") if recording.duration_s >= 120.0 else (1.0, "seconds")
    t = np.array(result.features.times_s) / scale
    rows = result.events.rows
    wearers = recording.wearers
    scenes = [(float(r[0]) / scale, r[3]) for r in rows if r[2] == "scene"]
    marks = [(float(r[0]) / scale, r[3]) for r in rows if r[2] == "operator.mark"]
    n_axes = 2 * len(wearers) + 2
    fig, axes = plt.subplots(n_axes, 1, figsize=(12.0, 1.9 * n_axes + 0.8), sharex=True, squeeze=False)
    ax_list = list(axes[:, 0])
    fig.suptitle(f"{recording.folder.name}: {len(wearers)} wearers, {recording.duration_s / 60.0:.1f} min", fontsize=12)
    scr_counts: dict[str, int] = {}
    for k, w in enumerate(wearers):
        ax_hr, ax_eda = ax_list[2 * k], ax_list[2 * k + 1]
        ax_hr.plot(t, _series(result, f"{w}.heart.bpm"), color="#c0392b", lw=1.2, label="heart rate")
        ax_hr.set_ylabel(f"{w}\nbpm", color="#c0392b")
        ax_hrv = ax_hr.twinx()
        ax_hrv.plot(t, _series(result, f"{w}.heart.rmssd"), color="#2980b9", lw=1.0, alpha=0.8, label="RMSSD")
        ax_hrv.set_ylabel("RMSSD ms", color="#2980b9")
        scl = _series(result, f"{w}.eda.scl")
        ax_eda.plot(t, scl, color="#16a085", lw=1.2)
        ax_eda.set_ylabel(f"{w}\nEDA (SCL)", color="#16a085")
        scr_t = np.array([float(r[0]) for r in rows if r[1] == w and r[2] == "eda.scr"]) / scale
        scr_counts[w] = int(scr_t.size)
        if scr_t.size:
            level = np.interp(scr_t, t, np.nan_to_num(scl, nan=float(np.nanmean(scl)) if np.isfinite(scl).any() else 0.0))
            ax_eda.plot(scr_t, level, "v", color="#8e44ad", ms=6, label="SCR")
            ax_eda.legend(loc="upper right", fontsize=8)
        ax_hr.set_title(f"{w}: {result.beats.get(w, 0)} beats, {scr_t.size} SCRs", fontsize=9, loc="left")
    ax_sync, ax_q = ax_list[-2], ax_list[-1]
    ax_sync.plot(t, _series(result, "group.sync"), color="#d35400", lw=1.2)
    ax_sync.set_ylim(-0.02, 1.02)
    ax_sync.set_ylabel("group\nsynchrony")
    for w in wearers:
        ax_q.plot(t, _series(result, f"{w}.quality"), lw=1.0, label=w)
    ax_q.set_ylim(-0.02, 1.02)
    ax_q.set_ylabel("signal\nquality")
    if wearers:
        ax_q.legend(loc="lower right", fontsize=8, ncol=min(8, len(wearers)))
    ax_q.set_xlabel(f"{unit} since the recording began")
    for ax in ax_list:
        ax.grid(alpha=0.25)
        for when, _ in scenes:
            ax.axvline(when, color="#555555", ls="--", lw=0.9)
        for when, _ in marks:
            ax.axvline(when, color="#999999", ls=":", lw=0.9)
    top = ax_list[0]
    for when, name in scenes:
        top.annotate(name, (when, 1.0), xycoords=("data", "axes fraction"), xytext=(2, 12), textcoords="offset points",
                     fontsize=8, rotation=0, color="#333333")
    for when, label in marks:
        top.annotate(f"mark {label}".strip(), (when, 1.0), xycoords=("data", "axes fraction"), xytext=(2, 2),
                     textcoords="offset points", fontsize=7, color="#777777")
    if t.size:
        top.set_xlim(0.0, max(float(t[-1]), 1e-3))
    fig.tight_layout(rect=(0, 0, 1, 0.985))
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fig.savefig(out_path, dpi=100, format="png")
    finally:
        plt.close(fig)
    return ReportSummary(out_path, wearers, recording.duration_s, dict(result.beats), scr_counts, len(scenes))
