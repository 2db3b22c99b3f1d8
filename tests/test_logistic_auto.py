"""solver="auto" (issue 16, part 4): the rule, and the same answer as the solver chosen."""
import warnings

import pytest
from numpy.testing import assert_allclose

from statoptim import LogisticRegression
from statoptim.datasets import make_logistic
from statoptim.optim import SeparationWarning
from statoptim.optim._logistic_checks import AUTO_NEWTON_MAX_COEF


@pytest.mark.parametrize("p", [1, 19, AUTO_NEWTON_MAX_COEF - 1, AUTO_NEWTON_MAX_COEF, 99])
def test_auto_rule_and_answer(p):
    X, y, _ = make_logistic(600, p, random_state=p)
    est = LogisticRegression(alpha=1e-2).fit(X, y)
    expected = "newton" if p + 1 <= AUTO_NEWTON_MAX_COEF else "lbfgs"
    assert est.solver_ == expected
    assert LogisticRegression().get_params()["solver"] == "auto"
    ref = LogisticRegression("newton", alpha=1e-2, tol=1e-14).fit(X, y)
    assert_allclose(est.coef_, ref.coef_, rtol=1e-4, atol=1e-5)  # default tolerances
    assert not hasattr(est, "partial_fit")


def test_lbfgs_at_alpha_zero_handles_constant_columns_like_newton():
    X, y, _ = make_logistic(400, 30, random_state=1)
    X[:, 4] = 2.0
    X[:, 17] = 0.0
    for solver in ("newton", "lbfgs"):
        with pytest.warns(SeparationWarning, match=r"columns \[4, 17\]"):
            est = LogisticRegression(solver, alpha=0.0, tol=1e-12 if solver == "lbfgs"
                                     else 1e-14).fit(X, y)
        assert est.coef_[0, 4] == 0.0 and est.coef_[0, 17] == 0.0
        if solver == "newton":
            ref = est
    assert_allclose(est.coef_, ref.coef_, rtol=1e-5, atol=1e-6)
    assert_allclose(est.intercept_, ref.intercept_, rtol=1e-5, atol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LogisticRegression("lbfgs", alpha=1e-3).fit(X, y)  # alpha > 0: identifiable
