"""Banks of channels: per-channel state kept in rows of arrays, so that one compiled
kernel call analyses every channel's new block at once.

Calling Python code per block costs microseconds; a live tick brings a block of
a few samples from each of dozens of channels. A bank therefore gathers the
blocks of one tick into a ragged batch (all samples end to end, with where each
channel's block starts and ends) and hands it to its kernel. A kernel that needs
Python's verdict on an event (is this beat plausible?) stops that channel right
after the event and the bank resumes it once the verdict is written back.
"""

from __future__ import annotations

import numpy as np


def append_row(array: np.ndarray, values: np.ndarray | float, fill: float = 0.0) -> np.ndarray:
    """``array`` with one more row; columns (and further axes) widen to fit ``values``.

    Parameters
    ----------
    array : numpy.ndarray
        ``(rows, ...)`` state of the existing channels.
    values : numpy.ndarray or float
        The new channel's row (a scalar fills it).
    fill : float
        Value for cells that widening adds.
    """
    values = np.asarray(values, dtype=array.dtype)
    shape = tuple(max(a, b) for a, b in zip(array.shape[1:], values.shape)) if values.ndim else array.shape[1:]
    out = np.full((array.shape[0] + 1, *shape), fill, dtype=array.dtype)
    out[(slice(0, array.shape[0]), *(slice(0, n) for n in array.shape[1:]))] = array
    if values.ndim:
        out[(array.shape[0], *(slice(0, n) for n in values.shape))] = values
    else:
        out[array.shape[0]] = values
    return out


class Batch:
    """The blocks of one tick, end to end, for the banks that analyse them.

    Attributes
    ----------
    rows : numpy.ndarray
        Each block's channel row in its bank.
    banks : numpy.ndarray
        Each block's bank (the number a bank's kernel is called with).
    starts, ends : numpy.ndarray
        Where each block's samples start and end in ``times_s`` / ``values``.
    pos : numpy.ndarray
        Where the kernel resumes each block (``starts`` before the first call).
    done : numpy.ndarray
        True once a block is analysed to its end.
    n_bad : numpy.ndarray
        Non-finite samples found in each block.
    arrival_s : numpy.ndarray
        Monotonic arrival time of each block, seconds.
    times_s, values : numpy.ndarray
        Samples of all blocks, seconds and signal units.
    clean, work : numpy.ndarray
        Scratch for the kernels: cleaned samples and a derived wave.
    """

    __slots__ = ("rows", "banks", "starts", "ends", "pos", "done", "n_bad", "arrival_s", "times_s", "values", "clean", "work")

    def __init__(self, rows: list[int], banks: list[int], times_s: list[np.ndarray], values: list[np.ndarray],
                 arrival_s: list[float]) -> None:
        """Gather blocks (one entry per block, in arrival order)."""
        n = len(rows)
        sizes = np.array([v.size for v in values], dtype=np.int64)
        # One allocation for the integer arrays: this runs for every tick.
        self.rows, self.banks, self.starts, self.ends, self.pos, self.n_bad = ints = np.empty((6, n), dtype=np.int64)
        ints[0], ints[1] = rows, banks
        np.cumsum(sizes, out=self.ends)
        np.subtract(self.ends, sizes, out=self.starts)
        self.pos[:] = self.starts
        self.done = np.zeros(n, dtype=np.bool_)
        self.arrival_s = np.array(arrival_s, dtype=float)
        if n == 1:
            self.times_s, self.values = np.asarray(times_s[0], dtype=float), np.asarray(values[0], dtype=float)
        else:
            self.times_s, self.values = np.concatenate(times_s).astype(float, copy=False), np.concatenate(values).astype(float, copy=False)
        self.clean, self.work = np.empty((2, self.values.size))

    @classmethod
    def single(cls, times_s: np.ndarray, values: np.ndarray) -> "Batch":
        """One block of row 0 of bank 0 (single-channel analysers)."""
        return cls([0], [0], [times_s], [values], [0.0])
