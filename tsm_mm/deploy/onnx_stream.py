"""ONNX export of TSM networks: a one-frame step with explicit caches.

The streaming step becomes a pure function: ``(frame, cache_0, ...,
cache_{K-1}) -> (outputs..., new_cache_0, ..., new_cache_{K-1})``, where
``cache_k`` is channels ``[fold, 2*fold)`` of the input of shift site k at
the previous frame, zeros for a new stream. The caller feeds the
``new_cache_k`` of one step as the ``cache_k`` of the next. Inputs are the
preprocessed frames (normalized, as the data preprocessor gives them).
The backbone runs in its own ``explicit_caches`` mode: nothing is patched.
"""
from contextlib import nullcontext
from typing import ContextManager, Dict, List, Optional, Sequence, Tuple

import onnx
import torch
from mmengine.fileio import dump
from torch import Tensor, nn

from ..utils.atomic_write import atomic_path

OPSET = 17


def _check_shift_backbone(backbone: nn.Module) -> None:
    if not hasattr(backbone, 'explicit_caches'):
        raise TypeError(f'{type(backbone).__name__} has no shift sites; '
                        'expected a TemporalShiftMixin backbone')


def shift_sites_of(backbone: nn.Module) -> Optional[nn.Module]:
    """``backbone`` where it has shift sites (explicit caches), else None."""
    return backbone if hasattr(backbone, 'explicit_caches') else None


def caches_context(backbone: Optional[nn.Module],
                   caches: Sequence[Tensor]) -> ContextManager[List[Tensor]]:
    """The ``explicit_caches`` mode of a shift backbone, or no caches for
    None (a 2D network): yields the list its new caches land in."""
    if backbone is None:
        return nullcontext([])
    return backbone.explicit_caches(caches or None)


def _as_list(outs) -> List[Tensor]:
    return list(outs) if isinstance(outs, (tuple, list)) else [outs]


class BackboneStreamStep(nn.Module):
    """One causal step of a TSM backbone with the caches as tensors.

    Args:
        backbone (nn.Module): ``StreamingTSMResNet`` or ``TSMResNet``.
        allow_2d (bool): Also take a backbone without shift sites (its 2D
            twin): a step with no caches.
    """

    def __init__(self, backbone: nn.Module, allow_2d: bool = False) -> None:
        super().__init__()
        if not allow_2d:
            _check_shift_backbone(backbone)
        self.backbone = backbone
        self.output_names = [
            f'feat_{i}' for i in range(len(backbone.out_indices))]

    @property
    def shift_backbone(self) -> Optional[nn.Module]:
        return shift_sites_of(self.backbone)

    def forward(self, frame: Tensor, *caches: Tensor) -> Tuple[Tensor]:
        """(B, 3, H, W) frames and K caches -> features and K new caches."""
        with caches_context(self.shift_backbone, caches) as new_caches:
            feats = _as_list(self.backbone(frame))
        return (*feats, *new_caches)


class DetectorStreamStep(nn.Module):
    """One causal step of a two-stage detector up to its RPN outputs.

    Backbone, neck and RPN head (per level: objectness scores and box
    deltas); proposals, NMS and the RoI head stay outside the graph.

    Args:
        detector (nn.Module): A ``VideoFasterRCNN`` (or any
            ``TwoStageDetector``) with a TSM backbone.
    """

    def __init__(self, detector: nn.Module) -> None:
        super().__init__()
        if not getattr(detector, 'with_rpn', False):
            raise TypeError(f'{type(detector).__name__} has no rpn_head')
        _check_shift_backbone(detector.backbone)
        self.detector = detector
        levels = len(detector.rpn_head.prior_generator.strides)
        self.output_names = (
            [f'rpn_cls_score_{lvl}' for lvl in range(levels)] +
            [f'rpn_bbox_pred_{lvl}' for lvl in range(levels)])

    @property
    def shift_backbone(self) -> nn.Module:
        return self.detector.backbone

    def forward(self, frame: Tensor, *caches: Tensor) -> Tuple[Tensor]:
        """(B, 3, H, W) frames and K caches -> RPN maps and K new caches."""
        det = self.detector
        with det.backbone.explicit_caches(caches) as new_caches:
            feats = det.backbone(frame)
        if det.with_neck:
            feats = det.neck(feats)
        cls_scores, bbox_preds = det.rpn_head(feats)
        return (*cls_scores, *bbox_preds, *new_caches)


def cache_shapes(backbone: nn.Module, frame: Tensor) -> List[Tuple[int]]:
    """The shapes of the caches of every shift site for ``frame``.

    Args:
        backbone (nn.Module): A TSM backbone.
        frame (Tensor): (B, 3, H, W).

    Returns:
        list[tuple[int]]: (B, fold_k, H_k, W_k) per site, in site order.
    """
    with torch.no_grad(), backbone.explicit_caches() as new_caches:
        backbone(frame)
    return [tuple(cache.shape) for cache in new_caches]


def _export(module: nn.Module, args: tuple, out: str, input_names: list,
            output_names: list, dynamic_axes: dict) -> None:
    """``torch.onnx.export`` (TorchScript exporter) through
    :func:`~tsm_mm.utils.atomic_path`: a failed export leaves no partial
    file."""
    with atomic_path(out) as tmp, torch.no_grad():
        torch.onnx.export(
            module, args, tmp, dynamo=False, opset_version=OPSET,
            input_names=input_names, output_names=output_names,
            dynamic_axes=dynamic_axes or None, do_constant_folding=True)


def _tensor_specs(names: Sequence[str], tensors: Sequence[Tensor],
                  dynamic_batch: bool) -> List[dict]:
    return [dict(name=name,
                 shape=['batch' if dynamic_batch else t.shape[0],
                        *t.shape[1:]])
            for name, t in zip(names, tensors)]


def _check_batch_size(batch_size: int) -> None:
    # 0 streams traced an empty graph, or died of SIGFPE with a fixed axis
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) \
            or batch_size < 1:
        raise ValueError(f'batch_size must be a positive int, got '
                         f'{batch_size!r}')


def _interface_and_example(step: nn.Module, inputs: Dict[str, Tensor],
                           dynamic_batch: bool, **extra) -> Tuple[Dict, tuple]:
    """:func:`step_interface`, and the example arguments it ran."""
    step.eval()
    backbone = step.shift_backbone
    frame = next(iter(inputs.values()))
    shapes = cache_shapes(backbone, frame) if backbone is not None else []
    caches = [torch.zeros(shape) for shape in shapes]
    args = (*inputs.values(), *caches)
    with torch.no_grad():
        outs = step(*args)
    cache_names = [f'cache_{k}' for k in range(len(shapes))]
    new_names = [f'new_{name}' for name in cache_names]
    input_names = [*inputs, *cache_names]
    output_names = [*step.output_names, *new_names]
    if len(output_names) != len(outs):
        raise RuntimeError(f'the step gives {len(outs)} outputs, expected '
                           f'{len(output_names)} ({output_names})')
    interface = dict(
        mode='stream',
        frame_size=list(frame.shape[-2:]),
        inputs=_tensor_specs(input_names, args, dynamic_batch),
        outputs=_tensor_specs(output_names, outs, dynamic_batch),
        caches=[dict(input=name, output=new, site=k,
                     shape=['batch' if dynamic_batch else shape[0],
                            *shape[1:]],
                     fold=shape[1])
                for k, (name, new, shape) in enumerate(
                    zip(cache_names, new_names, shapes))],
        shift_div=getattr(backbone, 'shift_div', None),
        note='feed new_cache_k of one step as cache_k of the next; zeros '
        'start a new stream; inputs are preprocessed (normalized) frames',
        **extra)
    return interface, args


def step_interface(step: nn.Module, inputs: Dict[str, Tensor],
                   dynamic_batch: bool = True, **extra) -> Dict:
    """The interface of a streaming step module whose caches are its last
    inputs: what runs it, exported or not.

    Args:
        step (nn.Module): ``forward(*inputs, *caches) -> (*outputs,
            *new_caches)``, with ``output_names`` and ``shift_backbone``
            (None: a 2D network, no caches); set to eval mode.
        inputs (dict[str, Tensor]): The example inputs before the caches,
            by name; the first is ``frame`` (B, 3, H, W).
        dynamic_batch (bool): Declare axis 0 (the streams) dynamic.
        **extra: More entries of the interface.

    Returns:
        dict: ``inputs``, ``outputs`` and ``caches`` (name, new name, shape
        and fold of every shift site), ``frame_size`` and ``extra``.
    """
    return _interface_and_example(step, inputs, dynamic_batch, **extra)[0]


def export_step_onnx(step: nn.Module, out: str, inputs: Dict[str, Tensor],
                     dynamic_batch: bool = True, **extra) -> Dict:
    """Export a streaming step module whose caches are its last inputs.

    Args:
        step (nn.Module): As :func:`step_interface` takes it.
        out (str): The ``.onnx`` file to write (atomically).
        inputs (dict[str, Tensor]): The example inputs before the caches,
            by name; the first is ``frame`` (B, 3, H, W).
        dynamic_batch (bool): Declare axis 0 (the streams) dynamic.
        **extra: More entries of the interface.

    Returns:
        dict: The graph's interface (:func:`step_interface`) with its
        ``opset``, less the inputs the graph does not use.
    """
    interface, args = _interface_and_example(step, inputs, dynamic_batch,
                                             **extra)
    input_names = [spec['name'] for spec in interface['inputs']]
    output_names = [spec['name'] for spec in interface['outputs']]
    dynamic_axes = ({name: {0: 'batch'} for name in
                     input_names + output_names} if dynamic_batch else {})
    _export(step, args, out, input_names, output_names, dynamic_axes)
    # the exporter drops an input the graph does not use (YOLOX: img_shape)
    used = {i.name for i in onnx.load(out, load_external_data=False)
            .graph.input}
    interface['inputs'] = [spec for spec in interface['inputs']
                           if spec['name'] in used]
    return dict(mode=interface.pop('mode'), opset=OPSET, **interface)


def export_stream_onnx(model: nn.Module, out: str,
                       frame_size: Tuple[int, int], batch_size: int = 1,
                       dynamic_batch: bool = True) -> Dict:
    """Export one streaming step with explicit caches to ONNX.

    Args:
        model (nn.Module): A TSM backbone, or a detector whose backbone is
            one (exported up to its RPN head outputs).
        out (str): The ``.onnx`` file to write.
        frame_size (tuple[int, int]): (H, W) of the preprocessed frames;
            fixed in the graph (the cache shapes depend on it).
        batch_size (int): Streams per step in the traced example, >= 1
            (the stream axis when ``dynamic_batch`` is False).
        dynamic_batch (bool): Declare the stream axis dynamic.

    Returns:
        dict: The graph's interface (see :func:`export_step_onnx`).
    """
    _check_batch_size(batch_size)
    step = (BackboneStreamStep(model) if hasattr(model, 'num_shift_sites')
            else DetectorStreamStep(model))
    frame = torch.randn(batch_size, 3, *frame_size)
    return export_step_onnx(step, out, dict(frame=frame), dynamic_batch)


class BackboneClip(nn.Module):
    """The offline backbone over one clip (the op traces by concatenation,
    see :func:`~tsm_mm.ops.temporal_shift`)."""

    def __init__(self, backbone: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone

    def forward(self, clip: Tensor) -> Tuple[Tensor]:
        """(T, 3, H, W) -> the backbone's features of the T frames."""
        return tuple(_as_list(self.backbone(clip)))


def export_clip_onnx(backbone: nn.Module, out: str,
                     frame_size: Tuple[int, int]) -> Dict:
    """Export the offline backbone over one clip of ``num_segments`` frames.

    Args:
        backbone (nn.Module): A TSM backbone (its ``direction`` is used).
        out (str): The ``.onnx`` file to write.
        frame_size (tuple[int, int]): (H, W); the graph takes exactly
            (num_segments, 3, H, W).

    Returns:
        dict: The graph's ``inputs`` and ``outputs``.
    """
    module = BackboneClip(backbone).eval()
    h, w = frame_size
    clip = torch.randn(backbone.num_segments, 3, h, w)
    with torch.no_grad():
        outs = module(clip)
    output_names = [f'feat_{i}' for i in range(len(outs))]
    _export(module, (clip, ), out, ['clip'], output_names, {})
    return dict(
        mode='clip',
        opset=OPSET,
        frame_size=[h, w],
        direction=backbone.direction,
        inputs=_tensor_specs(['clip'], [clip], False),
        outputs=_tensor_specs(output_names, outs, False),
        caches=[])


def dump_interface(interface: Dict, path: str) -> None:
    """Write the interface of an exported graph as JSON, atomically."""
    with atomic_path(path) as tmp:
        dump(interface, tmp, file_format='json', indent=2)
