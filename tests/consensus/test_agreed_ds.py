"""Session 26's candidate (``node/consensus/agreed_ds.py``): ``hds@10``, or ``ds@2`` where
the gates hold and it relabels at most 5% of the items. A benchmark candidate, not an id."""

from __future__ import annotations

import numpy as np
import pytest

from node.consensus.agreed_ds import AGREED_DAWID_SKENE, AgreedDawidSkene, heavy_share
from node.consensus.answers import Answers
from node.consensus.fallback_ds import FallbackDawidSkene
from node.consensus.registry import CATEGORICAL
from node.consensus.stopped_ds import StoppedDawidSkene
from node.protocol.errors import InvalidParameterError
from tests.consensus.helpers import load_dataset
from tests.consensus.test_hds10 import one_expert_among_random


def real(name: str) -> Answers:
    return Answers.from_arrays(*zip(*load_dataset(name)[0], strict=True))


def test_it_is_no_protocol_id_and_checks_its_parameters() -> None:
    assert AGREED_DAWID_SKENE not in CATEGORICAL
    params = AgreedDawidSkene().params()
    assert params["agree_relabel_percent"] == 5 and params["agree_min_items"] == 200
    assert params["agree_heavy_share"] == "0.5"
    with pytest.raises(InvalidParameterError):
        AgreedDawidSkene(heavy_share=1.5)
    with pytest.raises(InvalidParameterError):
        AgreedDawidSkene(relabel_percent=-1)


@pytest.mark.parametrize("name", ["dog", "zheng_d_product"])
def test_where_the_fits_agree_it_is_crowd_kits(name: str) -> None:
    """``ds@2`` relabels 3% of ``hds@10``'s items on both: the fit is ``ds@2``'s, byte for
    byte."""
    data = real(name)
    ours = AgreedDawidSkene().fit(data)
    assert ours.agreed_
    assert ours.probas_ppb_.tobytes() == StoppedDawidSkene().fit(data).probas_ppb_.tobytes()


@pytest.mark.parametrize(
    "name",
    [
        "bluebirds",  # 108 items, under 200
        "ws_amt",  # no annotator's rows expect 20 answers: heavy share 0
        "zencrowd_us",  # ds@2 relabels 9.3%: another basin
        "web",  # 12.9%
    ],
)
def test_elsewhere_it_is_hds10(name: str) -> None:
    data = real(name)
    ours = AgreedDawidSkene().fit(data)
    assert not ours.agreed_
    assert ours.probas_ppb_.tobytes() == FallbackDawidSkene().fit(data).probas_ppb_.tobytes()


def test_a_fallback_stays_a_fallback() -> None:
    data, _ = one_expert_among_random(n_items=300)
    ours = AgreedDawidSkene().fit(data)
    assert ours.fell_back_ and not ours.agreed_


def test_heavy_counts_the_answers_of_annotators_with_full_rows() -> None:
    rows = [(f"i{i:03d}", f"w{w}", "ab"[i % 2]) for i in range(100) for w in range(3)]
    rows += [(f"i{i:03d}", "light", "a") for i in range(10)]
    data = Answers.from_rows(rows)
    labels = np.arange(100) % 2  # 50 items a class: a row expects answers / 2
    assert heavy_share(data.annotator, labels, 2, 20.0) == 300 / 310  # "light" expects 5 a row
    assert heavy_share(data.annotator, labels, 2, 51.0) == 0.0
