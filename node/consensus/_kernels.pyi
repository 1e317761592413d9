"""Types of the native loops (``_kernels.c``); :func:`node.consensus.numerics.native_kernels`
loads them."""

import numpy as np
import numpy.typing as npt

def det_exp(source: npt.NDArray[np.float64], target: npt.NDArray[np.float64], /) -> None: ...
def det_log(source: npt.NDArray[np.float64], target: npt.NDArray[np.float64], /) -> bool: ...
def ppb_entropy_fixed(ppb: npt.NDArray[np.int64], floor: float, bits: int, /) -> int | None: ...
def e_step(
    rows: npt.NDArray[np.float64],
    index: npt.NDArray[np.int64],
    item: npt.NDArray[np.int64],
    log_prior: npt.NDArray[np.float64],
    gold: npt.NDArray[np.int64],
    out: npt.NDArray[np.int64],
    totals: npt.NDArray[np.int64],
    labels: npt.NDArray[np.int64],
    /,
) -> None: ...
def constants() -> dict[str, float | int | tuple[float, ...]]: ...
def answer_cell_sums(
    probas: npt.NDArray[np.int64],
    item: npt.NDArray[np.int64],
    cell: npt.NDArray[np.int64],
    out: npt.NDArray[np.int64],
    k: int,
    /,
) -> None: ...
def argmax_rows(
    values: npt.NDArray[np.int64],
    out: npt.NDArray[np.int64],
    k: int,
    /,
) -> None: ...
def vector_unit(name: str | None = None, /) -> str: ...
def column_sums(values: npt.NDArray[np.int64], out: npt.NDArray[np.int64], k: int, /) -> None: ...
def shares_ppb(values: npt.NDArray[np.float64], out: npt.NDArray[np.int64], k: int, /) -> None: ...
def parallel(threads: int = 0, min_part: int = 0, /) -> tuple[int, int]: ...
def pair_counts(
    item: npt.NDArray[np.int64],
    annotator: npt.NDArray[np.int64],
    label: npt.NDArray[np.int64],
    flags: npt.NDArray[np.uint8],
    shared: npt.NDArray[np.int64],
    agreed: npt.NDArray[np.int64],
    against: npt.NDArray[np.int64],
    width: int,
    /,
) -> bool: ...
