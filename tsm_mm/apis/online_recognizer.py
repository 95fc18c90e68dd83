"""Recognise actions online: a causal TSM recognizer, frame by frame."""
import logging
from collections import deque
from typing import NamedTuple, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.logging import print_log
from torch import Tensor, nn

from ..utils.timing import timed_call
from .frame_pipelines import config_test_pipeline, recognition_frame_pipeline
from .model_init import config_scope, init_model


class OnlineStep(NamedTuple):
    """What :meth:`OnlineRecognizer.step` gives for one frame."""
    logits: Tensor  # (num_classes,): this frame's head output
    scores: Tensor  # (num_classes,): softmax of the mean logits so far
    latency: float  # seconds: preprocessor, backbone step and head


def frame_logits(model: nn.Module, features: Tensor) -> Tensor:
    """A recognizer head's logits per frame, before the temporal consensus.

    Args:
        model (nn.Module): A ``Recognizer2D`` with a TSN/TSM head.
        features (Tensor): Backbone output, (N, C, h, w).

    Returns:
        Tensor: (N, num_classes).
    """
    head = model.cls_head
    if getattr(head, 'avg_pool', None) is not None:
        features = head.avg_pool(features)
    return head.fc_cls(features.flatten(1))


class OnlineRecognizer:
    """Recognise actions online with a causal TSM recognizer.

    One frame per step through ``backbone.forward_stream``; the head's
    per-frame logits are ``fc_cls(avg_pool(feature))`` (TSMHead without its
    consensus), and the running scores are the softmax of their mean over
    the last ``window`` frames (all frames so far when None): with the
    clip's frames, what the recognizer gives for the clip offline
    (AvgConsensus, then ``average_clips='prob'``).

    Args:
        model (nn.Module): A ``Recognizer2D`` whose backbone streams
            (:class:`~tsm_mm.models.TSMResNet`), from :func:`init_model`.
        window (int, optional): Frames averaged by the running scores.
        test_pipeline (Sequence[dict], optional): Replaces the config's
            test pipeline; the steps after its decoding apply per frame.
    """

    def __init__(self, model: nn.Module, window: Optional[int] = None,
                 test_pipeline: Optional[Sequence[dict]] = None) -> None:
        if not hasattr(model.backbone, 'forward_stream'):
            raise TypeError(f'{type(model.backbone).__name__} cannot run '
                            'frame by frame: use TSMResNet')
        if getattr(model.backbone, 'direction', 'causal') != 'causal':
            print_log(f'the backbone was built {model.backbone.direction}; '
                      'streaming applies the causal shift', 'current',
                      level=logging.WARNING)
        if window is not None and window < 1:
            raise ValueError(f'window must be >= 1, got {window}')
        self.model, self.window = model, window
        pipeline = test_pipeline or config_test_pipeline(model.cfg)
        with config_scope(model.cfg, 'mmaction'):
            self.pipeline = Compose(recognition_frame_pipeline(pipeline))
        self.device = next(model.parameters()).device
        self._logits: deque = deque(maxlen=window)
        self._stream = 0
        self.reset()

    @classmethod
    def from_config(cls, config: Union[str, Config],
                    checkpoint: Optional[str] = None,
                    window: Optional[int] = None,
                    device: str = 'cpu') -> 'OnlineRecognizer':
        """Build the model (see :func:`init_model`) and its recognizer."""
        return cls(init_model(config, checkpoint, device, 'mmaction'),
                   window)

    @property
    def num_classes(self) -> int:
        return self.model.cls_head.fc_cls.out_features

    def reset(self) -> None:
        """Start a new video: zero caches, no past logits."""
        self.model.backbone.reset_streams()
        self._logits.clear()

    def frame_input(self, frame: np.ndarray) -> Tensor:
        """The model's input for one BGR frame, (1, C, H, W)."""
        return self._preprocess(self._pack(frame))

    def _pack(self, frame: np.ndarray) -> dict:
        """The test pipeline's steps after decoding, on one frame."""
        rgb = np.ascontiguousarray(frame[..., ::-1])  # mmaction decodes RGB
        shape = rgb.shape[:2]
        return pseudo_collate([self.pipeline(dict(
            imgs=[rgb], num_clips=1, clip_len=1, modality='RGB',
            frame_inds=np.array([0]), img_shape=shape,
            original_shape=shape))])

    def _preprocess(self, data: dict) -> Tensor:
        """The data preprocessor (normalisation) on a packed frame."""
        inputs = self.model.data_preprocessor(data, False)['inputs']
        inputs = inputs.reshape((-1, ) + inputs.shape[-3:])
        if inputs.shape[0] != 1:
            raise ValueError(f'the test pipeline makes {inputs.shape[0]} '
                             'views of a frame (multi-crop?); streaming '
                             'takes one')
        return inputs

    def frame_logits(self, features: Tensor) -> Tensor:
        """The head's logits per frame (:func:`frame_logits`)."""
        return frame_logits(self.model, features)

    def step(self, frame: np.ndarray) -> OnlineStep:
        """Advance the current video by one frame.

        Args:
            frame (np.ndarray): (H, W, 3) BGR uint8.

        Returns:
            OnlineStep: This frame's logits, the running scores and the
            model's time in seconds.
        """
        data = self._pack(frame)

        def run() -> Tensor:
            inputs = self._preprocess(data)
            features = self.model.backbone.forward_stream(
                inputs, [self._stream])
            return self.frame_logits(features)[0]

        logits, seconds = timed_call(run, self.device)
        self._logits.append(logits)
        mean = torch.stack(list(self._logits)).mean(0)
        return OnlineStep(logits.cpu(), mean.softmax(-1).cpu(), seconds)
