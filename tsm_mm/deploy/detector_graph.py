"""A detector's whole streaming step as one traceable module: frame and
caches in, final detections and new caches out.

``(frame, img_shape, scale_factor, cache_0..K-1) -> (boxes, scores,
labels, new_cache_0..K-1)``: backbone (explicit caches), neck, head, box
decoding, NMS and rescaling, as mmdet's ``predict`` does them, in fixed
shape tensors and standard ONNX ops. The post-processing is chosen by the
head's class: one rule for every dense head that keeps mmdet's
``BaseDenseHead`` post-processing (RetinaNet, FCOS, ATSS, RTMDet, ...),
one for YOLOX's objectness head, one for RPN + RoI heads (Faster R-CNN);
any other head is refused by name.
"""
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
from mmdet.models.dense_heads import RPNHead, YOLOXHead
from mmdet.models.dense_heads.base_dense_head import BaseDenseHead
from mmdet.models.roi_heads import StandardRoIHead
from torch import Tensor, nn

from .onnx_ops import INVALID_SCORE, batched_class_nms, roi_align_aligned
from .onnx_stream import (
    _check_batch_size,
    caches_context,
    export_step_onnx,
    shift_sites_of,
    step_interface,
)

OUTPUT_NAMES = ['boxes', 'scores', 'labels']
_DENSE_POSTPROCESS = ('predict_by_feat', '_predict_by_feat_single',
                      '_bbox_post_process')


def _levels(maps: Sequence[Tensor], channels: int) -> Tensor:
    """(B, A*channels, H, W) per level -> (B, sum(H*W*A), channels)."""
    return torch.cat([m.permute(0, 2, 3, 1).reshape(m.shape[0], -1, channels)
                      for m in maps], 1)


def _gather(rows: Tensor, index: Tensor) -> Tensor:
    """rows (B, N, D) at index (B, k) -> (B, k, D)."""
    return rows.gather(1, index[..., None].expand(-1, -1, rows.shape[-1]))


def _decode(coder, priors: Tensor, deltas: Tensor) -> Tensor:
    """The head's coder on (B, k, P) priors and (B, k, D) deltas."""
    batch, k = deltas.shape[:2]
    boxes = coder.decode(priors.reshape(batch * k, -1),
                         deltas.reshape(batch * k, -1), max_shape=None)
    return boxes.reshape(batch, k, 4)


def _clip(boxes: Tensor, img_shape: Tensor) -> Tensor:
    """Clamp (B, M, 4) boxes to each image's (h, w), as mmdet's coders do
    with ``max_shape``."""
    hw = img_shape.to(boxes)[:, None, :]
    upper = torch.cat([hw[..., 1:], hw[..., :1]], -1).repeat(1, 1, 2)
    return torch.min(boxes.clamp(min=0), upper)


def _rescale(boxes: Tensor, scale_factor: Tensor) -> Tensor:
    """Back to the original image: mmdet's ``scale_boxes(1 / s)``."""
    return boxes * scale_factor.to(boxes).reciprocal().repeat(1, 2)[:, None]


def _big_enough(boxes: Tensor, cfg) -> Tensor:
    """mmdet's ``min_bbox_size`` filter (none when it is negative)."""
    min_size = cfg.get('min_bbox_size', -1)
    if min_size < 0:
        return torch.ones_like(boxes[..., 0], dtype=torch.bool)
    return ((boxes[..., 2] - boxes[..., 0] > min_size)
            & (boxes[..., 3] - boxes[..., 1] > min_size))


def _nms(boxes: Tensor, scores: Tensor, labels: Tensor, valid: Tensor,
         num_classes: int, cfg, max_per_img: int) -> Tuple[Tensor, ...]:
    """mmcv's ``batched_nms(cfg.nms)`` then ``[:max_per_img]`` (<= 0:
    no cap, so every candidate has a row)."""
    nms_cfg = cfg.get('nms') or {}
    caps = [cap for cap in (nms_cfg.get('max_num', -1), max_per_img,
                            int(boxes.shape[1])) if cap > 0]
    if nms_cfg.get('type', 'nms') != 'nms':
        raise ValueError(f"test_cfg nms type {nms_cfg.get('type')!r} cannot "
                         "be exported: only type='nms' maps to ONNX "
                         'NonMaxSuppression')
    if nms_cfg.get('class_agnostic', False):
        labels, num_classes = torch.zeros_like(labels), 1
    scores = torch.where(valid, scores, torch.full_like(scores,
                                                        INVALID_SCORE))
    return batched_class_nms(boxes, scores, labels, num_classes,
                             float(nms_cfg.get('iou_threshold', 0.5)),
                             min(caps))


def _top_candidates(scores: Tensor, nms_pre: int) -> Tuple[Tensor, Tensor]:
    """The ``nms_pre`` best of (B, N) scores (all when ``nms_pre`` <= 0)."""
    k = scores.shape[1] if nms_pre <= 0 else min(nms_pre, scores.shape[1])
    return scores.topk(k, 1)


def _dense_level_candidates(head, cls_score, bbox_pred, score_factor, priors,
                            cfg):
    """``filter_scores_and_topk`` of one level: the ``nms_pre`` best
    (prior, class) pairs above ``score_thr``."""
    num_classes = head.cls_out_channels
    scores = _levels([cls_score], num_classes)
    scores = scores.sigmoid() if head.use_sigmoid_cls else \
        scores.softmax(-1)[..., :-1]
    num_classes = scores.shape[-1]
    top, index = _top_candidates(scores.flatten(1), cfg.get('nms_pre', -1))
    prior_index = torch.div(index, num_classes, rounding_mode='floor')
    deltas = _gather(_levels([bbox_pred], head.bbox_coder.encode_size),
                     prior_index)
    priors = priors[prior_index]
    valid = top > cfg.get('score_thr', 0)
    if score_factor is not None:  # FCOS centerness: after the threshold
        top = top * _gather(_levels([score_factor], 1),
                            prior_index)[..., 0].sigmoid()
    return deltas, priors, top, index % num_classes, valid


def dense_postprocess(head: BaseDenseHead, feats: List[Tensor],
                      img_shape: Tensor, scale_factor: Tensor) -> tuple:
    """``BaseDenseHead.predict_by_feat(rescale=True)`` in fixed shapes."""
    cfg = head.test_cfg
    outs = head(feats)
    cls_scores, bbox_preds = outs[:2]
    score_factors = outs[2] if len(outs) > 2 else [None] * len(cls_scores)
    mlvl_priors = head.prior_generator.grid_priors(
        [c.shape[-2:] for c in cls_scores], dtype=cls_scores[0].dtype,
        device=cls_scores[0].device)
    levels = [_dense_level_candidates(head, *level, cfg) for level in zip(
        cls_scores, bbox_preds, score_factors, mlvl_priors)]
    deltas, priors, scores, labels, valid = (
        torch.cat(parts, 1) for parts in zip(*levels))
    boxes = _decode(head.bbox_coder, priors, deltas)
    if getattr(head.bbox_coder, 'clip_border', True):
        boxes = _clip(boxes, img_shape)
    boxes = _rescale(boxes, scale_factor)
    valid = valid & _big_enough(boxes, cfg)
    return _nms(boxes, scores, labels, valid, head.num_classes, cfg,
                cfg.max_per_img)


def yolox_postprocess(head: YOLOXHead, feats: List[Tensor],
                      img_shape: Tensor, scale_factor: Tensor) -> tuple:
    """``YOLOXHead.predict_by_feat(rescale=True)`` in fixed shapes: one
    class per prior (its best), score = class score x objectness."""
    cfg = head.test_cfg
    cls_scores, bbox_preds, objectness = head(feats)
    priors = head.prior_generator.grid_priors(
        [c.shape[-2:] for c in cls_scores], dtype=cls_scores[0].dtype,
        device=cls_scores[0].device, with_stride=True)
    priors = torch.cat(priors)
    cls = _levels(cls_scores, head.cls_out_channels).sigmoid()
    obj = _levels(objectness, 1)[..., 0].sigmoid()
    boxes = head._bbox_decode(priors, _levels(bbox_preds, 4))
    max_scores, labels = cls.max(-1)
    scores = max_scores * obj
    valid = scores >= cfg.score_thr
    boxes = boxes / scale_factor.to(boxes).repeat(1, 2)[:, None]
    # YOLOX keeps every detection NMS keeps (no max_per_img)
    return _nms(boxes, scores, labels, valid, head.num_classes, cfg, -1)


def _rpn_proposals(head: RPNHead, feats: List[Tensor], img_shape: Tensor,
                   cfg) -> Tuple[Tensor, Tensor]:
    """``RPNHead.predict_by_feat(rescale=False)``: (B, P, 4) proposals
    and (B, P) scores (INVALID_SCORE past an image's proposals)."""
    cls_scores, bbox_preds = head(feats)
    mlvl_priors = head.prior_generator.grid_priors(
        [c.shape[-2:] for c in cls_scores], dtype=cls_scores[0].dtype,
        device=cls_scores[0].device)
    parts = []
    for level, (cls, reg, priors) in enumerate(
            zip(cls_scores, bbox_preds, mlvl_priors)):
        scores = _levels([cls], head.cls_out_channels)
        scores = scores.sigmoid() if head.use_sigmoid_cls else \
            scores.softmax(-1)[..., :-1]
        top, index = _top_candidates(scores[..., 0], cfg.get('nms_pre', -1))
        deltas = _gather(_levels([reg], head.bbox_coder.encode_size), index)
        parts.append((deltas, priors[index], top,
                      torch.full_like(index, level)))
    deltas, priors, scores, level_ids = (
        torch.cat(part, 1) for part in zip(*parts))
    boxes = _clip(_decode(head.bbox_coder, priors, deltas), img_shape)
    boxes, scores, _ = _nms(boxes, scores, level_ids, _big_enough(boxes, cfg),
                            len(cls_scores), cfg, cfg.max_per_img)
    return boxes, scores


def _roi_feats(extractor, feats: List[Tensor], boxes: Tensor,
               batch_index: Tensor) -> Tensor:
    """``SingleRoIExtractor``: each RoI pooled from its FPN level."""
    if getattr(extractor, 'roi_scale_factor', None) is not None:
        raise ValueError('roi_scale_factor cannot be exported')
    levels = extractor.num_inputs
    scale = ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])).sqrt()
    target = torch.floor(torch.log2(scale / extractor.finest_scale + 1e-6))
    target = target.clamp(min=0, max=levels - 1)
    out = None
    for level, layer in enumerate(extractor.roi_layers[:levels]):
        pooled = roi_align_aligned(feats[level], boxes, batch_index,
                                   layer.output_size, layer.spatial_scale,
                                   layer.sampling_ratio)
        mask = (target == level)[:, None, None, None]
        out = torch.where(mask, pooled, out if out is not None else
                          torch.zeros_like(pooled))
    return out


def two_stage_postprocess(detector: nn.Module, feats: List[Tensor],
                          img_shape: Tensor, scale_factor: Tensor) -> tuple:
    """RPN proposals, then ``StandardRoIHead.predict_bbox(rescale=True)``
    with ``multiclass_nms``, in fixed shapes."""
    roi_head = detector.roi_head
    proposals, proposal_scores = _rpn_proposals(
        detector.rpn_head, feats, img_shape, detector.test_cfg.rpn)
    batch, num_rois = proposals.shape[:2]
    batch_index = torch.arange(batch)[:, None].expand(-1, num_rois)
    rois = proposals.reshape(-1, 4)
    pooled = _roi_feats(roi_head.bbox_roi_extractor,
                        feats[:roi_head.bbox_roi_extractor.num_inputs], rois,
                        batch_index.reshape(-1))
    bbox_head = roi_head.bbox_head
    if bbox_head.reg_class_agnostic or bbox_head.custom_cls_channels:
        raise ValueError(f'{type(bbox_head).__name__} with class-agnostic '
                         'regression or custom class channels is not '
                         'exported')
    cls_score, bbox_pred = bbox_head(pooled)
    num_classes = bbox_head.num_classes
    scores = cls_score.softmax(-1)[:, :num_classes]
    deltas = bbox_pred.reshape(batch, num_rois * num_classes, 4)
    boxes = _decode(bbox_head.bbox_coder,
                    rois.repeat_interleave(num_classes, 0).reshape(
                        batch, num_rois * num_classes, 4), deltas)
    boxes = _rescale(_clip(boxes, img_shape), scale_factor)
    scores = scores.reshape(batch, num_rois * num_classes)
    labels = torch.arange(num_classes).repeat(num_rois)[None].expand(
        batch, -1)
    cfg = detector.test_cfg.rcnn
    real = (proposal_scores > INVALID_SCORE).repeat_interleave(num_classes, 1)
    valid = real & (scores > cfg.score_thr)
    return _nms(boxes, scores, labels, valid, num_classes, cfg,
                cfg.max_per_img)


def postprocess_rule(detector: nn.Module) -> Callable:
    """The post-processing of ``detector``'s head, or a ValueError that
    names the head and what is exported."""
    head = getattr(detector, 'bbox_head', None)
    if getattr(detector, 'with_rpn', False) and \
            isinstance(getattr(detector, 'roi_head', None),
                       StandardRoIHead) and \
            type(detector.roi_head).predict_bbox is \
            StandardRoIHead.predict_bbox and \
            not getattr(detector.roi_head, 'with_mask', False):
        return lambda feats, *meta: two_stage_postprocess(detector, feats,
                                                          *meta)
    if isinstance(head, YOLOXHead):
        return lambda feats, *meta: yolox_postprocess(head, feats, *meta)
    if isinstance(head, BaseDenseHead) and not isinstance(head, RPNHead) \
            and all(getattr(type(head), name) is getattr(BaseDenseHead, name)
                    for name in _DENSE_POSTPROCESS):
        return lambda feats, *meta: dense_postprocess(head, feats, *meta)
    name = type(head or getattr(detector, 'roi_head', detector)).__name__
    raise ValueError(
        f'{type(detector).__name__} with {name} cannot be exported whole: '
        'the graph knows dense heads with BaseDenseHead post-processing '
        '(RetinaNet, FCOS, ATSS, RTMDet, ...), YOLOX and RPN + '
        'StandardRoIHead (Faster R-CNN) boxes')


class DetectorFeatureStep(nn.Module):
    """A detector's backbone (explicit caches) and neck as one step.

    ``(frame, *caches) -> (*features, *new_caches)``: the part of a step
    with fixed shapes only (what ``torch.compile`` takes whole; NMS is
    data dependent).

    Args:
        detector (nn.Module): An mmdet detector (a video one with a TSM
            backbone, or its 2D twin: then the step has no caches).
    """

    def __init__(self, detector: nn.Module) -> None:
        super().__init__()
        self.detector = detector

    @property
    def output_names(self) -> List[str]:
        """``feat_i`` per neck output (counted on a small frame)."""
        with torch.no_grad():
            feats, _ = self.features(torch.zeros(1, 3, 64, 64), ())
        return [f'feat_{i}' for i in range(len(feats))]

    @property
    def shift_backbone(self) -> Optional[nn.Module]:
        return shift_sites_of(self.detector.backbone)

    def features(self, frame: Tensor, caches: Sequence[Tensor]
                 ) -> Tuple[List[Tensor], List[Tensor]]:
        """The neck's features and the new caches of one step."""
        det = self.detector
        with caches_context(self.shift_backbone, caches) as new_caches:
            feats = det.backbone(frame)
        if det.with_neck:
            feats = det.neck(feats)
        return list(feats), new_caches

    def forward(self, frame: Tensor, *caches: Tensor) -> Tuple[Tensor, ...]:
        feats, new_caches = self.features(frame, caches)
        return (*feats, *new_caches)


class DetectorGraphStep(DetectorFeatureStep):
    """One streaming step of a detector, frame to final detections.

    Args:
        detector (nn.Module): An mmdet detector (a video one with a TSM
            backbone, or its 2D twin: then the step has no caches).

    Forward args: ``frame`` (B, 3, H, W) preprocessed; ``img_shape`` (B, 2)
    resized (h, w) before padding; ``scale_factor`` (B, 2) (w, h) resize
    factors; the K caches. Returns ``boxes`` (B, D, 4) in original pixels,
    ``scores`` (B, D) (:data:`INVALID_SCORE` past an image's detections),
    ``labels`` (B, D) (-1 there), then the K new caches;
    D = ``test_cfg.max_per_img``.
    """

    output_names = OUTPUT_NAMES

    def __init__(self, detector: nn.Module) -> None:
        super().__init__(detector)
        self.postprocess = postprocess_rule(detector)

    def forward(self, frame: Tensor, img_shape: Tensor, scale_factor: Tensor,
                *caches: Tensor) -> Tuple[Tensor, ...]:
        feats, new_caches = self.features(frame, caches)
        return (*self.postprocess(feats, img_shape, scale_factor),
                *new_caches)


def preprocessing(detector: nn.Module) -> Dict:
    """What a runtime does to a BGR frame before the graph, from the
    detector's data preprocessor."""
    pre = detector.data_preprocessor
    return dict(
        mean=pre.mean.flatten().tolist(), std=pre.std.flatten().tolist(),
        bgr_to_rgb=bool(getattr(pre, '_channel_conversion', False)),
        pad_size_divisor=int(getattr(pre, 'pad_size_divisor', 1)),
        pad_value=float(getattr(pre, 'pad_value', 0)))


def _detector_inputs(frame_size: Tuple[int, int],
                     batch_size: int) -> Dict[str, Tensor]:
    """Example inputs of :class:`DetectorGraphStep`, before the caches."""
    _check_batch_size(batch_size)
    h, w = frame_size
    return dict(frame=torch.randn(batch_size, 3, h, w),
                img_shape=torch.tensor([[h, w]] * batch_size,
                                       dtype=torch.float32),
                scale_factor=torch.ones(batch_size, 2))


def _detector_extra(detector: nn.Module) -> Dict:
    """What a detector step's interface says besides its tensors."""
    classes = (getattr(detector, 'dataset_meta', None) or {}).get('classes')
    return dict(
        preprocess=preprocessing(detector),
        classes=list(classes) if classes else None,
        detections='boxes (B, D, 4) x1 y1 x2 y2 in original pixels, scores '
        f'(B, D) best first ({INVALID_SCORE} past the detections), labels '
        '(B, D) (-1 there); img_shape (B, 2) is the resized (h, w) before '
        'padding, scale_factor (B, 2) the resize (w, h) factors')


def detector_interface(detector: nn.Module, frame_size: Tuple[int, int],
                       **extra) -> Dict:
    """The interface of a detector's whole step (:class:`DetectorGraphStep`)
    without exporting it: what a runtime that runs the step in PyTorch
    reads (:class:`~tsm_mm.deploy.TorchStream`).

    Args:
        detector (nn.Module): An mmdet detector in eval mode.
        frame_size (tuple[int, int]): (H, W) of the padded frames.
        **extra: More entries (the test ``resize``, ...).

    Returns:
        dict: As :func:`export_detector_onnx` returns, with no ``opset``.
    """
    return step_interface(DetectorGraphStep(detector),
                          _detector_inputs(frame_size, 1), True,
                          **_detector_extra(detector), **extra)


def export_detector_onnx(detector: nn.Module, out: str,
                         frame_size: Tuple[int, int], batch_size: int = 1,
                         dynamic_batch: bool = True,
                         **extra) -> Dict:
    """Export a detector's whole streaming step (:class:`DetectorGraphStep`)
    to ONNX.

    Args:
        detector (nn.Module): An mmdet detector in eval mode (a TSM video
            detector, or a 2D one: no caches).
        out (str): The ``.onnx`` file to write (atomically).
        frame_size (tuple[int, int]): (H, W) of the padded preprocessed
            frames, fixed in the graph.
        batch_size (int): Streams in the traced example.
        dynamic_batch (bool): Declare the stream axis dynamic.
        **extra: More entries of the interface (the test resize, ...).

    Returns:
        dict: The interface (:func:`~tsm_mm.deploy.export_step_onnx`) with
        ``preprocess`` (:func:`preprocessing`), ``classes`` and
        ``detections`` (what the outputs hold).
    """
    return export_step_onnx(
        DetectorGraphStep(detector), out,
        _detector_inputs(frame_size, batch_size), dynamic_batch,
        **_detector_extra(detector), **extra)
