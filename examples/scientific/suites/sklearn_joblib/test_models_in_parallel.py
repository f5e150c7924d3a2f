"""scikit-learn models fitted with joblib's parallelism under threadpoolctl's limits."""

import joblib
import numpy as np
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_info, threadpool_limits


def test_pipeline_cross_validates_in_two_jobs():
    x, y = make_classification(n_samples=200, n_features=8, random_state=0)
    pipeline = make_pipeline(StandardScaler(), LogisticRegression())
    scores = cross_val_score(pipeline, x, y, cv=4, n_jobs=2)
    assert scores.shape == (4,) and scores.mean() > 0.8


def test_forest_under_a_thread_limit():
    x, y = make_classification(n_samples=150, n_features=6, random_state=1)
    with threadpool_limits(limits=1):
        forest = RandomForestClassifier(n_estimators=20, n_jobs=2, random_state=0).fit(x, y)
    assert forest.score(x, y) > 0.95
    assert isinstance(threadpool_info(), list)


def test_fitted_model_persists_with_joblib(tmp_path):
    x, y = make_classification(n_samples=80, n_features=4, random_state=2)
    model = LogisticRegression().fit(x, y)
    path = tmp_path / "model.joblib"
    joblib.dump(model, path)
    np.testing.assert_array_equal(joblib.load(path).predict(x), model.predict(x))


def test_joblib_parallel_maps_a_function():
    results = joblib.Parallel(n_jobs=2)(joblib.delayed(pow)(i, 2) for i in range(6))
    assert results == [0, 1, 4, 9, 16, 25]
