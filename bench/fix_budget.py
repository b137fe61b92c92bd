"""How long fixes take after the solve, and how many orders get one (docs/performance.md, "Fixes").

    .venv/bin/python -m bench.fix_budget --sizes 1000x100 --seeds 1,2,3 --time-limit 10 --budgets 2,60

Plans each generated problem once (fixes off), then runs :func:`dispatcher.fixes.with_fixes` on
that plan under each budget, and prints one line per problem and budget: late and unassigned
orders, fixes found by lever, orders with no fix, orders not reached, and the seconds taken.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

from dispatcher.codec import problem_from_dict
from dispatcher.compile import compile_problem
from dispatcher.fixes import NOT_COMPUTED, with_fixes
from dispatcher.generate import generate_problem
from dispatcher.planner import PlanOptions, plan_problem


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="1000x100")
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--time-limit", type=float, default=10.0)
    ap.add_argument("--budgets", default="2,60")
    args = ap.parse_args()
    for size in args.sizes.split(","):
        n, m = (int(x) for x in size.split("x"))
        for seed in (int(s) for s in args.seeds.split(",")):
            problem = problem_from_dict(generate_problem(n, m, seed))
            plan = plan_problem(problem, PlanOptions(time_limit_s=args.time_limit, fix_budget_s=0))
            compiled = compile_problem(problem)
            for budget in (float(b) for b in args.budgets.split(",")):
                t0 = time.perf_counter()
                fixed = with_fixes(compiled, plan, None, budget)
                took = time.perf_counter() - t0
                entries = [*fixed.late, *fixed.unassigned]
                levers = Counter(x.fix.lever for x in entries if x.fix is not None)
                reached = sum(1 for x in entries if x.fix_note != NOT_COMPUTED)
                print(
                    f"{size} seed {seed} budget {budget:g} s: {len(fixed.late)} late, "
                    f"{len(fixed.unassigned)} unassigned; {reached} reached, "
                    f"{sum(levers.values())} fixed {dict(sorted(levers.items()))}, "
                    f"{took:.2f} s",
                    flush=True,
                )


if __name__ == "__main__":
    main()
