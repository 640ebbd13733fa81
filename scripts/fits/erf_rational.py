#!/usr/bin/env python3
"""Fits erf(x) ~ x P(x^2) / Q(x^2) on [0, 4] (P and Q of degree 5, Q(0) = 1) by iteratively
reweighted least squares in relative error (Sanathanan-Koerner). The coefficients in
tensor/cpu/vec_math.h come from this script (numpy; not needed to build or test the project).
Prints the maximum relative error on the grid and the coefficients."""
import numpy as np
from math import erf
xs = np.concatenate([np.linspace(0, 4, 40000)[1:]])
f = np.array([erf(x) for x in xs]) / xs   # erf(x)/x as function of t = x^2
t = xs**2
def fit(dp, dq, iters=20):
    w = np.ones_like(t)
    for _ in range(iters):
        # f*Q - P = 0, Q = 1 + q1 t + ..., weights for relative error in erf: divide by f*Qprev
        A = np.hstack([np.stack([t**k for k in range(dp+1)],1), -np.stack([f*t**k for k in range(1,dq+1)],1)])
        A = A / w[:,None]; b = f / w
        sol, *_ = np.linalg.lstsq(A, b, rcond=None)
        p = sol[:dp+1]; q = np.concatenate([[1], sol[dp+1:]])
        Q = sum(q[k]*t**k for k in range(dq+1))
        w = np.abs(f*Q)  # SK reweighting
    P = sum(p[k]*t**k for k in range(dp+1))
    approx = xs * P / Q
    rel = np.max(np.abs(approx - np.array([erf(x) for x in xs])) / np.array([erf(x) for x in xs]))
    return p, q, rel
for dp, dq in [(5,5)]:
    p,q,rel = fit(dp,dq)
    print(dp,dq,rel)
    np.set_printoptions(precision=17); print(repr(p), repr(q))
