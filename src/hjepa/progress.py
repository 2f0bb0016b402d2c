"""Progress bars that show the budget that will actually stop the work, with a true ETA."""
from __future__ import annotations

import time

from tqdm import tqdm


class BudgetBar:
    """A tqdm bar over steps (or episodes) under a count budget and an optional wall-clock one.

    Its total is where the work will really stop: `total`, or under `minutes` the count the
    measured rate reaches when the time runs out, whichever comes first, re-estimated as it goes.
    So a 4-minute run on a budget of 100,000 steps shows the few thousand it will do, and its ETA
    is the minutes left. `elapsed` is time already spent before this bar (a resumed run)."""

    def __init__(self, total: int, minutes: float = 0.0, initial: int = 0, elapsed: float = 0.0, desc: str = "",
                 unit: str = "step", disable: bool = False):
        self.limit, self.budget_s, self.left_s = total, minutes * 60.0, minutes * 60.0 - elapsed
        self.start, self.start_n = time.time(), initial
        self.bar = tqdm(total=total if self.budget_s <= 0 else None, initial=initial, desc=desc, unit=unit,
                        disable=disable, dynamic_ncols=True)

    def update(self, n: int = 1) -> None:
        self.bar.update(n)
        if self.budget_s > 0:
            spent, done = time.time() - self.start, self.bar.n - self.start_n
            if done >= 2 and spent > 0:
                reachable = self.bar.n + int(done / spent * max(0.0, self.left_s - spent))
                self.bar.total = min(self.limit, reachable)

    def set_postfix(self, **values) -> None:
        self.bar.set_postfix(values, refresh=False)

    def write(self, message: str) -> None:
        self.bar.write(message)

    def close(self) -> None:
        if self.budget_s > 0 and self.bar.total is not None:
            self.bar.total = self.bar.n  # it stopped here: show it full
        self.bar.close()
