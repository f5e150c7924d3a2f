"""statsmodels' formula interface: patsy designs on pandas frames."""

import numpy as np
import pandas as pd
import patsy
import statsmodels.api as sm
import statsmodels.formula.api as smf


def _data() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    x = rng.normal(size=200)
    group = np.repeat(["a", "b"], 100)
    y = 1.5 + 2.0 * x + np.where(group == "b", 0.7, 0.0) + rng.normal(scale=0.1, size=200)
    return pd.DataFrame({"y": y, "x": x, "group": group})


def test_ols_formula_recovers_the_coefficients():
    fit = smf.ols("y ~ x + C(group)", data=_data()).fit()
    assert abs(fit.params["x"] - 2.0) < 0.05
    assert abs(fit.params["C(group)[T.b]"] - 0.7) < 0.05
    assert fit.rsquared > 0.99


def test_patsy_design_matrices_name_their_columns():
    y, x = patsy.dmatrices("y ~ x + C(group)", _data(), return_type="dataframe")
    assert list(x.columns) == ["Intercept", "C(group)[T.b]", "x"]
    assert y.shape == (200, 1)


def test_glm_with_a_binomial_family():
    data = _data()
    data["hit"] = (data["y"] > data["y"].median()).astype(int)
    fit = smf.glm("hit ~ x", data=data, family=sm.families.Binomial()).fit()
    assert fit.params["x"] > 0
