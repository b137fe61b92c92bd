"""The ruin and recreate's neighbour lists, computed in row blocks, equal the whole sort's."""

from __future__ import annotations

import numpy as np
import pytest

from solver.neighbours import nearest_orders


@pytest.mark.parametrize("block", [1, 3, 1 << 20])
def test_nearest_orders_in_row_blocks_equal_the_whole_sort(block: int) -> None:
    rng = np.random.default_rng(7)
    travel = rng.integers(0, 20, size=(40, 40)).astype(np.int64)  # many ties
    orders = np.arange(6, 40, dtype=np.int64)
    sub = travel[np.ix_(orders, orders)]
    whole = orders[np.argsort(sub + sub.T, axis=1, kind="stable")[:, :9]]
    got = nearest_orders(travel, orders, 8, block_pairs=block * orders.size)
    assert (got == whole).all()
