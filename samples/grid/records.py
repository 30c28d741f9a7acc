"""The tables of the synthetic city (houses, households, persons, workers) and the small,
known set of deliberately broken records that the consistency checks must find.

Keys (all stable for a seed, see ``manifest["rules"]``):

- house: ``<building code>/<unit>/<floor>/<room>``; a house without building has ``''`` or
  an unknown building code in front (``/1/1/101``);
- household number (户号): 12-digit community code + 5-digit serial;
- person key: ``P`` + 8 digits, in persons.csv only; in the database a person is found by
  ``citizen_id_hash`` = the keyed hash of the citizen ID of that row;
- duplicate citizen IDs are keyed by the masked ID (``320706********123X``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from grid.models import RESIDENCE_TYPES
from grid.privacy import mask_citizen_id
from samples.grid import names
from samples.grid.assembly import City
from samples.grid.buildings import RURAL_HOUSE
from samples.grid.people import people, phones

Strings = NDArray[np.str_]
Ints = NDArray[np.int64]
Column = NDArray[Any]

RESIDENCE: Final = (RESIDENCE_TYPES, (0.72, 0.16, 0.12))
BROKEN_HOUSES: Final = 2
HOUSEHOLDS_WITHOUT_HOUSE: Final = 2
PERSONS_WITHOUT_HOUSEHOLD: Final = 3
DUPLICATE_IDS: Final = 2


@dataclass
class Tables:
    houses: dict[str, Column]
    households: dict[str, Column]
    persons: dict[str, Column]
    workers: dict[str, Column]
    cell_worker: Strings
    broken: list[dict[str, Any]] = field(default_factory=list)


def _serial_in_group(group: Strings) -> Ints:
    """1-based rank of each element among equal values, in order of appearance."""
    order = np.argsort(group, kind="stable")
    s = group[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    group_start = np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    serial = np.empty(len(order), dtype=np.int64)
    serial[order] = np.arange(len(order)) - group_start + 1
    return serial


def _house_areas(city: City) -> NDArray[np.float64]:
    h, b = city.homes, city.buildings
    per_building = np.bincount(h.building, minlength=len(b.code))
    floor_area = b.footprint_m2 * b.floors * np.where(b.kind == RURAL_HOUSE, 0.85, 0.78)
    return np.round(floor_area[h.building] / np.maximum(per_building[h.building], 1), 1)


def build_tables(city: City, seed: int, as_of: dt.date) -> Tables:
    """Houses, households, persons and workers, with the deliberately broken records."""
    rng = np.random.default_rng([seed, 31])
    h, b = city.homes, city.buildings
    unit = h.unit.astype(str)
    floor = h.floor.astype(np.int64)
    room = h.room.astype(str)
    building = b.code[h.building]
    key = np.char.add(
        np.char.add(np.char.add(np.char.add(building, "/"), unit), "/"),
        np.char.add(np.char.add(floor.astype(str), "/"), room),
    )
    area = _house_areas(city)
    home_comm = h.community

    first = str(city.cells.community[0])
    unknown_building = f"{first}99999"
    bad_houses = [("", "1", 1, "101"), (unknown_building, "2", 3, "302")][:BROKEN_HOUSES]
    bad_keys = [f"{bb}/{u}/{f}/{r}" for bb, u, f, r in bad_houses]
    houses = {
        "key": np.r_[key, bad_keys],
        "building": np.r_[building, [x[0] for x in bad_houses]],
        "unit": np.r_[unit, [x[1] for x in bad_houses]],
        "floor": np.r_[floor, [x[2] for x in bad_houses]],
        "room": np.r_[room, [x[3] for x in bad_houses]],
        "area_m2": np.r_[area, [62.5] * len(bad_houses)],
    }

    lived = np.flatnonzero(h.household_size > 0)
    n_bad_house = len(bad_houses)
    sizes = np.r_[
        h.household_size[lived],
        [2] * n_bad_house,
        [3] * HOUSEHOLDS_WITHOUT_HOUSE,
        [1] * PERSONS_WITHOUT_HOUSEHOLD,
    ].astype(np.int64)
    n_extra = n_bad_house + HOUSEHOLDS_WITHOUT_HOUSE + PERSONS_WITHOUT_HOUSEHOLD
    hh_comm = np.r_[home_comm[lived], [first] * n_extra]
    hh_house = np.r_[
        key[lived], bad_keys, [""] * (HOUSEHOLDS_WITHOUT_HOUSE + PERSONS_WITHOUT_HOUSEHOLD)
    ]
    hh_no = np.char.add(hh_comm, np.char.zfill(_serial_in_group(hh_comm).astype(str), 5))
    labels, weights = RESIDENCE
    residence = np.asarray(labels)[rng.choice(len(labels), size=len(sizes), p=weights)]

    folks = people(rng, sizes, np.asarray([c[:6] for c in hh_comm.tolist()]), as_of)
    person_hh = hh_no[folks.household]
    phantom = folks.household >= len(sizes) - PERSONS_WITHOUT_HOUSEHOLD
    phantom_idx = np.flatnonzero(phantom)
    person_hh[phantom_idx[:-1]] = ""
    person_hh[phantom_idx[-1:]] = f"{first}99999"

    # Duplicates: the same person recorded a second time in another household.
    adults = np.flatnonzero((folks.birth < "2000-01-01") & ~phantom)
    picks = adults[(np.arange(1, DUPLICATE_IDS + 1) * len(adults)) // (DUPLICATE_IDS + 1)]
    other_hh = person_hh[np.minimum(picks + 50, len(person_hh) - 1)]
    columns = {
        "household_no": np.r_[person_hh, other_hh],
        "name": np.r_[folks.name, folks.name[picks]],
        "sex": np.r_[folks.sex, folks.sex[picks]],
        "birth_date": np.r_[folks.birth, folks.birth[picks]],
        "citizen_id": np.r_[folks.citizen_id, folks.citizen_id[picks]],
        "phone": np.r_[folks.phone, folks.phone[picks]],
        "relation": np.r_[folks.relation, ["其他"] * len(picks)],
    }
    total = len(columns["name"])
    person_key = np.char.add("P", np.char.zfill(np.arange(1, total + 1).astype(str), 8))
    persons = {"person_key": person_key, **columns}

    real = slice(0, len(sizes) - PERSONS_WITHOUT_HOUSEHOLD)
    households = {
        "household_no": hh_no[real],
        "house": hh_house[real],
        "residence": residence[real],
    }
    cell_worker, workers = _workers(city, rng)

    broken: list[dict[str, Any]] = []
    broken += [{"kind": "building_outside_cells", "key": c} for c in city.outside]
    broken += [{"kind": "house_without_building", "key": k} for k in bad_keys]
    start = len(sizes) - PERSONS_WITHOUT_HOUSEHOLD - HOUSEHOLDS_WITHOUT_HOUSE
    broken += [
        {"kind": "household_without_house", "key": str(hh_no[i])}
        for i in range(start, start + HOUSEHOLDS_WITHOUT_HOUSE)
    ]
    broken += [
        {"kind": "person_without_household", "key": str(person_key[i]),
         "household_no": str(person_hh[i])}
        for i in phantom_idx.tolist()
    ]  # fmt: skip
    broken += [
        {"kind": "duplicate_citizen_id", "key": mask_citizen_id(str(folks.citizen_id[p])),
         "persons": [str(person_key[p]), str(person_key[len(folks.name) + j])]}
        for j, p in enumerate(picks.tolist())
    ]  # fmt: skip
    return Tables(houses, households, persons, workers, cell_worker, broken)


def _workers(city: City, rng: np.random.Generator) -> tuple[Strings, dict[str, Column]]:
    """One worker per urban cell; in villages one worker looks after two cells."""
    cells = city.cells
    kinds = dict(zip(city.admin.code, city.admin.kind, strict=True))
    order = np.argsort(cells.code, kind="stable")
    worker_of = np.empty(len(cells.code), dtype=np.int64)
    communities: list[str] = []
    count = 0
    previous = ""
    seen = 0
    for i in order.tolist():
        comm = str(cells.community[i])
        if comm != previous:
            previous, seen = comm, 0
        share = 2 if kinds[comm] == "village" else 1
        if seen % share == 0:
            communities.append(comm)
            count += 1
        worker_of[i] = count - 1
        seen += 1
    keys = np.char.add("W", np.char.zfill(np.arange(1, count + 1).astype(str), 5))
    male = rng.random(count) < 0.5
    year = rng.integers(1970, 1998, count)
    given = names.given_names(rng, male, year)
    full = names.full_names(names.surname_indexes(rng, count), given)
    phone = phones(rng, np.full(count, 35.0))
    workers = {
        "key": keys,
        "name": full,
        "phone": phone,
        "community_code": np.asarray(communities),
    }
    return keys[worker_of], workers
