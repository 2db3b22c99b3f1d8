"""Inference for quantile regression: ``QuantileRegressor.summary`` vs R's quantreg.

The reference numbers below come from R 4.x with quantreg 5.94, produced by
``Rscript benchmarks/r_inference.R`` (run from the repository root) on the two
data sets in ``tests/data``:

* ``inference_hetero.csv``: n = 240, y = 2 + 0.8 x1 - 1.5 x2 + (0.5 + 0.3 x1) t_5,
  unweighted;
* ``inference_weighted.csv``: n = 180, three covariates (one binary), skewed
  heteroscedastic errors, weights in [0.25, 3].

Both were written by :func:`make_datasets` (seeded NumPy, rounded to 6 digits,
so R reads exactly the same doubles); ``test_datasets_reproducible`` checks the
files against it. The test suite never runs R.
"""
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats
from sklearn.exceptions import NotFittedError

from statoptim import QuantileRegressor
from statoptim.quantile import QuantileSummary, solve_quantile
from statoptim.quantile._inference import _adaptive_density_at_zero, sparsity_bandwidth

DATA = __import__("pathlib").Path(__file__).parent / "data"


def make_datasets():
    """The two reference data sets, as written to ``tests/data`` (see the docstring)."""
    rng = np.random.default_rng(1301)
    n = 240
    x1 = np.round(rng.uniform(0, 10, n), 6)
    x2 = np.round(rng.standard_normal(n), 6)
    y = np.round(2 + 0.8 * x1 - 1.5 * x2 + (0.5 + 0.3 * x1) * rng.standard_t(5, n), 6)
    hetero = np.column_stack([y, x1, x2])
    rng = np.random.default_rng(1302)
    n = 180
    x1 = np.round(rng.standard_normal(n), 6)
    x2 = np.round(rng.uniform(-2, 2, n), 6)
    x3 = (rng.uniform(size=n) < 0.4).astype(float)
    w = np.round(rng.uniform(0.25, 3.0, n), 3)
    noise = (rng.chisquare(3, n) - 3) * (1 + 0.5 * np.abs(x2))
    y = np.round(1 + x1 - 0.5 * x2 + 0.25 * x3 + noise, 6)
    weighted = np.column_stack([y, x1, x2, x3, w])
    return {"hetero": (hetero, "y,x1,x2"), "weighted": (weighted, "y,x1,x2,x3,w")}


def write_datasets():  # pragma: no cover - run by hand to regenerate tests/data
    for name, (data, header) in make_datasets().items():
        with open(DATA / f"inference_{name}.csv", "w") as fh:
            fh.write(header + "\n")
            fh.writelines(",".join(repr(float(v)) for v in row) + "\n" for row in data)


def load(name):
    """(X, y, w) of a reference data set; w is None for the unweighted one."""
    d = np.loadtxt(DATA / f"inference_{name}.csv", delimiter=",", skiprows=1)
    if name == "hetero":
        return d[:, 1:], d[:, 0], None
    return d[:, 1:4], d[:, 0], d[:, 4]


# R_SUMMARY[(data, tau, se, bandwidth, intercept)] is coef(summary(fit, se = se, hs = hs))
# with hs = (bandwidth == "hall-sheather") and
#   hetero:   fit <- rq(y ~ x1 + x2, tau = tau, data = hetero)                  (intercept)
#             fit <- rq(y ~ x1 + x2 - 1, tau = tau, data = hetero)              (no intercept)
#   weighted: fit <- rq(y ~ x1 + x2 + x3, tau = tau, data = weighted, weights = w)
#             fit <- rq(y ~ x1 + x2 + x3 - 1, tau = tau, data = weighted, weights = w)
# R_AKJ[data] is akj(sort(r), z = 0)$dens with r the residuals (times w) of the
# median fit (hetero) and of the weighted tau = 0.75 fit (weighted).
# R_BOOT[(data, tau, bsmethod)] is coef(summary(fit, se = "boot", bsmethod = bsmethod,
# R = 20000))[, 2] after set.seed(20240613).
# R_RANK[(data, tau, intercept, alpha)] is coef(summary(fit, se = "rank", alpha = alpha)).
# R_RANK_TEST[(data, tau)] is, for each coefficient in turn (intercept first),
# anova(fit, reduced, test = "rank", score = "tau")$table$pvalue with `reduced` the fit
# without that term (for the intercept: the formula with "- 1").

R_SUMMARY = {
    ("hetero", 0.5, "iid", "hall-sheather", True): {
        "coef": [2.05974325058, 0.776652347856, -1.53069573926],
        "bse": [0.259816845479, 0.0459915938057, 0.136078494469],
        "tvalues": [7.92767399969, 16.886832649, -11.2486234158],
        "pvalues": [8.74855743405e-14, 0, 0],
    },
    ("hetero", 0.5, "iid", "bofinger", True): {
        "coef": [2.05974325058, 0.776652347856, -1.53069573926],
        "bse": [0.278062558564, 0.0492213667765, 0.145634646082],
        "tvalues": [7.40748147187, 15.7787643602, -10.5105191686],
        "pvalues": [2.2495338925e-12, 0, 0],
    },
    ("hetero", 0.5, "nid", "hall-sheather", True): {
        "coef": [2.05974325058, 0.776652347856, -1.53069573926],
        "bse": [0.21455620252, 0.0585355711286, 0.135149464525],
        "tvalues": [9.6000172747, 13.2680408319, -11.3259474956],
        "pvalues": [0, 0, 0],
    },
    ("hetero", 0.5, "nid", "bofinger", True): {
        "coef": [2.05974325058, 0.776652347856, -1.53069573926],
        "bse": [0.214439444972, 0.0608412680336, 0.137573298095],
        "tvalues": [9.60524427234, 12.7652228982, -11.1264014199],
        "pvalues": [0, 0, 0],
    },
    ("hetero", 0.5, "ker", "hall-sheather", True): {
        "coef": [2.05974325058, 0.776652347856, -1.53069573926],
        "bse": [0.297451939377, 0.0694412288676, 0.191296232558],
        "tvalues": [6.92462538619, 11.1843116909, -8.00170352964],
        "pvalues": [4.07425204685e-11, 0, 5.46229728116e-14],
    },
    ("hetero", 0.5, "ker", "bofinger", True): {
        "coef": [2.05974325058, 0.776652347856, -1.53069573926],
        "bse": [0.374397637395, 0.0818112626193, 0.229489070696],
        "tvalues": [5.50148570625, 9.49322040745, -6.67001585139],
        "pvalues": [9.74219502847e-08, 0, 1.78646653026e-10],
    },
    ("hetero", 0.25, "iid", "hall-sheather", True): {
        "coef": [1.74830787181, 0.558175881086, -1.66900982665],
        "bse": [0.162855084444, 0.0288278647951, 0.0852949879633],
        "tvalues": [10.7353594625, 19.3623733514, -19.5675017548],
        "pvalues": [0, 0, 0],
    },
    ("hetero", 0.25, "iid", "bofinger", True): {
        "coef": [1.74830787181, 0.558175881086, -1.66900982665],
        "bse": [0.183799268823, 0.0325353088555, 0.0962644579102],
        "tvalues": [9.51205020022, 17.1560037609, -17.3377574952],
        "pvalues": [0, 0, 0],
    },
    ("hetero", 0.25, "nid", "hall-sheather", True): {
        "coef": [1.74830787181, 0.558175881086, -1.66900982665],
        "bse": [0.152787720783, 0.0583424591932, 0.112424394068],
        "tvalues": [11.4427249968, 9.5672326605, -14.845619943],
        "pvalues": [0, 0, 0],
    },
    ("hetero", 0.25, "nid", "bofinger", True): {
        "coef": [1.74830787181, 0.558175881086, -1.66900982665],
        "bse": [0.158572826145, 0.0633954853492, 0.117705846196],
        "tvalues": [11.0252677859, 8.80466295055, -14.1794981353],
        "pvalues": [0, 4.4408920985e-16, 0],
    },
    ("hetero", 0.25, "ker", "hall-sheather", True): {
        "coef": [1.74830787181, 0.558175881086, -1.66900982665],
        "bse": [0.297860600633, 0.0764608875145, 0.18358401538],
        "tvalues": [5.86955061561, 7.30014912501, -9.09125897044],
        "pvalues": [1.46473602136e-08, 4.32676117157e-12, 0],
    },
    ("hetero", 0.25, "ker", "bofinger", True): {
        "coef": [1.74830787181, 0.558175881086, -1.66900982665],
        "bse": [0.346892903158, 0.0814310909368, 0.212802939461],
        "tvalues": [5.03990671442, 6.85457943231, -7.84298295353],
        "pvalues": [9.24571579297e-07, 6.14006623323e-11, 1.49658063719e-13],
    },
    ("hetero", 0.9, "iid", "hall-sheather", True): {
        "coef": [3.10160635697, 1.16477472391, -1.79872168707],
        "bse": [0.470405225791, 0.0832689890788, 0.246373689889],
        "tvalues": [6.59347768034, 13.9880973312, -7.30078641058],
        "pvalues": [2.76664469112e-10, 0, 4.30988578159e-12],
    },
    ("hetero", 0.9, "iid", "bofinger", True): {
        "coef": [3.10160635697, 1.16477472391, -1.79872168707],
        "bse": [0.494644017555, 0.0875596295224, 0.25906870312],
        "tvalues": [6.27038081306, 13.30264564, -6.94302964968],
        "pvalues": [1.69016489693e-09, 0, 3.65645291822e-11],
    },
    ("hetero", 0.9, "nid", "hall-sheather", True): {
        "coef": [3.10160635697, 1.16477472391, -1.79872168707],
        "bse": [0.404343523612, 0.108704509735, 0.257739338006],
        "tvalues": [7.67072099799, 10.7150542949, -6.9788403314],
        "pvalues": [4.41868763801e-13, 0, 2.96076496653e-11],
    },
    ("hetero", 0.9, "nid", "bofinger", True): {
        "coef": [3.10160635697, 1.16477472391, -1.79872168707],
        "bse": [0.371059779925, 0.104838230989, 0.239644564022],
        "tvalues": [8.35877808582, 11.1102096336, -7.5057896448],
        "pvalues": [5.3290705182e-15, 0, 1.22968302207e-12],
    },
    ("hetero", 0.9, "ker", "hall-sheather", True): {
        "coef": [3.10160635697, 1.16477472391, -1.79872168707],
        "bse": [0.317576057809, 0.0970978453252, 0.174613478189],
        "tvalues": [9.76649933365, 11.9958864175, -10.3011617758],
        "pvalues": [0, 0, 0],
    },
    ("hetero", 0.9, "ker", "bofinger", True): {
        "coef": [3.10160635697, 1.16477472391, -1.79872168707],
        "bse": [0.323286361444, 0.0959143414879, 0.180729093986],
        "tvalues": [9.59399073662, 12.1439057584, -9.95258509516],
        "pvalues": [0, 0, 0],
    },
    ("hetero", 0.5, "iid", "hall-sheather", False): {
        "coef": [1.12723820416, -1.46995291105],
        "bse": [0.0431423285211, 0.245838473745],
        "tvalues": [26.1283579909, -5.97934443969],
        "pvalues": [0, 8.14594658394e-09],
    },
    ("hetero", 0.5, "iid", "bofinger", False): {
        "coef": [1.12723820416, -1.46995291105],
        "bse": [0.0415018874606, 0.236490727798],
        "tvalues": [27.1611310506, -6.21568940456],
        "pvalues": [0, 2.26930785274e-09],
    },
    ("hetero", 0.5, "nid", "hall-sheather", False): {
        "coef": [1.12723820416, -1.46995291105],
        "bse": [0.0461126158287, 0.0469456935455],
        "tvalues": [24.4453320182, -31.3117732434],
        "pvalues": [0, 0],
    },
    ("hetero", 0.5, "nid", "bofinger", False): {
        "coef": [1.12723820416, -1.46995291105],
        "bse": [0.0455962803686, 0.0464878302749],
        "tvalues": [24.7221526635, -31.6201660168],
        "pvalues": [0, 0],
    },
    ("hetero", 0.5, "ker", "hall-sheather", False): {
        "coef": [1.12723820416, -1.46995291105],
        "bse": [0.0488976513862, 0.259591368864],
        "tvalues": [23.0530132267, -5.66256465876],
        "pvalues": [0, 4.27941018177e-08],
    },
    ("hetero", 0.5, "ker", "bofinger", False): {
        "coef": [1.12723820416, -1.46995291105],
        "bse": [0.0562619113741, 0.295384595181],
        "tvalues": [20.0355476135, -4.97640342466],
        "pvalues": [0, 1.24261121148e-06],
    },
    ("weighted", 0.5, "iid", "hall-sheather", True): {
        "coef": [0.625640702483, 1.48554286076, -0.420925652743, -0.191537169681],
        "bse": [0.187661721626, 0.170015657795, 0.127180437061, 0.318843198263],
        "tvalues": [3.33387489501, 8.73768263483, -3.3096729534, -0.600725280402],
        "pvalues": [0.00104422839291, 1.7763568394e-15, 0.00113297121379, 0.548795792405],
    },
    ("weighted", 0.5, "iid", "bofinger", True): {
        "coef": [0.625640702483, 1.48554286076, -0.420925652743, -0.191537169681],
        "bse": [0.205205639176, 0.185909899075, 0.139070145215, 0.34865086886],
        "tvalues": [3.04884751215, 7.99066035834, -3.0267146992, -0.549366678211],
        "pvalues": [0.0026518845273, 1.69642078163e-13, 0.00284341455434, 0.583450202822],
    },
    ("weighted", 0.5, "nid", "hall-sheather", True): {
        "coef": [0.625640702483, 1.48554286076, -0.420925652743, -0.191537169681],
        "bse": [0.553788464589, 0.374142618414, 0.301863527711, 0.667613944372],
        "tvalues": [1.12974672188, 3.97052564356, -1.39442368522, -0.286898096266],
        "pvalues": [0.260120319343, 0.000104368190418, 0.164947367472, 0.774527824163],
    },
    ("weighted", 0.5, "nid", "bofinger", True): {
        "coef": [0.625640702483, 1.48554286076, -0.420925652743, -0.191537169681],
        "bse": [0.554059274456, 0.444296582538, 0.35992766017, 0.802749674368],
        "tvalues": [1.12919453085, 3.34358381124, -1.16947292282, -0.238601367022],
        "pvalues": [0.260352500934, 0.00101048620072, 0.243794500471, 0.811692292951],
    },
    ("weighted", 0.5, "ker", "hall-sheather", True): {
        "coef": [0.625640702483, 1.48554286076, -0.420925652743, -0.191537169681],
        "bse": [0.625221809612, 0.621015296367, 0.44566150551, 0.870455768792],
        "tvalues": [1.00066999082, 2.39211959746, -0.944496321848, -0.220042392213],
        "pvalues": [0.318360177721, 0.0178048449872, 0.346210875128, 0.826093158624],
    },
    ("weighted", 0.5, "ker", "bofinger", True): {
        "coef": [0.625640702483, 1.48554286076, -0.420925652743, -0.191537169681],
        "bse": [0.638044799007, 0.611486457785, 0.448933620768, 0.948703984412],
        "tvalues": [0.98055920753, 2.42939617362, -0.937612228781, -0.201893501902],
        "pvalues": [0.328156120583, 0.0161291198414, 0.349728586307, 0.840233150636],
    },
    ("weighted", 0.3, "iid", "hall-sheather", True): {
        "coef": [-1.5631787693, 1.73188080665, -0.319174849815, 0.716485116061],
        "bse": [0.109829511151, 0.0995021063533, 0.0744326818993, 0.186603811879],
        "tvalues": [-14.2327754437, 17.4054687898, -4.28810089426, 3.83960600186],
        "pvalues": [0, 0, 2.96500510113e-05, 0.000171722363263],
    },
    ("weighted", 0.3, "iid", "bofinger", True): {
        "coef": [-1.5631787693, 1.73188080665, -0.319174849815, 0.716485116061],
        "bse": [0.142606371863, 0.129196918306, 0.0966459251476, 0.242292734521],
        "tvalues": [-10.9614931569, 13.4049699433, -3.30251740389, 2.95710524493],
        "pvalues": [0, 0, 0.0011605261229, 0.00353187587094],
    },
    ("weighted", 0.3, "nid", "hall-sheather", True): {
        "coef": [-1.5631787693, 1.73188080665, -0.319174849815, 0.716485116061],
        "bse": [0.340910314053, 0.300098969907, 0.241818004783, 0.628360071354],
        "tvalues": [-4.58530793838, 5.77103216045, -1.31989696177, 1.14024609253],
        "pvalues": [8.5747378189e-06, 3.48485595936e-08, 0.188583595582, 0.255733098751],
    },
    ("weighted", 0.3, "nid", "bofinger", True): {
        "coef": [-1.5631787693, 1.73188080665, -0.319174849815, 0.716485116061],
        "bse": [0.450115755407, 0.356992996513, 0.274313791701, 0.638654513186],
        "tvalues": [-3.47283726581, 4.85130191228, -1.16353920026, 1.1218665198],
        "pvalues": [0.000648123868407, 2.68827290029e-06, 0.246185802735, 0.263447433629],
    },
    ("weighted", 0.3, "ker", "hall-sheather", True): {
        "coef": [-1.5631787693, 1.73188080665, -0.319174849815, 0.716485116061],
        "bse": [0.473409371954, 0.550204105653, 0.305856535918, 0.745430988656],
        "tvalues": [-3.30195991442, 3.14770607645, -1.0435443168, 0.961168943825],
        "pvalues": [0.0011626989482, 0.00193311395507, 0.298127495654, 0.33778586708],
    },
    ("weighted", 0.3, "ker", "bofinger", True): {
        "coef": [-1.5631787693, 1.73188080665, -0.319174849815, 0.716485116061],
        "bse": [0.53233904399, 0.595086034927, 0.339911433978, 0.829249956457],
        "tvalues": [-2.93643456544, 2.91030322509, -0.938994155269, 0.864015862144],
        "pvalues": [0.00376400372217, 0.00407745075997, 0.349020604782, 0.388755168514],
    },
    ("weighted", 0.75, "iid", "hall-sheather", True): {
        "coef": [3.39397024107, 1.51284140194, 0.0989788585657, -0.186120987431],
        "bse": [0.366895916949, 0.33239624001, 0.248649445765, 0.623367762888],
        "tvalues": [9.2504988044, 4.55131923842, 0.398065872462, -0.298573327835],
        "pvalues": [0, 9.91157017149e-06, 0.691064066806, 0.765617839095],
    },
    ("weighted", 0.75, "iid", "bofinger", True): {
        "coef": [3.39397024107, 1.51284140194, 0.0989788585657, -0.186120987431],
        "bse": [0.365808106074, 0.331410717338, 0.24791222423, 0.621519537819],
        "tvalues": [9.27800719754, 4.56485358738, 0.399249608901, -0.299461201306],
        "pvalues": [0, 9.35678859726e-06, 0.690193329873, 0.764941517185],
    },
    ("weighted", 0.75, "nid", "hall-sheather", True): {
        "coef": [3.39397024107, 1.51284140194, 0.0989788585657, -0.186120987431],
        "bse": [0.568199483425, 0.430256937336, 0.386835407195, 0.928871513659],
        "tvalues": [5.9732019125, 3.51613482703, 0.255868146309, -0.200373232136],
        "pvalues": [1.25700867493e-08, 0.00055695949099, 0.79835145246, 0.841420040111],
    },
    ("weighted", 0.75, "nid", "bofinger", True): {
        "coef": [3.39397024107, 1.51284140194, 0.0989788585657, -0.186120987431],
        "bse": [0.548318194297, 0.45154233542, 0.373983700458, 1.02259162909],
        "tvalues": [6.18978227675, 3.35038662661, 0.264660888815, -0.182009105234],
        "pvalues": [4.11736333916e-09, 0.000987453273921, 0.791580395776, 0.855785041139],
    },
    ("weighted", 0.75, "ker", "hall-sheather", True): {
        "coef": [3.39397024107, 1.51284140194, 0.0989788585657, -0.186120987431],
        "bse": [0.61296926013, 0.480032946171, 0.530570201074, 1.08872615603],
        "tvalues": [5.53693384291, 3.15153660599, 0.18655186131, -0.170952986111],
        "pvalues": [1.10375965701e-07, 0.00190928687854, 0.852226869664, 0.864457110189],
    },
    ("weighted", 0.75, "ker", "bofinger", True): {
        "coef": [3.39397024107, 1.51284140194, 0.0989788585657, -0.186120987431],
        "bse": [0.661681349654, 0.534243320721, 0.554029425175, 1.13406410854],
        "tvalues": [5.12931223292, 2.83174602894, 0.178652710611, -0.164118576744],
        "pvalues": [7.6226414647e-07, 0.00516907662054, 0.858415884913, 0.869826120649],
    },
    ("weighted", 0.75, "iid", "hall-sheather", False): {
        "coef": [0.714525616258, -0.414336795443, 2.90852429687],
        "bse": [0.202884820714, 0.150217631411, 0.308915612398],
        "tvalues": [3.52182885711, -2.75824343355, 9.41527129139],
        "pvalues": [0.000545195091476, 0.00642165360206, 0],
    },
    ("weighted", 0.75, "iid", "bofinger", False): {
        "coef": [0.714525616258, -0.414336795443, 2.90852429687],
        "bse": [0.203974921791, 0.151024751438, 0.310575417408],
        "tvalues": [3.50300718335, -2.74350258152, 9.36495335382],
        "pvalues": [0.00058249391269, 0.00670461038064, 0],
    },
    ("weighted", 0.75, "nid", "hall-sheather", False): {
        "coef": [0.714525616258, -0.414336795443, 2.90852429687],
        "bse": [0.23859341975, 0.0995137651969, 1.05167497438],
        "tvalues": [2.99474150212, -4.16361288937, 2.76561139869],
        "pvalues": [0.00314034303517, 4.88533118936e-05, 0.00628432315445],
    },
    ("weighted", 0.75, "nid", "bofinger", False): {
        "coef": [0.714525616258, -0.414336795443, 2.90852429687],
        "bse": [0.194231222766, 0.0752888783146, 0.907563369448],
        "tvalues": [3.67873715709, -5.50329351053, 3.2047616671],
        "pvalues": [0.000310804012661, 1.29111411784e-07, 0.00160366073618],
    },
    ("weighted", 0.75, "ker", "hall-sheather", False): {
        "coef": [0.714525616258, -0.414336795443, 2.90852429687],
        "bse": [0.465983918, 0.438481210209, 0.895370973911],
        "tvalues": [1.53336969079, -0.944936261341, 3.24840136839],
        "pvalues": [0.126970256158, 0.345979536395, 0.00138868121647],
    },
    ("weighted", 0.75, "ker", "bofinger", False): {
        "coef": [0.714525616258, -0.414336795443, 2.90852429687],
        "bse": [0.487569046854, 0.439261936876, 0.908406347163],
        "tvalues": [1.46548600833, -0.943256769275, 3.20178773073],
        "pvalues": [0.144562502257, 0.346835296943, 0.00161938150266],
    },
}

R_AKJ = {
    "hetero": 0.240771504625,
    "weighted": 0.0686387072035,
}

R_BOOT = {
    ("hetero", 0.5, "xy"): [0.200667457278, 0.0584166597418, 0.12214860305],
    ("hetero", 0.5, "wild"): [0.185145796228, 0.056724826935, 0.113177859922],
    ("weighted", 0.75, "xy"): [0.560046249043, 0.475161985205, 0.47896238592, 1.03801693935],
    ("weighted", 0.75, "wild"): [0.546693701492, 0.397460029408, 0.47809149284, 0.937152313008],
}


R_RANK = {
    ("hetero", 0.5, True, 0.05): {
        "coef": [2.05974325058, 0.776652347856, -1.53069573926],
        "lower": [1.84232117178, 0.677834651675, -1.75982661821],
        "upper": [2.44607683836, 0.857069604096, -1.3622443849],
    },
    ("hetero", 0.25, True, 0.1): {
        "coef": [1.74830787181, 0.558175881086, -1.66900982665],
        "lower": [1.56910503022, 0.501637402166, -1.76861074027],
        "upper": [1.91466518871, 0.615588050159, -1.42945887603],
    },
    ("hetero", 0.9, True, 0.05): {
        "coef": [3.10160635697, 1.16477472391, -1.79872168707],
        "lower": [2.53484039716, 0.920939508059, -2.08210360402],
        "upper": [3.97259755561, 1.35583223056, -1.58575469448],
    },
    ("hetero", 0.5, False, 0.05): {
        "coef": [1.12723820416, -1.46995291105],
        "lower": [1.04428727604, -1.98644237043],
        "upper": [1.19215688356, -0.962136470087],
    },
    ("weighted", 0.5, True, 0.05): {
        "coef": [0.625640702483, 1.48554286076, -0.420925652743, -0.191537169681],
        "lower": [-0.823561112512, 0.590710588869, -1.01323505493, -0.960278684703],
        "upper": [1.58268378455, 2.48290598998, 0.642671439945, 1.43580287847],
    },
    ("weighted", 0.75, True, 0.05): {
        "coef": [3.39397024107, 1.51284140194, 0.0989788585657, -0.186120987431],
        "lower": [2.22531351045, 0.900411567008, -0.68038592314, -2.76665245082],
        "upper": [4.14826960295, 2.34844053937, 1.01070193836, 1.3067693928],
    },
    ("weighted", 0.3, True, 0.1): {
        "coef": [-1.5631787693, 1.73188080665, -0.319174849815, 0.716485116061],
        "lower": [-1.9047423351, 0.548103872893, -0.918412698089, -0.239998601961],
        "upper": [-1.09348622954, 2.17121264907, 0.00397787955203, 1.66019871946],
    },
    ("weighted", 0.75, False, 0.05): {
        "coef": [0.714525616258, -0.414336795443, 2.90852429687],
        "lower": [0.302662819346, -1.14065610938, 1.11722907776],
        "upper": [1.90241761788, 0.672042030443, 5.37629142177],
    },
}

R_RANK_TEST = {
    ("hetero", 0.25): [1.58019704655e-07, 6.2172489379e-15, 1.80990111787e-10],
    ("weighted", 0.75): [9.94586635272e-11, 0.000128892231251, 0.587672046633, 0.646789459582],
}

# R warns "k non-positive fis" in these cases, with the same k as here
NONPOSITIVE_FIS = {("hetero", 0.25, True): 1, ("weighted", 0.75, False): 53}


def fitted(name, tau, intercept=True):
    X, y, w = load(name)
    model = QuantileRegressor(quantile=tau, fit_intercept=intercept).fit(X, y, sample_weight=w)
    return model, X, y, w


@pytest.mark.parametrize("key", sorted(R_SUMMARY, key=str), ids=str)
def test_matches_r_summary_rq(key):
    name, tau, se, bandwidth, intercept = key
    ref = R_SUMMARY[key]
    model, X, y, w = fitted(name, tau, intercept)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = model.summary(X, y, w, se=se, bandwidth=bandwidth)
    messages = [str(c.message) for c in caught]
    if se == "nid" and (name, tau, intercept) in NONPOSITIVE_FIS:
        assert len(messages) == 1 and "non-positive density" in messages[0]
        if bandwidth == "hall-sheather":
            assert messages[0].startswith(
                f"summary(se='nid'): {NONPOSITIVE_FIS[name, tau, intercept]} of")
    else:
        assert messages == []
    np.testing.assert_allclose(res.coef, ref["coef"], rtol=1e-9)
    np.testing.assert_allclose(res.bse, ref["bse"], rtol=1e-6)
    np.testing.assert_allclose(res.tvalues, ref["tvalues"], rtol=1e-6)
    # R computes 2 (1 - pt(|t|)), which is 0 below about 1e-15; p-values are
    # more sensitive than bse (relative error ~ t^2 times that of bse)
    np.testing.assert_allclose(res.pvalues, ref["pvalues"], rtol=2e-5, atol=1e-13)
    assert res.se == se and res.quantile == tau and res.alpha == 0.05
    assert res.coef.shape == res.bse.shape == (X.shape[1] + intercept,)
    assert res.conf_int.shape == (X.shape[1] + intercept, 2)


def test_nid_differs_from_ker_and_iid():
    # the three analytic methods are different estimators (guards against one
    # code path silently serving several names)
    model, X, y, w = fitted("weighted", 0.5)
    bse = [model.summary(X, y, w, se=se).bse for se in ("iid", "nid", "ker")]
    assert not np.allclose(bse[0], bse[1], rtol=1e-3)
    assert not np.allclose(bse[1], bse[2], rtol=1e-3)


def test_bandwidth_rules():
    # Koenker (2005) eq. 3.17-3.18 at the median: HS n^(-1/3) z^(2/3) (1.5 phi(0)^2)^(1/3)
    z, phi0 = stats.norm.ppf(0.975), stats.norm.pdf(0.0)
    for n in (10, 240, 10**6):
        assert sparsity_bandwidth(0.5, n) == pytest.approx(
            n ** (-1 / 3) * z ** (2 / 3) * (1.5 * phi0**2) ** (1 / 3), rel=1e-14)
        assert sparsity_bandwidth(0.5, n, "bofinger") == pytest.approx(
            n**-0.2 * (4.5 * phi0**4) ** 0.2, rel=1e-14)
    # symmetric in tau <-> 1 - tau
    assert sparsity_bandwidth(0.1, 500) == pytest.approx(sparsity_bandwidth(0.9, 500), rel=1e-12)


def test_bandwidth_used_and_halved():
    model, X, y, _ = fitted("hetero", 0.5)
    res = model.summary(X, y, se="nid")
    assert res.bandwidth == pytest.approx(sparsity_bandwidth(0.5, 240))
    assert res.bandwidth_rule == "hall-sheather"
    # a user bandwidth of 0.6 leaves (0, 1) at tau = 0.5: halved once, to 0.3
    res = model.summary(X, y, se="ker", bandwidth=0.6)
    assert res.bandwidth == 0.3 and res.bandwidth_rule == "user"
    # same answer as giving 0.3 directly
    np.testing.assert_allclose(res.bse, model.summary(X, y, se="ker", bandwidth=0.3).bse,
                               rtol=1e-14)
    # the iid band is a band of ranks: no halving
    assert model.summary(X, y, se="iid", bandwidth=0.6).bandwidth == 0.6


@pytest.mark.parametrize("se", ["iid", "nid", "ker"])
def test_invariant_to_weight_scale_equivariant_in_y(se):
    # R's convention (rows and residuals times w) makes the covariance
    # invariant to scaling all weights; coefficients and bse scale with y
    model, X, y, w = fitted("weighted", 0.3)
    base = model.summary(X, y, w, se=se)
    scaled = model.summary(X, y, 7.5 * w, se=se)
    np.testing.assert_allclose(scaled.bse, base.bse, rtol=1e-9)
    c = 2.0**-20 * 3.0  # tiny units of y must not change the method
    m2 = QuantileRegressor(0.3).fit(X, c * y, sample_weight=w)
    np.testing.assert_allclose(m2.summary(X, c * y, w, se=se).bse, c * base.bse, rtol=1e-9)


@pytest.mark.parametrize("se", ["iid", "nid", "ker", "boot"])
def test_zero_weight_rows_are_dropped(se):
    model, X, y, w = fitted("weighted", 0.5)
    X2 = np.vstack([X, X[:5] + 100.0])
    y2 = np.concatenate([y, y[:5] - 500.0])
    w2 = np.concatenate([w, np.zeros(5)])
    model2 = QuantileRegressor(0.5).fit(X2, y2, sample_weight=w2)
    a = model.summary(X, y, w, se=se, random_state=3)
    b = model2.summary(X2, y2, w2, se=se, random_state=3)
    assert a.nobs == b.nobs == 180
    np.testing.assert_allclose(b.bse, a.bse, rtol=1e-9)


def test_several_quantiles_shapes_and_rows():
    X, y, _ = load("hetero")
    qs = [0.25, 0.5, 0.9]
    model = QuantileRegressor(quantile=qs).fit(X, y)
    for se in ("iid", "ker", "boot"):
        res = model.summary(X, y, se=se, random_state=0)
        assert res.coef.shape == res.bse.shape == res.tvalues.shape == (3, 3)
        assert res.pvalues.shape == (3, 3) and res.conf_int.shape == (3, 3, 2)
        assert res.cov.shape == (3, 3, 3)
        np.testing.assert_array_equal(res.quantile, qs)
        for j, q in enumerate(qs):
            single = QuantileRegressor(q).fit(X, y).summary(X, y, se=se, random_state=0)
            np.testing.assert_allclose(res.coef[j], single.coef, rtol=1e-9)
            if se != "boot":  # the bootstrap draws continue across quantiles
                np.testing.assert_allclose(res.bse[j], single.bse, rtol=1e-9)
    frame = res.to_frame()
    assert frame.shape == (9, 6)
    assert list(frame.index.get_level_values(0)) == [0.25] * 3 + [0.5] * 3 + [0.9] * 3


def test_no_intercept_shapes():
    model, X, y, _ = fitted("hetero", 0.5, intercept=False)
    res = model.summary(X, y, se="ker")
    assert res.coef.shape == (2,) and res.conf_int.shape == (2, 2)
    assert res.names == ["x1", "x2"]
    np.testing.assert_allclose(res.coef, model.coef_)


@pytest.mark.parametrize("alpha", [0.01, 0.05, 0.2])
def test_conf_int_pvalues_from_t(alpha):
    model, X, y, w = fitted("weighted", 0.75)
    res = model.summary(X, y, w, se="ker", alpha=alpha)
    df = 180 - 4
    assert res.df_resid == df
    crit = stats.t.ppf(1 - alpha / 2, df)
    np.testing.assert_allclose(res.conf_int[:, 0], res.coef - crit * res.bse, rtol=1e-12)
    np.testing.assert_allclose(res.conf_int[:, 1], res.coef + crit * res.bse, rtol=1e-12)
    np.testing.assert_allclose(res.pvalues, 2 * stats.t.sf(np.abs(res.coef / res.bse), df))
    np.testing.assert_allclose(res.bse, np.sqrt(np.diag(res.cov)))
    # a coefficient is significant at level alpha iff its interval excludes 0
    excl = (res.conf_int[:, 0] > 0) | (res.conf_int[:, 1] < 0)
    np.testing.assert_array_equal(excl, res.pvalues < alpha)


def test_table_and_frame():
    import pandas as pd

    X, y, _ = load("hetero")
    Xf = pd.DataFrame(X, columns=["dose", "age"])
    model = QuantileRegressor(0.5).fit(Xf, y)
    res = model.summary(Xf, y, se="nid", alpha=0.1)
    text = str(res)
    for token in ("coef", "std err", "P>|t|", "[0.05", "0.95]", "intercept", "dose", "age",
                  "nid", "No. observations:   240"):
        assert token in text
    # the table shows the numbers
    assert f"{res.coef[1]:.4f}" in text and f"{res.bse[2]:.4f}" in text
    frame = res.to_frame()
    assert list(frame.columns) == ["coef", "std err", "t", "P>|t|", "[0.05", "0.95]"]
    assert list(frame.index) == ["intercept", "dose", "age"]
    np.testing.assert_array_equal(frame["std err"].to_numpy(), res.bse)
    np.testing.assert_array_equal(frame[["[0.05", "0.95]"]].to_numpy(), res.conf_int)
    assert isinstance(res, QuantileSummary) and "se='nid'" in repr(res)


def test_to_frame_without_pandas(monkeypatch):
    model, X, y, _ = fitted("hetero", 0.5)
    res = model.summary(X, y, se="iid")
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match="to_frame needs pandas"):
        res.to_frame()


# --------------------------------------------------------------------------
# bootstrap
# --------------------------------------------------------------------------
def test_adaptive_density_matches_r_akj():
    model, X, y, _ = fitted("hetero", 0.5)
    assert _adaptive_density_at_zero(y - model.predict(X)) == pytest.approx(
        R_AKJ["hetero"], rel=1e-6)  # akj uses pi = 3.141593: 5e-8 apart
    model, X, y, w = fitted("weighted", 0.75)
    assert _adaptive_density_at_zero(w * (y - model.predict(X))) == pytest.approx(
        R_AKJ["weighted"], rel=1e-6)


@pytest.mark.parametrize("key", sorted(R_BOOT), ids=str)
def test_bootstrap_matches_r_within_monte_carlo_error(key):
    name, tau, kind = key
    model, X, y, w = fitted(name, tau)
    n_boot = 1000
    res = model.summary(X, y, w, se="boot", bootstrap=kind, n_boot=n_boot, random_state=11)
    assert res.replicates.shape == (n_boot, X.shape[1] + 1)
    np.testing.assert_allclose(res.bse, res.replicates.std(axis=0, ddof=1), rtol=1e-12)
    # Monte Carlo standard error of a standard deviation from B draws:
    # sd * sqrt((kurtosis - 1) / (4 B)), for ours and R's 20000 replicates
    kurt = stats.kurtosis(res.replicates, axis=0, fisher=False)
    mc = np.sqrt((kurt - 1) / 4 * (1 / n_boot + 1 / 20000))
    rel = res.bse / np.array(R_BOOT[key]) - 1
    assert np.all(np.abs(rel) < 4 * mc), (rel, mc)


def test_bootstrap_reproducible_and_thread_independent():
    model, X, y, w = fitted("weighted", 0.5)
    for kind in ("xy", "wild"):
        a = model.summary(X, y, w, se="boot", bootstrap=kind, n_boot=50, random_state=5)
        b = model.summary(X, y, w, se="boot", bootstrap=kind, n_boot=50, random_state=5,
                          n_threads=2)
        c = model.summary(X, y, w, se="boot", bootstrap=kind, n_boot=50, random_state=6)
        np.testing.assert_array_equal(a.replicates, b.replicates)
        assert not np.array_equal(a.replicates, c.replicates)
        assert a.bootstrap == kind and a.bandwidth is None


def test_xy_bootstrap_replicate_is_exact_fit_of_resample():
    # replicate b is the exact weighted fit of the rows drawn by its generator
    model, X, y, w = fitted("weighted", 0.3)
    res = model.summary(X, y, w, se="boot", n_boot=3, random_state=8)
    gens = np.random.default_rng(8).spawn(3)
    Z = np.column_stack([np.ones(len(y)), X])
    for g, rep in zip(gens, res.replicates):
        idx = g.integers(0, len(y), len(y))
        sol = solve_quantile(Z[idx], y[idx], w[idx], 0.3)
        obj = np.sum(w[idx] * np.maximum(0.3 * (y[idx] - Z[idx] @ rep),
                                         -0.7 * (y[idx] - Z[idx] @ rep)))
        assert obj == pytest.approx(sol.objective, rel=1e-9)


# --------------------------------------------------------------------------
# rank inversion
# --------------------------------------------------------------------------
@pytest.mark.parametrize("key", sorted(R_RANK, key=str), ids=str)
def test_rank_intervals_match_r(key):
    name, tau, intercept, alpha = key
    model, X, y, w = fitted(name, tau, intercept)
    res = model.summary(X, y, w, se="rank", alpha=alpha)
    np.testing.assert_allclose(res.coef, R_RANK[key]["coef"], rtol=1e-9)
    np.testing.assert_allclose(res.conf_int[:, 0], R_RANK[key]["lower"], rtol=1e-8)
    np.testing.assert_allclose(res.conf_int[:, 1], R_RANK[key]["upper"], rtol=1e-8)
    assert np.all(np.isnan(res.bse)) and np.all(np.isnan(res.cov))
    assert res.se == "rank" and res.bandwidth is None


@pytest.mark.parametrize("key", sorted(R_RANK_TEST), ids=str)
def test_rank_test_pvalues_match_r_anova(key):
    model, X, y, w = fitted(*key)
    res = model.summary(X, y, w, se="rank")
    # R computes 1 - pf(T^2, 1, n - p): tiny p-values lose digits there
    np.testing.assert_allclose(res.pvalues, R_RANK_TEST[key], rtol=1e-6, atol=1e-13)


def test_rank_bounds_are_where_the_test_flips():
    # independent of the parametric walk: the exact restricted fit just inside
    # and just outside each bound, and the rank statistic there
    from statoptim.quantile._rank_inversion import _Restricted

    model, X, y, w = fitted("weighted", 0.3)
    res = model.summary(X, y, w, se="rank", alpha=0.1)
    Z = np.column_stack([np.ones(len(y)), X])
    solver = {"tol": 1e-5, "max_iter": 1000, "max_pivots": None, "preprocess": False}
    crit = stats.t.ppf(0.95, len(y) - 4)
    Zt = w[:, None] * Z
    qn = 1 / np.diag(np.linalg.inv(Zt.T @ Zt))
    for j in range(4):
        fit = _Restricted(np.delete(Z, j, axis=1), Z[:, j], y, w, 0.3, solver)
        scale = np.sqrt(qn[j] * 0.3 * 0.7)

        def stat(b, fit=fit, scale=scale):
            return float(fit.c @ fit.probe(b, 1.0)[1][0]) / scale

        lo, hi = res.conf_int[j]
        width = hi - lo
        # the walk stops at the FIRST b where the test rejects (T is a step
        # function and need not be monotone): inside on the way out ...
        for b in np.linspace(res.coef[j], hi, 12, endpoint=False):
            assert abs(stat(b)) < crit
        for b in np.linspace(res.coef[j], lo, 12, endpoint=False):
            assert abs(stat(b)) < crit
        # ... and rejecting soon after the bound (within the interpolated step)
        assert max(abs(stat(b)) for b in hi + width * np.linspace(1e-3, 0.1, 12)) >= crit
        assert max(abs(stat(b)) for b in lo - width * np.linspace(1e-3, 0.1, 12)) >= crit



def test_rank_bounds_on_tied_data():
    # one-decimal data: residuals cross zero together and rows stay tied
    # (the walk's multi-row pivots and always-zero rows); the bounds still
    # sit where exact fits at fixed b say the test starts to reject
    from statoptim.quantile._rank_inversion import _Restricted

    rng = np.random.default_rng(4)
    n = 40
    X = np.round(rng.standard_normal((n, 2)), 1)
    X[:, 1] = rng.integers(0, 4, n)
    y = np.round(1 + X @ [1.0, -1.0] + rng.standard_t(3, n), 1)
    model = QuantileRegressor(0.65).fit(X, y)
    res = model.summary(X, y, se="rank")
    Z = np.column_stack([np.ones(n), X])
    qn = 1 / np.diag(np.linalg.inv(Z.T @ Z))
    crit = stats.t.ppf(0.975, n - 3)
    solver = {"tol": 1e-5, "max_iter": 1000, "max_pivots": None, "preprocess": False}
    for j in range(3):
        fit = _Restricted(np.delete(Z, j, axis=1), Z[:, j], y, np.ones(n), 0.65, solver)
        scale = np.sqrt(qn[j] * 0.65 * 0.35)

        def stat(b, fit=fit, scale=scale):
            return abs(float(fit.c @ fit.probe(b, 1.0)[1][0])) / scale

        lo, hi = res.conf_int[j]
        width = hi - lo
        for end in (lo, hi):
            assert all(stat(b) < crit for b in np.linspace(res.coef[j], end, 15, endpoint=False))
        assert max(stat(b) for b in hi + width * np.linspace(1e-4, 0.25, 40)) >= crit
        assert max(stat(b) for b in lo - width * np.linspace(1e-4, 0.25, 40)) >= crit

def test_rank_single_coefficient_against_brute_force():
    # one column, no intercept: no restricted fit, T(b) = x'psi(y - b x) / s
    rng = np.random.default_rng(4)
    x = rng.uniform(0.5, 2.0, 60)
    y = 1.5 * x + x * rng.standard_normal(60)
    tau, alpha = 0.4, 0.05
    model = QuantileRegressor(tau, fit_intercept=False).fit(x[:, None], y)
    res = model.summary(x[:, None], y, se="rank", alpha=alpha)
    b0 = res.coef[0]
    crit = stats.t.ppf(1 - alpha / 2, 59)
    s = np.sqrt(x @ x * tau * (1 - tau))
    breaks = np.sort(y / x)

    def stat(b):
        return x @ np.where(y - b * x < 0, tau - 1, tau) / s

    for direction, bound in ((1, res.conf_int[0, 1]), (-1, res.conf_int[0, 0])):
        # segments of constant T start at b0 (the estimate, itself a break)
        # and at every later break in this direction
        starts = np.concatenate([[b0], np.sort(breaks[direction * (breaks - b0) > 1e-12]
                                               * direction) * direction])
        prev_b, prev_t = b0, 0.0
        for k, b in enumerate(starts):
            nxt = starts[k + 1] if k + 1 < len(starts) else b + direction
            t_here = stat((b + nxt) / 2)
            if abs(t_here) >= crit:  # interpolate between the last two segments
                expect = prev_b + direction * abs(b - prev_b) * (crit - abs(prev_t)) / abs(
                    t_here - prev_t)
                break
            prev_b, prev_t = b, t_here
        assert k >= 2  # a real walk, not a first-step exit
        assert bound == pytest.approx(expect, rel=1e-12)


def test_rank_shapes_and_weight_scale():
    X, y, _ = load("hetero")
    model = QuantileRegressor([0.3, 0.6]).fit(X, y)
    res = model.summary(X, y, se="rank")
    assert res.conf_int.shape == (2, 3, 2) and res.pvalues.shape == (2, 3)
    single = QuantileRegressor(0.6).fit(X, y).summary(X, y, se="rank")
    np.testing.assert_allclose(res.conf_int[1], single.conf_int, rtol=1e-12)
    model, X, y, w = fitted("weighted", 0.5)
    a = model.summary(X, y, w, se="rank")
    b = model.summary(X, y, 4.0 * w, se="rank")
    np.testing.assert_allclose(b.conf_int, a.conf_int, rtol=1e-9)
    np.testing.assert_allclose(b.pvalues, a.pvalues, rtol=1e-9)
    assert "--" in str(a)  # no standard error for rank inversion


# --------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------
def test_not_fitted():
    X, y, _ = load("hetero")
    with pytest.raises(NotFittedError):
        QuantileRegressor().summary(X, y)


@pytest.mark.parametrize("kwargs, match", [
    ({"se": "sandwich"},
     r"se must be one of \['iid', 'nid', 'ker', 'boot', 'rank'\], got 'sandwich'"),
    ({"se": "RANK"}, "se must be one of"),
    ({"se": 3}, "se must be one of"),
    ({"alpha": 0.0}, "alpha must be a finite number > 0 and < 1, got 0.0"),
    ({"alpha": 1}, "alpha must be"),
    ({"alpha": -0.1}, "alpha must be"),
    ({"alpha": float("nan")}, "alpha must be"),
    ({"alpha": "0.05"}, "alpha must be"),
    ({"bandwidth": 0.0}, "bandwidth must be a finite number > 0 and < 1, got 0.0"),
    ({"bandwidth": -0.2}, "bandwidth must be"),
    ({"bandwidth": 1.5}, "bandwidth must be"),
    ({"bandwidth": "silverman"}, "bandwidth must be one of"),
    ({"bandwidth": None}, "bandwidth must be one of"),
    ({"se": "boot", "n_boot": 0}, "n_boot must be an integer >= 2, got 0"),
    ({"se": "boot", "n_boot": 1}, "n_boot must be an integer >= 2"),
    ({"se": "boot", "n_boot": 10.0}, "n_boot must be an integer"),
    ({"se": "boot", "bootstrap": "pairs"}, "bootstrap must be one of"),
    ({"se": "boot", "random_state": "seed"}, "random_state must be"),
    ({"se": "boot", "n_threads": 0}, "n_threads must be"),
])
def test_bad_options(kwargs, match):
    model, X, y, _ = fitted("hetero", 0.5)
    with pytest.raises(ValueError, match=match):
        model.summary(X, y, **kwargs)


def test_bad_data():
    model, X, y, w = fitted("weighted", 0.5)
    with pytest.raises(ValueError, match="features"):
        model.summary(X[:, :2], y, w)
    with pytest.raises(ValueError, match="sample_weight"):
        model.summary(X, y, w[:-1])
    with pytest.raises(ValueError, match="NaN|finite|infinity"):
        model.summary(np.where(X == X[0, 0], np.nan, X), y, w)
    # other data than the training data (or forgotten weights) are detected
    with pytest.raises(ValueError, match="data the model was fitted on"):
        model.summary(X, y + 5.0, w)
    with pytest.raises(ValueError, match="more samples with positive weight than coef"):
        QuantileRegressor(0.5).fit(X[:4], y[:4]).summary(X[:4], y[:4])


def test_summary_uses_the_kept_training_data():
    model, X, y, w = fitted("weighted", 0.5)
    for se in ("iid", "nid", "ker", "rank"):
        kept = model.summary(se=se)
        given = model.summary(X, y, w, se=se)
        np.testing.assert_array_equal(kept.conf_int, given.conf_int)
        np.testing.assert_array_equal(kept.coef, given.coef)
    with pytest.raises(ValueError, match="X and y must be given together"):
        model.summary(X)
    with pytest.raises(ValueError, match="X and y must be given together"):
        model.summary(y=y)
    with pytest.raises(ValueError, match="sample_weight needs X and y"):
        model.summary(sample_weight=w)
    # a refit replaces the kept data
    X2, y2 = X[: X.shape[0] // 2], y[: X.shape[0] // 2]
    model.fit(X2, y2)
    np.testing.assert_array_equal(model.summary(se="iid").conf_int,
                                  model.summary(X2, y2, se="iid").conf_int)


def test_default_se_follows_r():
    # R's summary.rq: se = "rank" for fewer than 1001 observations, else "nid"
    rng = np.random.default_rng(5)
    for n, expected in ((1000, "rank"), (1001, "nid")):
        X = rng.standard_normal((n, 2))
        y = X @ [1.0, -2.0] + rng.standard_normal(n)
        assert QuantileRegressor(0.5).fit(X, y).summary().se == expected


def test_exact_linear_data_is_a_clear_error():
    # y exactly linear in X: every residual is zero and the fits at tau +- h
    # coincide, so no density or sparsity can be estimated
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 2))
    y = 1.0 + X @ [1.0, -2.0]
    model = QuantileRegressor(0.4).fit(X, y)
    with pytest.raises(ValueError, match="se='iid' needs at least 2 non-zero residuals"):
        model.summary(X, y, se="iid")
    with pytest.raises(ValueError, match="se='ker': the kernel bandwidth is zero"):
        model.summary(X, y, se="ker")
    with (pytest.warns(RuntimeWarning, match="30 of 30 rows have a non-positive density"),
          pytest.raises(ValueError, match="X'FX .*is singular")):
        model.summary(X, y, se="nid")


@given(
    n=st.integers(5, 40), p=st.integers(1, 3), q=st.floats(0.05, 0.95),
    se=st.sampled_from(["iid", "nid", "ker", "boot", "rank"]), weighted=st.booleans(),
    seed=st.integers(0, 2**16), intercept=st.booleans(),
)
def test_fuzz_summary(n, p, q, se, weighted, seed, intercept):
    rng = np.random.default_rng(seed)
    X = np.round(rng.standard_normal((n, p)), 2)
    y = np.round(X @ rng.standard_normal(p) + rng.standard_t(3, n), 2)
    w = rng.uniform(0.1, 2.0, n) if weighted else None
    try:
        model = QuantileRegressor(q, fit_intercept=intercept).fit(X, y, sample_weight=w)
    except ValueError:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # non-positive densities
        try:
            res = model.summary(X, y, w, se=se, n_boot=20, random_state=seed)
        except ValueError as exc:
            assert any(s in str(exc) for s in ("se=", "X'FX", "X'X", "samples", "bootstrap"))
            return
    assert np.all((res.pvalues >= 0) & (res.pvalues <= 1))
    assert np.all(res.conf_int[:, 0] <= res.conf_int[:, 1])
    if se == "rank":
        assert np.all(np.isnan(res.bse)) and not np.any(np.isnan(res.conf_int))
        assert np.all((res.conf_int[:, 0] <= res.coef) & (res.coef <= res.conf_int[:, 1]))
    else:
        assert np.all(np.isfinite(res.bse)) and np.all(res.bse >= 0)


def test_datasets_reproducible():
    for name, (data, header) in make_datasets().items():
        on_disk = np.loadtxt(DATA / f"inference_{name}.csv", delimiter=",", skiprows=1)
        np.testing.assert_array_equal(on_disk, data)
        assert (DATA / f"inference_{name}.csv").read_text().splitlines()[0] == header
