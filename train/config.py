"""The training configuration, shared by the CLI (argparse is built from it) and the dashboard's Train page."""

from __future__ import annotations

import argparse
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emotion_core.classify.views import TestTimeViews

if TYPE_CHECKING:
    from emotion_core.data.person_splits import PersonSplit


@dataclass
class TrainConfig:
    data: str = field(
        default="", metadata={"help": "dataset: folder or zip of <split>/<class>/<image>, or fer2013.csv"}
    )
    out: str = field(default="", metadata={"help": "run folder to write (default: runs/<architecture>-<time>)"})
    architecture: str = field(default="vgg", metadata={"help": "vgg (accurate, ~1.8M params) or tiny (tests)"})
    init: str = field(
        default="",
        metadata={
            "help": "start from a trained model's weights (name or run folder): its architecture, plus any new classes"
        },
    )
    epochs: int = field(default=40, metadata={"help": "passes over the training split"})
    batch_size: int = field(default=64, metadata={"help": "64 is as fast as 128 on 2 CPU cores and generalises better"})
    learning_rate: float = field(default=2e-3, metadata={"help": "peak AdamW rate, reached after the warm-up"})
    warmup_epochs: int = field(default=2, metadata={"help": "linear warm-up before the cosine decay"})
    weight_decay: float = field(default=1e-4, metadata={"help": "AdamW decoupled weight decay"})
    label_smoothing: float = field(default=0.1, metadata={"help": "FER2013 labels are noisy; smoothing helps"})
    augment: bool = field(default=True, metadata={"help": "flips, shifts, small rotations/zoom, contrast"})
    photo_augment: bool = field(
        default=True, metadata={"help": "also camera effects: exposure (gamma), blur, sensor noise"}
    )
    erase: float = field(
        default=0.0,
        metadata={
            "help": "share of training faces with one random rectangle (a twentieth to a quarter of the face) "
            "blanked to its mean grey (random erasing): the network must also read brows and eyes, not the mouth alone"
        },
    )
    mixup: float = field(
        default=0.0,
        metadata={
            "help": "mixup's alpha: each training face is blended with another of its batch, and their targets "
            "alike, in a Beta(alpha, alpha) share (0: off; 0.2 is usual)"
        },
    )
    faces: str = field(
        default="auto",
        metadata={
            "help": "crops: images are face crops, used whole; detect: photos, each cropped to its largest face as "
            "the Predictor does (cached); auto: detect when sampled images are larger than the input or not square"
        },
    )
    split_by_person: str = field(
        default="",
        metadata={
            "help": "re-split the whole dataset by person: a regex whose first group in each file name is the "
            "person id (TCFE: '^(\\d\\d)'), or a CSV of file,person; people in --test-people form 'test'"
        },
    )
    test_people: str = field(
        default="", metadata={"help": "with --split-by-person: the people held out as 'test', e.g. 21-30 or 3,7,12-15"}
    )
    prior_correction: bool = field(
        default=False,
        metadata={
            "help": "save class weights that divide the model's scores by the class balance of its training "
            "targets, votes and smoothing included (logit adjustment: rare classes such as disgust are named "
            "on balanced real photos)"
        },
    )
    train_split: str = field(default="train", metadata={"help": "split to train on"})
    val_split: str = field(
        default="val",
        metadata={
            "help": "split reported each epoch and used to pick settings; 'val' is carved from the training split "
            "when the data has none ('' for none). The test split stays untouched until the model is final"
        },
    )
    val_fraction: float = field(default=0.1, metadata={"help": "share of each class carved out as 'val'"})
    votes: str = field(
        default="",
        metadata={
            "help": "CSV of annotators' votes per image (FER+: member,neutral,happiness,...): train on each "
            "image's vote distribution instead of its folder label; images without votes are left out"
        },
    )
    votes_weight: float = field(
        default=1.0, metadata={"help": "with --votes: target = w * votes + (1 - w) * folder label"}
    )
    teacher: str = field(
        default="",
        metadata={
            "help": "distil: comma-separated teachers (a registered model, a run folder, or an .onnx expression "
            "model such as OpenCV Zoo's RAF-DB MobileFaceNet); their answers on each training face are computed "
            "once, cached, and mixed into its target"
        },
    )
    teacher_weight: float = field(
        default=0.6,
        metadata={"help": "with --teacher: target = w * teachers + (1 - w) * the label (or label and votes) target"},
    )
    teacher_blend: float = field(
        default=0.3,
        metadata={"help": "with several teachers: the weight of those after the first in their geometric mean"},
    )
    precision: str = field(
        default="float32", metadata={"help": "float32, or mixed_bfloat16 (~1.5x faster on AVX512-BF16 CPUs)"}
    )
    test_time_flip: bool = field(
        default=True,
        metadata={"help": "predict as the mean over the face and its mirror image (+1.1 points on FER2013 test)"},
    )
    test_time_zoom: float = field(
        default=0.1,
        metadata={"help": "also average views zoomed out and in by this fraction, the training zoom range (0: none)"},
    )
    keep_checkpoint: bool = field(
        default=False,
        metadata={
            "help": "keep the resume checkpoint (model + optimizer, ~21 MB for vgg) once the run has finished; "
            "by default a finished run drops it: model.keras is what predicts"
        },
    )
    seed: int = field(default=1, metadata={"help": "random seed for shuffling and augmentation"})
    distribute: str = field(
        default="",
        metadata={
            "help": "'' one device; mirrored: all local GPUs (or logical CPUs); multiworker: the TF_CONFIG cluster. "
            "--batch-size is then per replica"
        },
    )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def person_split(self) -> PersonSplit | None:
        """The --split-by-person/--test-people pair as the core's typed split, None when not asked for."""
        from emotion_core.data.person_splits import PersonSplit

        return PersonSplit(self.split_by_person, self.test_people) if self.split_by_person else None

    @property
    def views(self) -> TestTimeViews:
        """The test-time views the trained model will predict with (written to its metadata)."""
        return TestTimeViews.around(self.test_time_flip, self.test_time_zoom)

    @property
    def teachers(self) -> list[str]:
        """The --teacher list, blanks dropped."""
        return [t.strip() for t in self.teacher.split(",") if t.strip()]

    @staticmethod
    def _check_teacher(teacher: str) -> None:
        if teacher.endswith(".onnx"):
            if not Path(teacher).is_file():
                raise ValueError(f"--teacher: no such file {Path(teacher).name}")
            return
        from emotion_core.classify.registry import read_metadata
        from emotion_core.errors import EmotionCoreError

        try:
            read_metadata(teacher)
        except EmotionCoreError as error:
            raise ValueError(f"--teacher: {error}") from None

    def validate(self) -> None:
        """Raise ValueError with a one-line reason, before anything is launched."""
        from emotion_core.classify.architectures import ENSEMBLE, check_architecture
        from emotion_core.data.photo_crops import FACE_MODES
        from emotion_core.errors import EmotionCoreError

        if not self.data:
            raise ValueError("--data is required")
        check_architecture(self.architecture)
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError("epochs and batch size must be at least 1")
        if not 0 < self.learning_rate < 1:
            raise ValueError("learning rate must be between 0 and 1")
        if self.init:
            from emotion_core.classify.registry import read_metadata

            try:
                architecture = read_metadata(self.init).get("architecture")
            except EmotionCoreError as error:
                raise ValueError(f"--init: {error}") from None
            if architecture == ENSEMBLE:
                raise ValueError(f"--init: '{self.init}' is an ensemble; start from one of its members")
        if not 0 <= self.test_time_zoom < 0.5:
            raise ValueError("test-time zoom must be at least 0 and below 0.5")
        if not 0 <= self.erase <= 1:
            raise ValueError("erase must be a share between 0 and 1")
        if self.mixup < 0:
            raise ValueError("mixup's alpha cannot be negative")
        if not 0 <= self.val_fraction < 0.5:
            raise ValueError("validation fraction must be at least 0 and below 0.5")
        if self.votes and not Path(self.votes).is_file():
            raise ValueError(f"--votes: no such file {self.votes}")
        if not 0 <= self.votes_weight <= 1:
            raise ValueError("votes weight must be between 0 and 1")
        if self.faces not in FACE_MODES:
            raise ValueError(f"faces must be one of {', '.join(FACE_MODES)}")
        if bool(self.split_by_person) != bool(self.test_people):
            raise ValueError("--split-by-person and --test-people go together")
        if not 0 <= self.teacher_weight <= 1 or not 0 <= self.teacher_blend < 1:
            raise ValueError("teacher weight must be between 0 and 1, and teacher blend at least 0 and below 1")
        for teacher in self.teachers:
            self._check_teacher(teacher)
        if self.precision not in ("float32", "mixed_bfloat16"):
            raise ValueError("precision must be float32 or mixed_bfloat16")
        from train.distribute import check_distribute

        check_distribute(self.distribute)
        if self.distribute and self.init:
            raise ValueError("--init builds its model outside the strategy; train it without --distribute")


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """One --flag per TrainConfig field, with its default and help text."""
    for f in fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        default = f.default if f.default is not MISSING else None
        if f.type in ("bool", bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default, help=f.metadata["help"])
        else:
            kind = {"int": int, "float": float}.get(str(f.type), str)
            parser.add_argument(flag, type=kind, default=default, help=f"{f.metadata['help']} (default: {default})")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(**{f.name: getattr(args, f.name) for f in fields(TrainConfig)})


def config_to_argv(config: TrainConfig) -> list[str]:
    """The --flags that ``add_config_arguments`` parses back into ``config``: how the UI launches the CLI."""
    argv = []
    for f in fields(TrainConfig):
        flag, value = "--" + f.name.replace("_", "-"), getattr(config, f.name)
        if isinstance(value, bool):
            argv.append(flag if value else "--no-" + f.name.replace("_", "-"))
        else:
            argv += [flag, str(value)]
    return argv
