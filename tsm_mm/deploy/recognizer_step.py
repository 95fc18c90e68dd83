"""ONNX export of the online recognizer: one causal step, logits out.

The graph is the streaming step of :mod:`.onnx_stream` with the head on
top: ``(frame, cache_0, ..., cache_{K-1}) -> (logits, new_cache_0, ...,
new_cache_{K-1})``, the per-frame logits of
:class:`~tsm_mm.apis.OnlineRecognizer` (``fc_cls(avg_pool(feature))``, no
consensus). The interface also carries the classes' count and the data
preprocessor's normalisation, so that it alone is enough to run the graph.
"""
from typing import Dict, Optional, Tuple

import torch
from torch import Tensor, nn

from ..apis.online_recognizer import frame_logits
from ..utils.arg_types import check_int
from .onnx_stream import _check_shift_backbone, export_step_onnx


def _check_recognizer(model: nn.Module) -> None:
    head = getattr(model, 'cls_head', None)
    if head is None or not hasattr(head, 'fc_cls'):
        raise TypeError(f'model must be a Recognizer2D with a TSM/TSN head '
                        f'(cls_head.fc_cls); {type(model).__name__} has '
                        'none')
    backbone = getattr(model, 'backbone', None)
    if backbone is None:
        raise TypeError(f'model {type(model).__name__} has no backbone')
    _check_shift_backbone(backbone)


class RecognizerStreamStep(nn.Module):
    """One causal step of a TSM recognizer, caches as tensors, logits out.

    Args:
        recognizer (nn.Module): A ``Recognizer2D`` with a TSM backbone and
            a TSM/TSN head.
    """

    def __init__(self, recognizer: nn.Module) -> None:
        super().__init__()
        _check_recognizer(recognizer)
        self.recognizer = recognizer
        self.output_names = ['logits']

    @property
    def shift_backbone(self) -> nn.Module:
        return self.recognizer.backbone

    def forward(self, frame: Tensor, *caches: Tensor) -> Tuple[Tensor]:
        """(B, 3, H, W) frames and K caches -> (B, num_classes) logits and
        K new caches."""
        backbone = self.recognizer.backbone
        with backbone.explicit_caches(caches) as new_caches:
            features = backbone(frame)
        return (frame_logits(self.recognizer, features), *new_caches)


def preprocess_spec(data_preprocessor: Optional[nn.Module]) -> Dict:
    """The normalisation that makes a graph's ``frame`` from an image.

    ``frame = (image[channel_order] - mean) / std`` in NCHW float32, the
    image resized by the test pipeline. MMAction2 decodes frames as RGB
    (:class:`~tsm_mm.apis.OnlineRecognizer` turns BGR frames into RGB) and
    the preprocessor's ``to_rgb`` (``bgr_to_rgb`` in MMEngine's) swaps the
    channels.

    Args:
        data_preprocessor (nn.Module, optional): The model's
            ``ActionDataPreprocessor`` (or MMEngine ``ImgDataPreprocessor``).

    Returns:
        dict: ``mean`` and ``std`` (per channel, None without
        normalisation), the swap flag under the preprocessor's own name
        and ``channel_order`` ('RGB' or 'BGR').
    """
    spec: Dict = dict(mean=None, std=None)
    if getattr(data_preprocessor, '_enable_normalize', False):
        spec.update(mean=data_preprocessor.mean.flatten().tolist(),
                    std=data_preprocessor.std.flatten().tolist())
    if hasattr(data_preprocessor, 'to_rgb'):
        key, swap = 'to_rgb', bool(data_preprocessor.to_rgb)
    else:
        key = 'bgr_to_rgb'
        swap = bool(getattr(data_preprocessor, '_channel_conversion', False))
    spec[key] = swap
    spec['channel_order'] = 'BGR' if swap else 'RGB'
    return spec


def export_recognizer_onnx(model: nn.Module, out: str,
                           frame_size: Tuple[int, int], batch_size: int = 1,
                           dynamic_batch: bool = True) -> Dict:
    """Export one streaming step of a recognizer, with its head, to ONNX.

    Args:
        model (nn.Module): A ``Recognizer2D`` with a TSM backbone (from
            :func:`~tsm_mm.apis.init_model`), in eval mode.
        out (str): The ``.onnx`` file to write (atomically).
        frame_size (tuple[int, int]): (H, W) of the preprocessed frames;
            fixed in the graph (the cache shapes depend on it).
        batch_size (int): Streams per step in the traced example, >= 1
            (the stream axis when ``dynamic_batch`` is False).
        dynamic_batch (bool): Declare the stream axis dynamic.

    Returns:
        dict: The interface of
        :func:`~tsm_mm.deploy.export_stream_onnx` (``mode='stream'``,
        ``inputs``, ``outputs``, ``caches``, ...) with ``num_classes`` and
        ``preprocess`` (:func:`preprocess_spec`).
    """
    batch_size = check_int(batch_size, 'batch_size', 1)
    step = RecognizerStreamStep(model)
    frame = torch.randn(batch_size, 3, *frame_size)
    return export_step_onnx(
        step, out, dict(frame=frame), dynamic_batch,
        num_classes=model.cls_head.fc_cls.out_features,
        preprocess=preprocess_spec(getattr(model, 'data_preprocessor',
                                           None)),
        logits='per frame: average them over a window, then softmax; '
        'frame = (image in channel_order - mean) / std')
