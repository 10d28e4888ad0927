"""Auto-fill's grouping rule (`teambot.services.events.propose_groups`) on a synthetic
event pool: people with one to three skills and wants from a small vocabulary, a third with
a role focus, a tenth with a must-have time zone. Prints, for each pool size, the median
and range over runs of the time to propose groups, and how many people were placed.

Run: python -m bench.autofill [--sizes 100 1000 3000] [--runs 5] [--limit 4]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from teambot.domain import MUST_HAVE, EventPerson
from teambot.services.events import propose_groups

SKILLS = (
    "python", "go", "frontend", "ml", "data", "design", "product", "marketing", "sales",
    "mobile", "devops", "finance",
)  # fmt: skip
ROLES = ("technical", "product", "design", "business", "science")


def pool(size: int, seed: int) -> list[EventPerson]:
    rng = random.Random(seed)
    people = []
    for user in range(1, size + 1):
        skills = rng.sample(SKILLS, rng.randint(1, 3))
        wants = rng.sample([s for s in SKILLS if s not in skills], rng.randint(1, 3))
        extra: dict[str, object] = {}
        if rng.random() < 1 / 3:
            extra["role_focus"] = rng.choice(ROLES)
        if rng.random() < 0.1:
            extra |= {
                "utc_offset": rng.choice((-300, 0, 60, 180, 330)),
                "want_time_zone": MUST_HAVE,
                "time_zone_hours": 3,
            }
        people.append(EventPerson(user, skills, wants, **extra))  # type: ignore[arg-type]
    return people


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 3000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--limit", type=int, default=4, help="the event's team size limit")
    args = parser.parse_args()
    for size in args.sizes:
        timings, placed = [], 0
        for run in range(args.runs):
            people = pool(size, seed=run)
            started = time.perf_counter()
            groups = propose_groups(people, args.limit)
            timings.append((time.perf_counter() - started) * 1000)
            placed = sum(len(group.members) for group in groups)
        print(
            f"{size:>6} people: median {statistics.median(timings):8.1f} ms"
            f"  (range {min(timings):.1f}–{max(timings):.1f} ms over {args.runs} runs),"
            f" last run placed {placed} in groups of up to {args.limit}"
        )


if __name__ == "__main__":
    main()
