"""Throughput of the Gaussian-kernel loops in the clone a build runs (BENCHMARKS.md, "Every CPU").

Build the clone to measure into its own folder and run this script against it:

    pip install --no-build-isolation --no-deps . -Csetup-args=-Dsimd-clones=avx2 \
        -Cbuild-dir=/tmp/build-avx2 --target /tmp/so-avx2
    PYTHONPATH=/tmp/so-avx2 python benchmarks/simd_clones.py

(in an environment where statoptim is not installed in editable mode, which would take
precedence). Prints the clone that ran, the exact propensity kernel's pairs per second at
n = 2000 and 10^4 (one thread, best and median CPU time) and the n = 2000 pipeline time.
"""
import time, sys, numpy as np
import statoptim
from statoptim import kernel_propensity, CensoredQuantileRegressor
from statoptim.datasets import make_censored_quantile
from statoptim.quantile import _propensity
def best(f, k):
    ts=[]
    for _ in range(k):
        t=time.process_time(); f(); ts.append(time.process_time()-t)
    return min(ts), float(np.median(ts))
out={"clone": _propensity.simd_clone(), "file": statoptim.__file__}
for n in (2000, 10000):
    d=make_censored_quantile(n, censoring=0.25, missing=0.3, random_state=0)
    X=np.column_stack([d.y, d.X[:,0]]); c=d.complete
    b,m=best(lambda: kernel_propensity(X, c, method="exact", n_threads=1), 15 if n==2000 else 5)
    out[f"pairs_per_s_n{n}"]=f"{n*n/b:.3g} (best) {n*n/m:.3g} (median)"
d=make_censored_quantile(2000, censoring=0.25, missing=0.3, random_state=0)
b,m=best(lambda: CensoredQuantileRegressor(quantile=0.5).fit(d.X, d.y, event=d.event.astype(np.int64)), 15)
out["pipeline_n2000_ms"]=f"{b*1e3:.1f} (best) {m*1e3:.1f} (median) CPU"
print(out)
