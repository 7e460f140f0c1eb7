import cv2
import numpy as np

from emotion_core.datasets import open_dataset
from emotion_core.faces import FaceDetector
from emotion_core.io import read_image
from emotion_core.preprocess import face_crop, faces_to_batch, to_model_input


def test_training_and_inference_give_the_same_array(face_photos, tmp_path):
    """A face saved into a dataset and read for training equals the Predictor's input for that face."""
    image = read_image(face_photos[0])
    box = FaceDetector().detect(image)[0]
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
