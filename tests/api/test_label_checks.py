"""A dataset whose labels cannot be used is refused at upload with a 422 naming the labels; float labels (a
regression) are not counted as classes; strong imbalance is a warning on the dataset."""

from __future__ import annotations

import numpy as np
import pytest

from tests.factories import npz_bytes
from tests.helpers import upload, upload_ok

X = np.random.default_rng(0).standard_normal((20, 1, 8, 8)).astype(np.float32)


@pytest.mark.parametrize(
    ("labels", "says"),
    [
        (np.arange(19) % 4, "array 'labels' has 19 entries but the inputs have 20 samples"),
        (np.r_[np.arange(19) % 4, -2], "negative class ids (-2 at sample 19"),
        (np.r_[np.arange(19) % 3, 3], "1 class(es) with fewer than 2 samples (class 3: 1 sample)"),
    ],
    ids=["count", "negative", "single-sample-class"],
)
def test_labels_that_cannot_be_used_are_a_422_naming_them(client, auth, labels, says):
    response = upload(client, auth, "datasets", "d.npz", npz_bytes(x=X, labels=labels.astype(np.int64)))
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "invalid_dataset" and says in problem["detail"], problem
    assert problem["errors"][0]["field"] == "arrays.labels"


def test_regression_targets_and_imbalanced_classes_are_accepted(client, auth):
    targets = np.linspace(0.0, 1.0, 20).astype(np.float32)  # every value once: a regression, not 20 classes
    assert upload_ok(client, auth, "datasets", "r.npz", npz_bytes(x=X, labels=targets))["has_labels"]
    skewed = np.r_[np.zeros(20), 1, 1].astype(np.int64)
    x = np.concatenate([X, X[:2]])
    dataset = upload_ok(client, auth, "datasets", "s.npz", npz_bytes(x=x, labels=skewed))
    assert any("strongly imbalanced: class 0 has 20 samples, class 1 2" in w for w in dataset["warnings"])


def test_a_split_too_small_for_auto_epochs_is_refused_naming_the_field():
    from app.core.errors import IncompatibleDataset
    from app.core.schemas.recipe import Recipe
    from app.uploads.validation import check_recipe_fits_data

    recipe = Recipe.model_validate({"passes": [{"type": "prune", "finetune": {"distill": True}}]})
    with pytest.raises(IncompatibleDataset) as refused:
        check_recipe_fits_data(recipe, 30)  # 15 calibration samples
    assert refused.value.errors[0]["field"] == "passes.0.finetune.epochs"
    assert "gets 15 of the dataset's 30 samples" in refused.value.detail
    check_recipe_fits_data(recipe, 40)
    fixed = Recipe.model_validate({"passes": [{"type": "prune", "finetune": {"epochs": 2}}]})
    check_recipe_fits_data(fixed, 30)
