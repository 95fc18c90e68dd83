"""mmcv's NMS and RoIAlign as standard ONNX ops (no custom op library).

mmcv 2.x's ``nms`` has no ONNX symbolic and its ``RoIAlign`` symbolic
targets opset 10 semantics, so both are wrapped here by hand; their eager
forwards run mmcv's kernels, which makes the PyTorch module the reference
of the exported graph.
"""
from typing import Tuple

import torch
from mmcv.ops import nms, roi_align
from torch import Tensor

# candidates that must not be selected carry this score (below every
# sigmoid/softmax score); NMS drops them with score_threshold=0
INVALID_SCORE = -1.0


class _NonMaxSuppression(torch.autograd.Function):
    """ONNX ``NonMaxSuppression`` (corner boxes): (S, 3) selected
    ``[batch, class, box]`` indices, per image and class in score order."""

    @staticmethod
    def forward(ctx, boxes: Tensor, scores: Tensor, max_per_class: int,
                iou_threshold: float) -> Tensor:
        selected = []
        for b in range(scores.shape[0]):
            for c in range(scores.shape[1]):
                candidates = (scores[b, c] > 0).nonzero()[:, 0]
                if not len(candidates):
                    continue
                _, keep = nms(boxes[b, candidates], scores[b, c, candidates],
                              iou_threshold)
                keep = candidates[keep[:max_per_class]]
                selected.append(torch.stack(
                    [torch.full_like(keep, b), torch.full_like(keep, c),
                     keep], 1))
        if not selected:
            return boxes.new_zeros((0, 3), dtype=torch.long)
        return torch.cat(selected)

    @staticmethod
    def symbolic(g, boxes, scores, max_per_class, iou_threshold):
        return g.op(
            'NonMaxSuppression', boxes, scores,
            g.op('Constant', value_t=torch.tensor([max_per_class])),
            g.op('Constant', value_t=torch.tensor([iou_threshold],
                                                  dtype=torch.float32)),
            g.op('Constant', value_t=torch.tensor([0.0])))


def batched_class_nms(boxes: Tensor, scores: Tensor, labels: Tensor,
                      num_classes: int, iou_threshold: float,
                      max_per_img: int) -> Tuple[Tensor, Tensor, Tensor]:
    """mmcv's ``batched_nms`` then ``[:max_per_img]``, per image, as fixed
    shape tensors.

    Args:
        boxes (Tensor): (B, M, 4) candidate boxes (x1, y1, x2, y2).
        scores (Tensor): (B, M); :data:`INVALID_SCORE` for candidates that
            must not be kept.
        labels (Tensor): (B, M) class of each candidate (NMS is per class).
        num_classes (int): Labels are in ``[0, num_classes)``.
        iou_threshold (float): A box whose IoU with a kept box of its class
            is above this is dropped.
        max_per_img (int): Detections kept per image, best first.

    Returns:
        tuple[Tensor]: ``boxes`` (B, max_per_img, 4), ``scores`` (B,
        max_per_img) and ``labels`` (B, max_per_img); the rows after an
        image's detections have score :data:`INVALID_SCORE` and label -1.
    """
    batch = boxes.shape[0]
    own_class = labels[:, None, :] == torch.arange(num_classes)[None, :, None]
    class_scores = torch.where(own_class, scores[:, None, :],
                               torch.full_like(scores[:, None, :],
                                               INVALID_SCORE))
    selected = _NonMaxSuppression.apply(boxes, class_scores, max_per_img,
                                        iou_threshold)
    image, box = selected[:, 0], selected[:, 2]
    kept = scores[image, box]
    # (B, S) scores of each image's selections, then max_per_img columns
    # of padding so that top-k always has enough
    per_image = torch.where(
        image[None, :] == torch.arange(batch)[:, None], kept[None, :],
        torch.full_like(kept[None, :], 2 * INVALID_SCORE))
    padding = per_image.new_full((batch, max_per_img), 2 * INVALID_SCORE)
    top, order = torch.cat([per_image, padding], 1).topk(max_per_img, 1)
    valid = top > INVALID_SCORE
    # padding columns point at box 0; their rows are masked below
    picked = torch.cat([box, box.new_zeros(max_per_img)])[order]
    rows = torch.arange(batch)[:, None].expand_as(picked)
    out_boxes = torch.where(valid[..., None], boxes[rows, picked],
                            torch.zeros_like(boxes[:, :1]))
    out_scores = torch.where(valid, top, torch.full_like(top, INVALID_SCORE))
    out_labels = torch.where(valid, labels[rows, picked],
                             torch.full_like(picked, -1))
    return out_boxes, out_scores, out_labels


class _RoIAlign(torch.autograd.Function):
    """mmcv ``RoIAlign(aligned=True, pool_mode='avg')`` as ONNX ``RoiAlign``
    (opset 16, ``half_pixel``)."""

    @staticmethod
    def forward(ctx, feats: Tensor, boxes: Tensor, batch_index: Tensor,
                output_size: Tuple[int, int], spatial_scale: float,
                sampling_ratio: int) -> Tensor:
        rois = torch.cat([batch_index[:, None].to(boxes), boxes], 1)
        # mmcv's CPU kernel reads NCHW memory: a channels-last map would
        # be read as garbage
        return roi_align(feats.contiguous(), rois, output_size, spatial_scale,
                         sampling_ratio, 'avg', True)

    @staticmethod
    def symbolic(g, feats, boxes, batch_index, output_size, spatial_scale,
                 sampling_ratio):
        return g.op('RoiAlign', feats, boxes, batch_index,
                    coordinate_transformation_mode_s='half_pixel',
                    mode_s='avg', output_height_i=output_size[0],
                    output_width_i=output_size[1],
                    sampling_ratio_i=max(0, sampling_ratio),
                    spatial_scale_f=spatial_scale)


def roi_align_aligned(feats: Tensor, boxes: Tensor, batch_index: Tensor,
                      output_size: Tuple[int, int], spatial_scale: float,
                      sampling_ratio: int = 0) -> Tensor:
    """Average RoIAlign with the half-pixel offset (mmcv ``aligned=True``).

    Args:
        feats (Tensor): (B, C, H, W) feature map.
        boxes (Tensor): (R, 4) boxes in input pixels.
        batch_index (Tensor): (R,) int64 image of each box.
        output_size (tuple[int, int]): Pooled (h, w).
        spatial_scale (float): Feature pixels per input pixel.
        sampling_ratio (int): Samples per bin side, 0 for adaptive.

    Returns:
        Tensor: (R, C, h, w).
    """
    return _RoIAlign.apply(feats, boxes, batch_index, tuple(output_size),
                           float(spatial_scale), int(sampling_ratio))
