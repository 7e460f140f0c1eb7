"""Test-time views: which views a model's metadata asks for, and that their mean is what is returned."""

import numpy as np
import pytest

from emotion_core.classify.views import TestTimeViews


def faces(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 48, 48, 1), dtype=np.uint8)


def test_metadata_round_trip_and_models_that_predate_zooms():
    views = TestTimeViews.around(mirror=True, zoom=0.1)
    assert views.zooms == pytest.approx((0.9, 1.0, 1.1)) and views.count == 6
    assert TestTimeViews.of({"inference": views.to_metadata()}) == views
    assert TestTimeViews.of({"inference": {"flip_average": True}}) == TestTimeViews(mirror=True, zooms=(1.0,))
    assert TestTimeViews.of({}).count == 1
    assert TestTimeViews.around(mirror=False, zoom=0).count == 1


def test_expand_orders_views_and_mirrors_each_zoom():
    batch = faces(3)
    expanded = TestTimeViews.around(mirror=True, zoom=0.1).expand(batch)
    assert expanded.shape == (18, 48, 48, 1) and expanded.dtype == np.uint8
    np.testing.assert_array_equal(expanded[3:6], batch)  # the plain view sits in the middle zoom slot
    np.testing.assert_array_equal(expanded[12:15], batch[:, :, ::-1])
    np.testing.assert_array_equal(expanded[9:12], expanded[0:3][:, :, ::-1])
    assert not np.array_equal(expanded[0:3], batch)


def test_zoom_scales_about_the_centre_with_edges_repeated():
    dot = np.zeros((1, 48, 48, 1), np.uint8)
    dot[0, 10, 23:25] = 255  # a mark 13.5 px above the centre row 23.5
    zoomed_in = TestTimeViews(zooms=(1.2,)).expand(dot)
    rows = np.nonzero(zoomed_in[0, :, 23, 0] > 64)[0]
    assert rows.min() < 10 and rows.max() < 20  # moved outward, away from the centre
    flat = np.full((2, 48, 48, 1), 77, np.uint8)
    np.testing.assert_array_equal(TestTimeViews(zooms=(0.9,)).expand(flat), flat)  # no black border


def test_averaged_is_the_mean_over_views_per_face():
    calls = []

    def forward(x: np.ndarray) -> np.ndarray:  # a "network" whose output reveals its input
        calls.append(len(x))
        means = x.reshape(len(x), -1).mean(axis=1, keepdims=True)
        return np.hstack([means, 255 - means]) / 255

    views = TestTimeViews.around(mirror=True, zoom=0.1)
    batch = faces(5)
    got = views.averaged(forward)(batch)
    assert calls == [30]  # every view of every face in one call
    per_view = forward(views.expand(batch)).reshape(6, 5, 2)
    np.testing.assert_allclose(got, per_view.mean(axis=0))
    assert TestTimeViews().averaged(forward) is forward


def test_a_single_zoomed_view_is_still_zoomed():
    # One view that is not the plain face must not be mistaken for "no views" and skipped.
    def forward(x: np.ndarray) -> np.ndarray:
        return x.reshape(len(x), -1)[:, :1].astype(np.float32)  # top-left pixel

    batch = np.zeros((1, 48, 48, 1), np.uint8)
    batch[0, 8:40, 8:40] = 200  # a bright centre square: zooming in by 2 fills the corner with it
    zoomed = TestTimeViews(zooms=(2.0,))
    assert forward(batch)[0, 0] == 0
    assert zoomed.averaged(forward)(batch)[0, 0] == 200
