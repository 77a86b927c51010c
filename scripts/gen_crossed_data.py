"""Deterministic generators of crossed random-effects data sets (numpy only).

Usage (from the repository root):

    python scripts/gen_crossed_data.py crossed_small   --out data/crossed_small.csv
    python scripts/gen_crossed_data.py crossed_slopes  --out data/crossed_slopes.csv
    python scripts/gen_crossed_data.py insteval        --out data/insteval_like.csv
    python scripts/gen_crossed_data.py movielens --rows 1000000 --out /tmp/ml.csv
    python scripts/gen_crossed_data.py shipped         # (re)writes the three data/ files above
    python scripts/gen_crossed_data.py crossed_small --check data/crossed_small.csv   # exit 1 if differs
    python scripts/gen_crossed_data.py insteval --summary   # counts per level, no file written

Every data set has a fixed default seed, so the same command writes the same bytes (with the same
numpy: the streams of numpy.random.Generator(PCG64) used here have been stable since numpy 1.17,
but numpy does not promise that forever; tests/fixtures/crossed.md records the version and the
sha256 of each file). `--seed` gives a different, equally deterministic, data set.

Data sets (tests/fixtures/crossed.md has the details):

* crossed_small  ~5,000 rows: y (continuous), x, a (300 levels) crossed with b (120 levels), b nested
  in c (10 levels; b codes are unique across c: b = 100*c + j).
* crossed_slopes ~3,000 rows: y, x, g (100 levels; random intercept and slope on x), crossed with
  h (40 levels; random intercept).
* insteval       73,421 rows shaped like lme4::InstEval: s (2,972 students) x d (1,128 lecturers,
  codes with gaps like InstEval's), dept (14; each lecturer in one department), service (0/1, varies
  within lecturer), studage (1..4, constant within student), lectage (1..6), y (1..5). No (s, d)
  pair occurs twice. All columns are integers.
* movielens      1,000,000 rows (--rows) shaped like MovieLens-1M: user (6,040) x movie (3,706),
  power-law counts, rating 1..5, no (user, movie) pair twice. For benchmarks only (not shipped).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
from pathlib import Path

import numpy as np

SEEDS = {"crossed_small": 20240611, "crossed_slopes": 20240612, "insteval": 20240613,
         "movielens": 20240614}
DEFAULT_OUT = {"crossed_small": "data/crossed_small.csv", "crossed_slopes": "data/crossed_slopes.csv",
               "insteval": "data/insteval_like.csv", "movielens": "/tmp/movielens_like.csv"}
SHIPPED = ("crossed_small", "crossed_slopes", "insteval")


# ------------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------------

def quantile_counts(rng: np.random.Generator, n_units: int, knots: list[tuple[float, float]],
                    total: int | None = None, lo: int = 1, hi: int | None = None) -> np.ndarray:
    """Counts per unit with a given quantile function, summing exactly to `total`.

    The quantile function is piecewise linear in log(count) through the (probability, count) knots.
    Units get stratified uniforms ((k + U_k) / n in random order), so the sample quantiles follow
    the knots closely. The counts are rounded, clipped to [lo, hi] and then moved one by one
    (random units, staying in [lo, hi]) until they sum to `total`.
    """
    p = np.array([k[0] for k in knots])
    logq = np.log(np.array([k[1] for k in knots], dtype=float))
    u = (rng.permutation(n_units) + rng.random(n_units)) / n_units
    counts = np.rint(np.exp(np.interp(u, p, logq))).astype(np.int64)
    hi = int(counts.max()) if hi is None else hi
    counts = np.clip(counts, lo, hi)
    if total is not None:
        if not n_units * lo <= total <= n_units * hi:
            raise ValueError("total out of range")
        if abs(counts.sum() - total) > 0.02 * total:      # rescale first when far off
            counts = np.clip(np.rint(counts * (total / counts.sum())).astype(np.int64), lo, hi)
        while counts.sum() != total:
            diff = int(total - counts.sum())
            step = 1 if diff > 0 else -1
            ok = np.flatnonzero(counts < hi) if step > 0 else np.flatnonzero(counts > lo)
            pick = rng.choice(ok, size=min(abs(diff), len(ok)), replace=False)
            counts[pick] += step
    return counts


def cut_to_proportions(latent: np.ndarray, props: list[float]) -> np.ndarray:
    """Categories 1..K from a latent variable, cut at its empirical quantiles so that the category
    proportions equal `props` (up to ties)."""
    cum = np.cumsum(props)[:-1] / np.sum(props)
    thresholds = np.quantile(latent, cum)
    return 1 + np.searchsorted(thresholds, latent, side="right")


def repair_duplicates(rng: np.random.Generator, es: np.ndarray, ed: np.ndarray, n_d: int,
                      group_of_d: np.ndarray | None = None) -> int:
    """Make the (es, ed) pairs distinct by degree-preserving swaps of the ed ends (in place).

    A duplicated edge i = (s1, d1) is swapped with a random edge j = (s2, d2) when neither (s1, d2)
    nor (s2, d1) exists. With `group_of_d`, j is first drawn among the edges whose d is in the same
    group as d1 (so both edges keep their group, e.g. the lecturer's department), and from all
    edges after 50 failed tries. Returns the number of swaps."""
    if group_of_d is None:
        group_of_d = np.zeros(n_d, dtype=np.int64)
    grp = group_of_d[ed]
    members = [np.flatnonzero(grp == k) for k in range(int(group_of_d.max()) + 1)]
    key = es * n_d + ed
    _, first = np.unique(key, return_index=True)
    dup = np.setdiff1d(np.arange(len(key)), first)
    present: dict[int, int] = {}
    for k in key.tolist():
        present[k] = present.get(k, 0) + 1
    swaps = 0
    for i in rng.permutation(dup).tolist():
        tries = 0
        while True:
            tries += 1
            if tries <= 50:                       # in-group partner first, then any edge
                cand = members[grp[i]]
                j = int(cand[rng.integers(len(cand))])
            else:
                j = int(rng.integers(len(key)))
            s1, d1, s2, d2 = int(es[i]), int(ed[i]), int(es[j]), int(ed[j])
            k12, k21 = s1 * n_d + d2, s2 * n_d + d1
            if s1 != s2 and d1 != d2 and k12 not in present and k21 not in present:
                break
        for k in (s1 * n_d + d1, s2 * n_d + d2):
            present[k] -= 1
            if present[k] == 0:
                del present[k]
        present[k12] = 1
        present[k21] = 1
        ed[i], ed[j] = d2, d1
        swaps += 1
    assert len(present) == len(key)
    return swaps


def to_csv_bytes(columns: dict[str, np.ndarray], fmts: dict[str, str] | None = None) -> bytes:
    """CSV text: integer columns as plain integers, float columns with the given % format."""
    fmts = fmts or {}
    names = list(columns)
    n = len(columns[names[0]])
    cols = []
    for name in names:
        v = np.asarray(columns[name])
        assert len(v) == n
        if name in fmts:
            s = np.char.mod(fmts[name], v)
            s = np.where(np.char.startswith(s, "-") & (np.char.strip(s, "-0.") == ""),
                         np.char.lstrip(s, "-"), s)        # no "-0.0000"
        else:
            assert np.issubdtype(v.dtype, np.integer)
            s = v.astype(str)
        cols.append(s)
    buf = io.StringIO()
    buf.write(",".join(names) + "\n")
    chunk = 200_000
    for start in range(0, n, chunk):
        rows = cols[0][start:start + chunk]
        for c in cols[1:]:
            rows = np.char.add(np.char.add(rows, ","), c[start:start + chunk])
        buf.write("\n".join(rows.tolist()))
        buf.write("\n")
    return buf.getvalue().encode("ascii")


# ------------------------------------------------------------------------------------------------
# Data sets
# ------------------------------------------------------------------------------------------------

def crossed_small(seed: int) -> tuple[dict, dict]:
    rng = np.random.default_rng(seed)
    n, n_a, n_c = 5000, 300, 10
    b_per_c = quantile_counts(rng, n_c, [(0, 8), (0.5, 12), (1, 16)], total=120, lo=8, hi=16)
    c_of_b = np.repeat(np.arange(1, n_c + 1), b_per_c)                     # 120 b's
    b_code = 100 * c_of_b + np.concatenate([np.arange(1, k + 1) for k in b_per_c])
    n_b = len(b_code)
    cnt_a = quantile_counts(rng, n_a, [(0, 2), (0.25, 9), (0.5, 15), (0.75, 22), (0.95, 35), (1, 50)],
                            total=n, lo=2)
    cnt_b = quantile_counts(rng, n_b, [(0, 5), (0.25, 25), (0.5, 38), (0.75, 55), (1, 120)],
                            total=n, lo=5)
    ia = rng.permutation(np.repeat(np.arange(n_a), cnt_a))
    ib = rng.permutation(np.repeat(np.arange(n_b), cnt_b))                 # (a, b) cells may repeat
    ic = c_of_b[ib] - 1
    xa = rng.normal(size=n_a)
    x = np.round(0.4 * xa[ia] + rng.normal(size=n), 4)
    u_a = rng.normal(0, 0.7, n_a)
    u_b = rng.normal(0, 0.6, n_b)
    u_c = rng.normal(0, 0.5, n_c)
    y = 1.5 + 0.8 * x + u_a[ia] + u_b[ib] + u_c[ic] + rng.normal(0, 1.0, n)
    cols = {"y": np.round(y, 4), "x": x, "a": ia + 1, "b": b_code[ib], "c": ic + 1}
    return cols, {"y": "%.4f", "x": "%.4f"}


def crossed_slopes(seed: int) -> tuple[dict, dict]:
    rng = np.random.default_rng(seed)
    n, n_g, n_h = 3000, 100, 40
    cnt_g = quantile_counts(rng, n_g, [(0, 10), (0.5, 30), (1, 55)], total=n, lo=10)
    cnt_h = quantile_counts(rng, n_h, [(0, 40), (0.5, 75), (1, 120)], total=n, lo=40)
    ig = rng.permutation(np.repeat(np.arange(n_g), cnt_g))
    ih = rng.permutation(np.repeat(np.arange(n_h), cnt_h))
    xg = rng.normal(size=n_g)
    x = np.round(0.3 * xg[ig] + rng.normal(size=n), 4)
    sd0, sd1, rho = 1.0, 0.5, 0.4
    G = np.array([[sd0 ** 2, rho * sd0 * sd1], [rho * sd0 * sd1, sd1 ** 2]])
    u = rng.normal(size=(n_g, 2)) @ np.linalg.cholesky(G).T                # (intercept, slope)
    v = rng.normal(0, 0.8, n_h)
    y = 2.0 + 0.5 * x + u[ig, 0] + u[ig, 1] * x + v[ih] + rng.normal(0, 1.2, n)
    cols = {"y": np.round(y, 4), "x": x, "g": ig + 1, "h": ih + 1}
    return cols, {"y": "%.4f", "x": "%.4f"}


# lme4::InstEval marginals (see tests/fixtures/crossed.md).
IE_N, IE_S, IE_D = 73421, 2972, 1128
IE_S_KNOTS = [(0, 1), (0.05, 7), (0.1, 9), (0.25, 12), (0.5, 22), (0.75, 33), (0.9, 47), (0.95, 55),
              (0.99, 70.3), (1, 92)]
IE_D_KNOTS = [(0, 10), (0.05, 11), (0.1, 12), (0.25, 16), (0.5, 31), (0.75, 83.25), (0.9, 173.3),
              (0.95, 226.65), (0.99, 337), (1, 792)]
IE_LECTURERS_PER_DEPT = [63, 44, 61, 144, 53, 111, 68, 75, 63, 94, 59, 134, 63, 96]   # depts 1..14
IE_STUDAGE_P = [0.21, 0.23, 0.30, 0.26]                      # per student (InstEval 2/4/6/8)
IE_LECTAGE_P = [20125, 16297, 10999, 8638, 6258, 11104]      # per rating
IE_Y_P = [10186, 12951, 17609, 16921, 15754]                 # per rating
IE_P_HOME = 0.9                                              # see insteval()
IE_D_CODE_MAX = 2160                                         # InstEval's d codes run 1..2160


def insteval(seed: int) -> tuple[dict, dict]:
    rng = np.random.default_rng(seed)
    n_dept = len(IE_LECTURERS_PER_DEPT)
    cnt_s = quantile_counts(rng, IE_S, IE_S_KNOTS, total=IE_N, lo=1, hi=92)
    cnt_d = quantile_counts(rng, IE_D, IE_D_KNOTS, total=IE_N, lo=10, hi=792)
    dept_of_d = rng.permutation(np.repeat(np.arange(n_dept), IE_LECTURERS_PER_DEPT))

    # Pair student and lecturer rating "stubs" (exact counts on both sides) with clustering by
    # department. Department k owns an interval of [0, 1) whose length is its share of ratings.
    # A lecturer stub gets a key in its department's interval with probability p_loc (0.95 for
    # lecturers with 10 ratings, falling to ~0.5 for the largest, who teach big courses attended
    # from everywhere), else a key anywhere. Each student has a home department (allocated in
    # proportion to the shares), and a student stub gets a key in the home interval with
    # probability IE_P_HOME, else anywhere. Sorting both sides by key and pairing rank by rank keeps
    # both count sequences exactly. Repeated (s, d) pairs are then removed by degree-preserving
    # swaps, preferably within the lecturer's department.
    d_stub = np.repeat(np.arange(IE_D), cnt_d)
    dd = dept_of_d[d_stub]
    mass = np.bincount(dd, minlength=n_dept) / IE_N
    start = np.concatenate([[0.0], np.cumsum(mass)[:-1]])
    p_loc = np.clip(0.95 - 0.066 * np.log(cnt_d / 10), 0.3, 0.95)
    local = rng.random(IE_N) < p_loc[d_stub]
    d_key = np.where(local, start[dd] + rng.random(IE_N) * mass[dd], rng.random(IE_N))
    order = rng.permutation(IE_S)
    mid = (np.cumsum(cnt_s[order]) - 0.5 * cnt_s[order]) / IE_N
    home = np.empty(IE_S, dtype=np.int64)
    home[order] = np.minimum(np.searchsorted(np.cumsum(mass), mid, side="right"), n_dept - 1)
    s_stub = np.repeat(np.arange(IE_S), cnt_s)
    hs = home[s_stub]
    at_home = rng.random(IE_N) < IE_P_HOME
    s_key = np.where(at_home, start[hs] + rng.random(IE_N) * mass[hs], rng.random(IE_N))
    es = s_stub[np.argsort(s_key, kind="stable")]
    ed = d_stub[np.argsort(d_key, kind="stable")]
    repair_duplicates(rng, es, ed, IE_D, dept_of_d)
    o = np.lexsort((ed, es))
    es, ed = es[o], ed[o]

    # Attributes.
    studage = rng.choice(4, size=IE_S, p=IE_STUDAGE_P) + 1
    z_stud = (studage - studage.mean()) / studage.std()
    lectage = cut_to_proportions(0.5 * z_stud[es] + np.sqrt(1 - 0.25) * rng.normal(size=IE_N),
                                 IE_LECTAGE_P)
    kind = rng.choice(3, size=IE_D, p=[0.28, 0.14, 0.58])   # never / always / sometimes service
    p_serv = np.where(kind == 0, 0.0, np.where(kind == 1, 1.0, rng.beta(1.5, 1.5, IE_D)))
    service = (rng.random(IE_N) < p_serv[ed]).astype(np.int64)

    # Latent rating on the 1..5 scale, then cut at its quantiles to InstEval's rating proportions.
    # Latent variances are set so that lmer(y ~ service + (1|s) + (1|d) + (1|dept)) on the cut
    # ratings gives roughly InstEval's estimates (s .105, d .262, dept .012, residual 1.385).
    u_s = rng.normal(0, np.sqrt(0.118), IE_S)
    u_d = rng.normal(0, np.sqrt(0.290), IE_D)
    u_dept = rng.normal(size=n_dept)                # 14 draws: fix their sample variance at .012
    u_dept = (u_dept - u_dept.mean()) / u_dept.std() * np.sqrt(0.012)
    latent = (3.2 - 0.10 * service + 0.03 * (studage[es] - 2.5) - 0.03 * (lectage - 3)
              + u_s[es] + u_d[ed] + u_dept[dept_of_d[ed]] + rng.normal(0, np.sqrt(1.30), IE_N))
    y = cut_to_proportions(latent, IE_Y_P)

    d_codes = np.sort(rng.choice(IE_D_CODE_MAX, size=IE_D, replace=False)) + 1
    cols = {"y": y, "s": es + 1, "d": d_codes[ed], "dept": dept_of_d[ed] + 1, "service": service,
            "studage": studage[es], "lectage": lectage}
    return cols, {}


# MovieLens-1M marginals: 6,040 users with >= 20 ratings (median 96, max 2,314), 3,706 movies
# (median ~124, max 3,428), 1,000,209 ratings with proportions 1..5 below.
ML_USERS, ML_MOVIES = 6040, 3706
ML_USER_KNOTS = [(0, 20), (0.25, 44), (0.5, 96), (0.75, 208), (0.9, 400), (0.99, 1000), (1, 2314)]
ML_MOVIE_KNOTS = [(0, 1), (0.25, 33), (0.5, 124), (0.75, 350), (0.9, 700), (0.99, 1700), (1, 3428)]
ML_RATING_P = [0.056, 0.108, 0.261, 0.349, 0.226]


def movielens(seed: int, rows: int = 1_000_000) -> tuple[dict, dict]:
    rng = np.random.default_rng(seed)
    lo = max(1, min(20, rows // (8 * ML_USERS)))
    cnt_u = quantile_counts(rng, ML_USERS, ML_USER_KNOTS, total=rows, lo=lo, hi=ML_MOVIES)
    w = np.exp(np.interp((rng.permutation(ML_MOVIES) + rng.random(ML_MOVIES)) / ML_MOVIES,
                         [k[0] for k in ML_MOVIE_KNOTS], np.log([k[1] for k in ML_MOVIE_KNOTS])))
    # Heavy users take most movies, which flattens the top of the movie counts; the power 1.3 on
    # the weights roughly offsets that (movie counts then land near MovieLens-1M's quantiles).
    logw = 1.3 * np.log(w)
    # Each user draws cnt_u distinct movies with probabilities proportional to w, sequentially
    # without replacement (Efraimidis-Spirakis: the cnt_u largest of log w + Gumbel noise).
    users, movies = [], []
    chunk = 256
    for s0 in range(0, ML_USERS, chunk):
        k = cnt_u[s0:s0 + chunk]
        keys = logw[None, :] + rng.gumbel(size=(len(k), ML_MOVIES))
        ranked = np.argsort(-keys, axis=1, kind="stable")
        for r, kk in enumerate(k.tolist()):
            sel = np.sort(ranked[r, :kk])
            users.append(np.full(kk, s0 + r, dtype=np.int64))
            movies.append(sel)
    eu, em = np.concatenate(users), np.concatenate(movies)
    # Every movie gets at least one rating (as in MovieLens-1M): each unrated movie takes over a
    # random rating of a movie that has several (no user has rated the unrated movie, so no
    # duplicate pair can arise).
    cnt_m = np.bincount(em, minlength=ML_MOVIES)
    for m in np.flatnonzero(cnt_m == 0).tolist():
        while True:
            i = int(rng.integers(len(em)))
            if cnt_m[em[i]] >= 2:
                break
        cnt_m[em[i]] -= 1
        em[i] = m
        cnt_m[m] = 1
    o = np.lexsort((em, eu))
    eu, em = eu[o], em[o]
    u_user = rng.normal(0, 0.45, ML_USERS)
    u_movie = rng.normal(0, 0.55, ML_MOVIES)
    latent = u_user[eu] + u_movie[em] + rng.normal(0, 0.9, len(eu))
    rating = cut_to_proportions(latent, ML_RATING_P)
    return {"user": eu + 1, "movie": em + 1, "rating": rating}, {}


GENERATORS = {"crossed_small": crossed_small, "crossed_slopes": crossed_slopes,
              "insteval": insteval, "movielens": movielens}


def generate(name: str, seed: int | None = None, rows: int | None = None) -> tuple[dict, bytes]:
    seed = SEEDS[name] if seed is None else seed
    if name == "movielens":
        cols, fmts = movielens(seed, 1_000_000 if rows is None else rows)
    else:
        if rows is not None:
            raise SystemExit(f"--rows applies to movielens only, not {name}")
        cols, fmts = GENERATORS[name](seed)
    return cols, to_csv_bytes(cols, fmts)


def summary(name: str, cols: dict) -> str:
    """Counts of observations per level (min/median/max) of each integer factor column."""
    factors = {"crossed_small": ["a", "b", "c"], "crossed_slopes": ["g", "h"],
               "insteval": ["s", "d", "dept"], "movielens": ["user", "movie"]}[name]
    out = [f"{name}: {len(next(iter(cols.values())))} rows"]
    for f in factors:
        _, cnt = np.unique(cols[f], return_counts=True)
        out.append(f"  {f:6s} levels {len(cnt):5d}  obs per level min {cnt.min()} "
                   f"median {np.median(cnt):g} mean {cnt.mean():.2f} max {cnt.max()}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dataset", choices=[*GENERATORS, "shipped"])
    ap.add_argument("--out", help="output CSV path (default: data/crossed_small.csv, "
                    "data/crossed_slopes.csv, data/insteval_like.csv, /tmp/movielens_like.csv)")
    ap.add_argument("--rows", type=int, help="number of rows (movielens only; default 1,000,000)")
    ap.add_argument("--seed", type=int, help="seed (default: the fixed seed of the data set)")
    ap.add_argument("--check", metavar="CSV", help="regenerate and compare with CSV byte by byte")
    ap.add_argument("--summary", action="store_true", help="print counts per level; write nothing")
    args = ap.parse_args(argv)

    names = SHIPPED if args.dataset == "shipped" else (args.dataset,)
    if args.dataset == "shipped" and (args.out or args.check or args.rows or args.seed):
        raise SystemExit("'shipped' takes no --out/--check/--rows/--seed")
    status = 0
    for name in names:
        cols, data = generate(name, args.seed, args.rows)
        digest = hashlib.sha256(data).hexdigest()
        if args.summary:
            print(summary(name, cols))
            print(f"  sha256 {digest}  ({len(data)} bytes)")
            continue
        if args.check:
            same = Path(args.check).read_bytes() == data
            print(f"{args.check}: {'identical' if same else 'DIFFERS'} (generated sha256 {digest})")
            status |= 0 if same else 1
            continue
        out = Path(args.out or DEFAULT_OUT[name])
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
        print(f"wrote {out}: {len(data)} bytes, sha256 {digest}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
