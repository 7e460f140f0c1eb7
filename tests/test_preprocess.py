import math

import cv2
import numpy as np
import pytest

from emotion_core.classify.card import ModelCard
from emotion_core.classify.predictor import Predictor
from emotion_core.data.datasets import open_dataset
from emotion_core.records import Detection, eye_angle
from emotion_core.vision.align import PreprocessConfig, aligned_crop, face_crop, faces_to_batch, to_model_input
from emotion_core.vision.decode import read_image
from emotion_core.vision.detect import FaceDetector
from tests.conftest import shared_photo


def test_training_and_inference_give_the_same_array(face_photos, tmp_path):
    """A face saved into a dataset and read for training equals the Predictor's input for that face."""
    image = read_image(face_photos[0])
    box = FaceDetector().detect(image)[0].box  # a bare box: the crop a dataset stores
    inference = faces_to_batch(image, [box])[0, :, :, 0]

    crop = face_crop(image, box)
    (tmp_path / "train" / "happy").mkdir(parents=True)
    cv2.imwrite(str(tmp_path / "train" / "happy" / "face.png"), crop)  # PNG: lossless, like a dataset would store it
    dataset = open_dataset(tmp_path)
    x, y, bad = dataset.load(dataset.split_samples("train"), dataset.classes)
    assert bad == [] and x.shape == (1, 48, 48, 1)
    np.testing.assert_array_equal(x[0, :, :, 0], inference)


def test_crop_widens_the_box_and_stays_square():
    image = np.zeros((200, 300), np.uint8)
    crop = face_crop(image, (100, 50, 80, 60), margin=0.25)
    assert crop.shape == (120, 120)


def test_crop_leaving_the_frame_replicates_edges():
    image = np.full((100, 100), 7, np.uint8)
    crop = face_crop(image, (-20, 80, 50, 50), margin=0.1)
    assert crop.shape == (60, 60) and (crop == 7).all()


def test_model_input_is_grey_uint8_48():
    colour = np.random.default_rng(1).integers(0, 255, (97, 131, 3), dtype=np.uint8)
    out = to_model_input(colour)
    assert out.shape == (48, 48) and out.dtype == np.uint8
    small = to_model_input(np.full((20, 20), 9, np.uint8))
    assert small.shape == (48, 48) and (small == 9).all()


def test_aligned_crop_levels_the_eyes_and_frames_them_as_configured():
    """By geometry: eyes 40 px apart on a line tilted 30° land level, at the configured place and distance."""
    config = PreprocessConfig()
    image = np.zeros((400, 400), np.uint8)
    left = (180.0, 200.0)
    right = (left[0] + 40 * math.cos(math.radians(30)), left[1] + 40 * math.sin(math.radians(30)))
    for x, y in (left, right):
        cv2.circle(image, (round(x), round(y)), 3, 255, -1)
    crop = aligned_crop(image, Detection((150, 150, 100, 120), 0.9, left, right), config)
    side = round(40 / config.eye_distance)
    assert crop.shape == (side, side)
    ys, xs = np.nonzero(crop > 128)
    left_blob, right_blob = xs < side / 2, xs >= side / 2
    assert abs(ys[left_blob].mean() - ys[right_blob].mean()) < 1.5  # level
    assert abs((ys.mean()) / side - config.eye_y) < 0.02 and abs(xs.mean() / side - config.eye_x) < 0.02
    assert abs(xs[right_blob].mean() - xs[left_blob].mean() - 40) < 2


def test_aligned_crop_of_a_rotated_photo_reads_level_again():
    """Re-detected on the aligned crop, a face turned 25° has its eyes within a few degrees of level."""
    photo = read_image(shared_photo("03_normal.png"))
    canvas = cv2.copyMakeBorder(photo, 100, 100, 100, 100, cv2.BORDER_REPLICATE)
    turn = cv2.getRotationMatrix2D((canvas.shape[1] / 2, canvas.shape[0] / 2), 25, 1.0)
    turned = cv2.warpAffine(canvas, turn, canvas.shape[1::-1], borderMode=cv2.BORDER_REPLICATE)
    detector = FaceDetector()
    (face,) = detector.detect(turned)
    crop = aligned_crop(turned, face)
    again = detector.detect(cv2.copyMakeBorder(cv2.resize(crop, (192, 192)), 48, 48, 48, 48, cv2.BORDER_REPLICATE))
    assert len(again) == 1 and abs(eye_angle(again[0])) < abs(eye_angle(face)) and abs(eye_angle(again[0])) < 8


def test_no_eyes_or_alignment_off_means_the_box_crop():
    image = np.random.default_rng(3).integers(0, 255, (200, 300), dtype=np.uint8)
    box = (100, 50, 80, 60)
    np.testing.assert_array_equal(aligned_crop(image, Detection(box)), face_crop(image, box))
    eyed = Detection(box, 1.0, (120.0, 70.0), (160.0, 75.0))
    np.testing.assert_array_equal(aligned_crop(image, eyed, PreprocessConfig(align=False)), face_crop(image, box))
    assert not np.array_equal(aligned_crop(image, eyed), face_crop(image, box))


def test_framing_round_trips_through_model_metadata_and_old_metadata_keeps_defaults():
    custom = PreprocessConfig(eye_distance=0.4, eye_y=0.35)
    section = {**custom.to_metadata(), "scaling": "x/255 inside the model"}
    assert PreprocessConfig.from_metadata(section) == custom
    model = lambda batch: np.zeros((len(batch), 7), np.float32)  # noqa: E731
    old = Predictor(
        model, ModelCard.from_metadata({"labels": list("abcdefg"), "preprocessing": {"margin": 0.2}}), forward=model
    )
    assert old.preprocess_config == PreprocessConfig(margin=0.2)
    new = Predictor(
        model, ModelCard.from_metadata({"labels": list("abcdefg"), "preprocessing": section}), forward=model
    )
    assert new.preprocess_config == custom


@pytest.mark.parametrize("size", [48, 64])
def test_batch_takes_detections_and_boxes_alike(size):
    image = np.random.default_rng(4).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    faces = [Detection((100, 50, 80, 90), 0.9, (120.0, 80.0), (160.0, 82.0)), (10, 10, 40, 40)]
    batch = faces_to_batch(image, faces, PreprocessConfig(size=size))
    assert batch.shape == (2, size, size, 1) and batch.dtype == np.uint8
