#!/usr/bin/python3
"""Generates stats_reference.json: randomized cases with the expected results computed by scipy.

Run once (it is deterministic: seed 20261122) with Debian's Python and scipy:
    apt-get install python3-scipy && /usr/bin/python3 make_stats_reference.py > stats_reference.json
Reference implementations used (independent of Steward's C++):
- proportions: pooled two-proportion z-test; p from scipy.stats.norm.sf; Wald interval via norm.ppf
- means: scipy.stats.ttest_ind_from_stats(b..., a..., equal_var=False); interval via scipy.stats.t.ppf
- srm: scipy.stats.chisquare(counts, f_exp)
- sample size: Fleiss' formula with scipy.stats.norm.ppf
- binomial: scipy.stats.binomtest(k, n, p).pvalue (two-sided)
- ratio: delta method (Deng et al. 2018) with numpy sample (co)variances over per-unit data
"""
import json
import math

import numpy as np
from scipy import stats

rng = np.random.default_rng(20261122)
out = {"proportions": [], "means": [], "srm": [], "sample_size": [], "binomial": [], "ratio": []}

for _ in range(60):
    na, nb = int(rng.integers(50, 200000)), int(rng.integers(50, 200000))
    pa, pb = rng.uniform(0.01, 0.6), rng.uniform(0.01, 0.6)
    xa, xb = int(rng.binomial(na, pa)), int(rng.binomial(nb, pb))
    alpha = float(rng.choice([0.01, 0.05, 0.1]))
    p1, p2 = xa / na, xb / nb
    pool = (xa + xb) / (na + nb)
    se_pool = math.sqrt(pool * (1 - pool) * (1 / na + 1 / nb))
    z = (p2 - p1) / se_pool
    se = math.sqrt(p1 * (1 - p1) / na + p2 * (1 - p2) / nb)
    q = stats.norm.ppf(1 - alpha / 2)
    out["proportions"].append({"xa": xa, "na": na, "xb": xb, "nb": nb, "alpha": alpha, "z": z,
                               "p_value": 2 * stats.norm.sf(abs(z)), "diff": p2 - p1,
                               "ci_low": p2 - p1 - q * se, "ci_high": p2 - p1 + q * se,
                               "rel_lift": p2 / p1 - 1})

for _ in range(60):
    ma, mb = rng.normal(10, 3), rng.normal(10, 3)
    sa, sb = rng.uniform(0.5, 8), rng.uniform(0.5, 8)
    na, nb = int(rng.integers(5, 50000)), int(rng.integers(5, 50000))
    alpha = float(rng.choice([0.01, 0.05, 0.1]))
    t, p = stats.ttest_ind_from_stats(mb, sb, nb, ma, sa, na, equal_var=False)
    va, vb = sa * sa / na, sb * sb / nb
    df = (va + vb) ** 2 / (va * va / (na - 1) + vb * vb / (nb - 1))
    tq = stats.t.ppf(1 - alpha / 2, df)
    se = math.sqrt(va + vb)
    out["means"].append({"a": [ma, sa, na], "b": [mb, sb, nb], "alpha": alpha, "t": float(t), "df": df,
                         "p_value": float(p), "diff": mb - ma, "ci_low": mb - ma - tq * se, "ci_high": mb - ma + tq * se})

for _ in range(40):
    k = int(rng.integers(2, 5))
    w = rng.uniform(0.1, 1.0, size=k)
    w = w / w.sum()
    total = int(rng.integers(100, 100000))
    skew = rng.uniform(0.9, 1.1, size=k)
    probs = w * skew / (w * skew).sum()
    counts = rng.multinomial(total, probs)
    res = stats.chisquare(counts, f_exp=w * counts.sum())
    out["srm"].append({"counts": counts.tolist(), "weights": w.tolist(), "chi2": float(res.statistic),
                       "p_value": float(res.pvalue)})

for _ in range(40):
    base = rng.uniform(0.01, 0.5)
    mde = float(rng.choice([-1, 1]) * rng.uniform(0.02, 0.3))
    if not 0 < base * (1 + mde) < 1:
        continue
    alpha = float(rng.choice([0.01, 0.05, 0.1]))
    power = float(rng.choice([0.8, 0.9, 0.95]))
    p1, p2 = base, base * (1 + mde)
    pbar = (p1 + p2) / 2
    za, zb = stats.norm.ppf(1 - alpha / 2), stats.norm.ppf(power)
    n = (za * math.sqrt(2 * pbar * (1 - pbar)) + zb * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))) ** 2 / (p2 - p1) ** 2
    out["sample_size"].append({"baseline": base, "mde": mde, "alpha": alpha, "power": power, "n_per_arm": math.ceil(n)})

for _ in range(30):
    n = int(rng.integers(1, 300))
    p = float(rng.uniform(0.05, 0.95))
    k = int(rng.integers(0, n + 1))
    out["binomial"].append({"k": k, "n": n, "p": p, "p_value": float(stats.binomtest(k, n, p).pvalue)})

def delta_var(x, y):
    n = len(x)
    mx, my = x.mean(), y.mean()
    r = mx / my
    c = np.cov(x, y, ddof=1)
    return (c[0, 0] - 2 * r * c[0, 1] + r * r * c[1, 1]) / (n * my * my)

for _ in range(20):
    arms = []
    for _arm in range(2):
        n = int(rng.integers(20, 600))
        y = rng.integers(1, 30, size=n).astype(float)           # exposures per user
        x = rng.binomial(y.astype(int), rng.uniform(0.02, 0.2)).astype(float)  # clicks per user
        arms.append((x, y))
    (xa, ya), (xb, yb) = arms
    ra, rb = xa.sum() / ya.sum(), xb.sum() / yb.sum()
    va, vb = delta_var(xa, ya), delta_var(xb, yb)
    se = math.sqrt(va + vb)
    out["ratio"].append({"a": {"x": xa.tolist(), "y": ya.tolist()}, "b": {"x": xb.tolist(), "y": yb.tolist()},
                         "var_a": va, "var_b": vb, "diff": rb - ra, "z": (rb - ra) / se,
                         "p_value": 2 * stats.norm.sf(abs((rb - ra) / se))})

print(json.dumps(out, indent=None))
