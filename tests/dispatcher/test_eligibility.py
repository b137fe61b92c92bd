"""The hard rules of who may serve an order: the per-problem index the compile uses gives,
for every order, exactly the engineers a rule-by-rule reading of DESIGN.md allows."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from dispatcher.domain import Eligibility, Engineer, Location, Order, Problem, Site

START = datetime(2026, 3, 2, 8, tzinfo=UTC)
SKILLS = ("hv", "mri", "ct")
IDS = ("e0", "e1", "e2", "e3", "e4", "e5")


def _allowed(problem: Problem, order: Order) -> list[int]:
    """Each rule on its own, engineer by engineer: skills, exclusion, pin, overseas."""
    overseas = order.site.country != problem.policy.home_country
    return [
        v
        for v, e in enumerate(problem.engineers)
        if order.required_skills <= e.skills
        and e.id not in order.excluded_engineers
        and (order.pinned_engineer is None or order.pinned_engineer == e.id)
        and (e.can_travel_overseas or not overseas)
    ]


skill_sets = st.frozensets(st.sampled_from(SKILLS), max_size=2)
engineers = st.lists(st.tuples(skill_sets, st.booleans()), min_size=1, max_size=len(IDS)).map(
    lambda rows: tuple(
        Engineer(IDS[v], IDS[v], Location(31.0, 121.0), skills=skills, can_travel_overseas=abroad)
        for v, (skills, abroad) in enumerate(rows)
    )
)
orders = st.lists(
    st.tuples(
        skill_sets,
        st.sampled_from(("CN", "DE")),
        st.one_of(st.none(), st.sampled_from(IDS)),
        st.lists(st.sampled_from(IDS), max_size=2, unique=True),
    ),
    min_size=1,
    max_size=12,
).map(
    lambda rows: tuple(
        Order(
            f"o{k}",
            Site(Location(31.0, 121.0), country),
            START,
            30,
            required_skills=skills,
            pinned_engineer=pin,
            excluded_engineers=tuple(out),
        )
        for k, (skills, country, pin, out) in enumerate(rows)
    )
)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(engineers, orders)
def test_the_index_allows_exactly_the_engineers_every_rule_allows(
    team: tuple[Engineer, ...], work: tuple[Order, ...]
) -> None:
    problem = Problem(START, team, work)
    eligible = Eligibility(problem)
    for order in work:
        assert eligible(order) == _allowed(problem, order), order


def test_a_list_handed_out_is_the_callers_own() -> None:
    """Orders sharing skills share the index's entry; changing one answer changes no other."""
    team = tuple(Engineer(i, i, Location(31.0, 121.0), skills=frozenset({"hv"})) for i in IDS[:3])
    a, b = (Order(k, Site(Location(31.0, 121.0), "CN"), START, 30) for k in ("a", "b"))
    eligible = Eligibility(Problem(START, team, (a, b)))
    first = eligible(a)
    first.clear()
    assert eligible(b) == [0, 1, 2]
