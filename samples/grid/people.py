"""People of the synthetic city: household members, names, sex, birth dates, GB 11643
citizen IDs, phones; generated for all households at once with numpy (no loop per person).

Households follow templates by size (a couple, a couple with a child, three generations,
grandparents raising a grandchild...). Ages come from the head's age and generation gaps,
which gives an age pyramid with about a fifth of the people aged 60 or over, as in the
city's census [practice-like]. Citizen IDs carry Lianyungang address codes of the county
where the household lives, or the historic ones (320705 新浦区, 320704 云台区, 320721 赣榆县)
for people registered before those areas were merged; the sequence's parity gives the sex
and the check character is computed by GB 11643.
"""

from __future__ import annotations

import datetime as dt
from typing import Final, NamedTuple

import numpy as np
from numpy.typing import NDArray

from grid.codes import CITIZEN_ID_CHECK, CITIZEN_ID_WEIGHTS
from samples.grid import names

Ints = NDArray[np.int64]
Floats = NDArray[np.float64]
Strings = NDArray[np.str_]

HEAD, SPOUSE, CHILD, PARENT, GRANDCHILD, CHILD_SPOUSE = 0, 1, 2, 3, 4, 5
RELATIONS: Final = ("户主", "配偶", "子女", "父母", "孙子女", "子女配偶", "其他")
OTHER: Final = 6

TEMPLATES: Final = {
    1: (((HEAD,), 1.0),),
    2: (((HEAD, SPOUSE), 0.75), ((HEAD, CHILD), 0.15), ((HEAD, PARENT), 0.10)),
    3: (((HEAD, SPOUSE, CHILD), 0.75), ((HEAD, SPOUSE, PARENT), 0.10),
        ((HEAD, SPOUSE, GRANDCHILD), 0.15)),
    4: (((HEAD, SPOUSE, CHILD, CHILD), 0.5), ((HEAD, SPOUSE, CHILD, PARENT), 0.5)),
    5: (((HEAD, SPOUSE, CHILD, PARENT, PARENT), 0.5),
        ((HEAD, SPOUSE, CHILD, CHILD_SPOUSE, GRANDCHILD), 0.5)),
    6: (((HEAD, SPOUSE, CHILD, CHILD, PARENT, PARENT), 0.5),
        ((HEAD, SPOUSE, CHILD, CHILD_SPOUSE, GRANDCHILD, GRANDCHILD), 0.5)),
}  # fmt: skip
"""Members of a household by size: (roles, probability)."""

ADDRESS_CODES: Final = {
    # county → ((codes for people born before the 2014 merger), weights), (after, weights)
    "320706": ((("320705", "320706", "320704", "320722", "320723"), (0.55, 0.3, 0.07, 0.04, 0.04)),
               (("320706", "320705", "320722"), (0.9, 0.05, 0.05))),
    "320703": ((("320703", "320704", "320706", "320705"), (0.7, 0.2, 0.05, 0.05)),
               (("320703", "320706"), (0.92, 0.08))),
    "320707": ((("320721", "320707", "320706"), (0.85, 0.1, 0.05)),
               (("320707", "320721"), (0.9, 0.1))),
    "320722": ((("320722", "320706", "320705"), (0.9, 0.05, 0.05)), (("320722",), (1.0,))),
    "320723": ((("320723", "320706", "320705"), (0.9, 0.05, 0.05)), (("320723",), (1.0,))),
    "320724": ((("320724", "320706", "320705"), (0.9, 0.05, 0.05)), (("320724",), (1.0,))),
}  # fmt: skip
"""Address codes of IDs by the county of residence; 320705/320704/320721 are historic."""

MOVED_SHARE: Final = 0.08
"""People registered in another county of the city than the one they live in."""
MOVED_CODES: Final = (
    ("320705", "320706", "320703", "320704", "320721", "320722", "320723", "320724"),
    ("320706", "320703", "320707", "320722", "320723", "320724"),
)
"""Codes of people who moved within the city: born before 2014, and from 2014 on."""

MOBILE_PREFIXES: Final = (
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "147", "150", "151", "152",
    "153", "155", "156", "157", "158", "159", "166", "173", "177", "180", "181", "182", "183",
    "185", "186", "187", "188", "189", "191", "193", "195", "198", "199",
)  # fmt: skip
"""Mobile number prefixes in use in China."""

MAX_ID_DRAWS: Final = 50
"""Rounds of redrawing the sequence of IDs that collide (a handful suffice)."""
_ID_WEIGHTS: Final = np.array(CITIZEN_ID_WEIGHTS)
_ID_CHECK: Final = np.array(list(CITIZEN_ID_CHECK))


class People(NamedTuple):
    """Persons, one row each; ``household`` indexes the households given to :func:`people`."""

    household: Ints
    relation: Strings
    name: Strings
    sex: Strings
    birth: Strings
    citizen_id: Strings
    phone: Strings


def check_characters(first17: Strings) -> Strings:
    """GB 11643 check characters of many 17-digit strings at once.

    >>> check_characters(np.array(["11010519491231002", "44052418800101001"])).tolist()
    ['X', '4']
    """
    digits = np.frombuffer(first17.astype("S17").tobytes(), dtype=np.uint8).reshape(-1, 17) - 48
    return np.asarray(_ID_CHECK[(digits.astype(np.int64) @ _ID_WEIGHTS) % 11])


def _uniform(rng: np.random.Generator, low: float, high: float, n: int) -> Floats:
    return rng.uniform(low, high, n)


def _head_ages(rng: np.random.Generator, template: Ints, table: list[tuple[int, ...]]) -> Floats:
    """Head's age by template: who lives together says how old the head is."""
    n = len(template)
    age = np.empty(n)
    for t, roles in enumerate(table):
        mask = template == t
        m = int(mask.sum())
        if not m:
            continue
        if roles == (HEAD,):
            pick = rng.random(m)
            age[mask] = np.where(
                pick < 0.35, _uniform(rng, 20, 36, m),
                np.where(pick < 0.6, _uniform(rng, 36, 62, m), _uniform(rng, 62, 92, m)),
            )  # fmt: skip
        elif roles == (HEAD, SPOUSE):
            pick = rng.random(m)
            age[mask] = np.where(
                pick < 0.4, _uniform(rng, 23, 36, m),
                np.where(pick < 0.55, _uniform(rng, 36, 60, m), _uniform(rng, 60, 88, m)),
            )  # fmt: skip
        elif GRANDCHILD in roles:
            age[mask] = _uniform(rng, 50, 76, m)
        elif PARENT in roles:
            age[mask] = _uniform(rng, 24, 52, m)
        else:  # a couple or a parent with children
            age[mask] = _uniform(rng, 26, 56, m)
    return age


def people(rng: np.random.Generator, sizes: Ints, counties: Strings, as_of: dt.date) -> People:
    """Members of households of the given sizes living in the given counties (6-digit)."""
    table: list[tuple[int, ...]] = []
    template = np.zeros(len(sizes), dtype=np.int64)
    for size, options in TEMPLATES.items():
        mask = sizes == size
        base = len(table)
        table.extend(roles for roles, _ in options)
        weights = [p for _, p in options]
        template[mask] = base + rng.choice(len(options), size=int(mask.sum()), p=weights)
    lengths = np.array([len(r) for r in table])[template]
    household = np.repeat(np.arange(len(sizes)), lengths)
    start = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    slot = np.arange(len(household)) - start[household]
    flat = np.full((len(table), 6), -1)
    for t, roles in enumerate(table):
        flat[t, : len(roles)] = roles
    role = flat[template[household], slot]
    n = len(role)

    head_age = _head_ages(rng, template, table)
    head_male = rng.random(len(sizes)) < np.where(
        np.isin(template, [t for t, r in enumerate(table) if SPOUSE in r]), 0.75, 0.5
    )
    child_gap = rng.uniform(23, 34, len(sizes))
    child1 = np.maximum(head_age - child_gap, rng.uniform(0, 6, len(sizes)))
    child1_male = rng.random(len(sizes)) < 0.52
    hh = household
    age = np.empty(n)
    male = np.empty(n, dtype=bool)
    h = role == HEAD
    age[h], male[h] = head_age[hh[h]], head_male[hh[h]]
    s = role == SPOUSE
    age[s] = np.clip(head_age[hh[s]] + rng.normal(-1.5, 2.5, int(s.sum())), 20, 100)
    male[s] = ~head_male[hh[s]]
    c = role == CHILD
    first_child = c & (slot == 2)
    age[c] = np.maximum(
        head_age[hh[c]] - rng.uniform(23, 36, int(c.sum())), rng.uniform(0, 8, int(c.sum()))
    )
    age[first_child] = child1[hh[first_child]]
    male[c] = rng.random(int(c.sum())) < 0.52
    male[first_child] = child1_male[hh[first_child]]
    p = role == PARENT
    age[p] = np.minimum(head_age[hh[p]] + rng.uniform(23, 34, int(p.sum())), 101)
    second_parent = p & (slot > 0) & np.roll(p, 1)
    male[p] = rng.random(int(p.sum())) < 0.4
    male[second_parent] = ~male[np.flatnonzero(second_parent) - 1]
    cs = role == CHILD_SPOUSE
    age[cs] = np.clip(child1[hh[cs]] + rng.normal(-1, 2, int(cs.sum())), 20, 60)
    male[cs] = ~child1_male[hh[cs]]
    g = role == GRANDCHILD
    skipped = np.maximum(head_age - rng.uniform(48, 60, len(sizes)), 0)
    via_child = np.isin(template, [t for t, r in enumerate(table) if CHILD_SPOUSE in r])
    base_age = np.where(via_child, child1 - rng.uniform(22, 32, len(sizes)), skipped)
    age[g] = np.maximum(
        base_age[hh[g]] - rng.uniform(0, 5, int(g.sum())), rng.uniform(0, 3, int(g.sum()))
    )
    male[g] = rng.random(int(g.sum())) < 0.53

    birth = _birth_dates(rng, age, as_of)
    sex = np.where(male, "M", "F")
    surnames = _surnames(rng, role, male, hh, len(sizes), head_male, child1_male)
    given = names.given_names(rng, male, birth.astype("datetime64[Y]").astype(np.int64) + 1970)
    full = names.full_names(surnames, given)
    ids = citizen_ids(rng, counties[hh], birth, male)
    phone = phones(rng, age)
    return People(hh, np.asarray(RELATIONS)[role], full, sex, birth.astype(str), ids, phone)


def _birth_dates(rng: np.random.Generator, age: Floats, as_of: dt.date) -> NDArray[np.datetime64]:
    """Birth dates for ages in years; a random day within the year spreads the ages that
    were clipped to a bound (else thousands share one date and exhaust the ID sequences)."""
    days = np.floor(np.clip(age, 0, 100.5) * 365.2425).astype(np.int64) + rng.integers(
        0, 365, len(age)
    )
    return np.datetime64(as_of.isoformat(), "D") - days.astype("timedelta64[D]")


def _surnames(
    rng: np.random.Generator,
    role: Ints,
    male: NDArray[np.bool_],
    hh: Ints,
    households: int,
    head_male: NDArray[np.bool_],
    child1_male: NDArray[np.bool_],
) -> Ints:
    """Children take the father's surname; a wife keeps hers; a head's parents share the head's
    surname through the father."""
    head_s = names.surname_indexes(rng, households)
    spouse_s = names.surname_indexes(rng, households)
    own = names.surname_indexes(rng, len(role))
    family = np.where(head_male, head_s, spouse_s)
    child_spouse_s = names.surname_indexes(rng, households)
    grand = np.where(child1_male, family, child_spouse_s)
    result = own.copy()
    result[role == HEAD] = head_s[hh[role == HEAD]]
    result[role == SPOUSE] = spouse_s[hh[role == SPOUSE]]
    result[role == CHILD] = family[hh[role == CHILD]]
    father = (role == PARENT) & male
    result[father] = head_s[hh[father]]
    result[role == CHILD_SPOUSE] = child_spouse_s[hh[role == CHILD_SPOUSE]]
    g = role == GRANDCHILD
    result[g] = grand[hh[g]]
    return result


def citizen_ids(
    rng: np.random.Generator,
    counties: Strings,
    birth: NDArray[np.datetime64],
    male: NDArray[np.bool_],
) -> Strings:
    """Unique GB 11643 IDs: address code by county and birth year, date, sequence, check."""
    n = len(counties)
    year = birth.astype("datetime64[Y]").astype(np.int64) + 1970
    address = np.empty(n, dtype="<U6")
    for county, (before, after) in ADDRESS_CODES.items():
        for codes, weights, mask in (
            (*before, (counties == county) & (year < 2014)),
            (*after, (counties == county) & (year >= 2014)),
        ):
            m = int(mask.sum())
            address[mask] = np.asarray(codes)[rng.choice(len(codes), size=m, p=weights)]
    moved = rng.random(n) < MOVED_SHARE
    early, late = MOVED_CODES
    address[moved] = np.where(
        year[moved] < 2014,
        np.asarray(early)[rng.integers(0, len(early), int(moved.sum()))],
        np.asarray(late)[rng.integers(0, len(late), int(moved.sum()))],
    )
    # 320704 云台区 existed until 2001: nobody born later is registered there.
    late_yuntai = (address == "320704") & (year >= 2001)
    address[late_yuntai] = np.where(counties[late_yuntai] == "320703", "320703", "320706")
    dates = np.char.replace(birth.astype(str), "-", "")
    parity = male.astype(np.int64)
    seq = rng.integers(1, 500, n) * 2 + parity
    for _ in range(MAX_ID_DRAWS):
        first17 = np.char.add(np.char.add(address, dates), np.char.zfill(seq.astype(str), 3))
        _, first, counts = np.unique(first17, return_index=True, return_counts=True)
        taken = np.ones(n, dtype=bool)
        taken[first] = False  # the first of each value keeps it
        if not taken.any() and counts.max(initial=1) == 1:
            break
        redo = np.flatnonzero(taken)
        seq[redo] = rng.integers(1, 500, len(redo)) * 2 + parity[redo]
    else:
        raise RuntimeError("citizen ID sequences exhausted: too many people share a birth date")
    return np.asarray(np.char.add(first17, check_characters(first17)))


def phones(rng: np.random.Generator, age: Floats) -> Strings:
    """Mobile numbers; young children and some of the very old have none ('')."""
    n = len(age)
    prefix = np.asarray(MOBILE_PREFIXES)[rng.integers(0, len(MOBILE_PREFIXES), n)]
    rest = np.char.zfill(rng.integers(0, 100_000_000, n).astype(str), 8)
    number = np.char.add(prefix, rest)
    none = (age < 10) | ((age < 16) & (rng.random(n) < 0.5)) | ((age >= 80) & (rng.random(n) < 0.4))
    return np.where(none, "", number)
