"""Synthetic ImageNet-VID-sized inputs and the timing of :func:`vid_map`."""
import time
from typing import List, Tuple

import numpy as np

from ..evaluation.functional import vid_map


def make_synthetic_vid(num_frames: int = 176126,
                       dets_per_frame: int = 30,
                       num_videos: int = 555,
                       num_classes: int = 30,
                       seed: int = 0) -> Tuple[List[dict], List[dict]]:
    """Moving GT tracks and noisy detections in the layout of the VID val set.

    Each video holds 1-3 instances moving by a random walk (speeds from
    still to fast), so motion IoUs fill all three FGFA bins. Per frame, 3
    jittered detections follow each GT (some with a wrong label) and random
    boxes fill up to ``dets_per_frame``.

    Returns:
        tuple[list[dict], list[dict]]: ``det_results`` and ``gt_annotations``
        in the form :func:`vid_map` takes.
    """
    rng = np.random.default_rng(seed)
    # frames per video: near-equal split
    video_len = np.full(num_videos, num_frames // num_videos)
    video_len[:num_frames % num_videos] += 1
    frame_video = np.repeat(np.arange(num_videos), video_len)
    frame_index = np.arange(num_frames) - np.repeat(
        np.cumsum(video_len) - video_len, video_len)

    # instances: 1-3 per video, present in every frame of it
    inst_per_video = rng.integers(1, 4, num_videos)
    inst_video = np.repeat(np.arange(num_videos), inst_per_video)
    num_inst = len(inst_video)
    inst_label = rng.integers(0, num_classes, num_inst)
    inst_size = rng.uniform(20, 300, (num_inst, 2))
    inst_speed = rng.choice([0.2, 2.0, 8.0, 25.0], num_inst)

    # GT rows: each frame x each instance of its video
    per_frame = inst_per_video[frame_video]
    gt_frame = np.repeat(np.arange(num_frames), per_frame)
    first_inst = (np.cumsum(inst_per_video) - inst_per_video)[frame_video]
    gt_inst = np.repeat(first_inst, per_frame) + (
        np.arange(len(gt_frame)) -
        np.repeat(np.cumsum(per_frame) - per_frame, per_frame))
    # random walk per instance: cumulative steps along the video
    steps = rng.normal(0, 1, (len(gt_frame), 2)) * inst_speed[gt_inst, None]
    order = np.lexsort((frame_index[gt_frame], gt_inst))
    walk = np.empty_like(steps)
    walk[order] = np.cumsum(steps[order], axis=0)
    start = np.searchsorted(gt_inst[order], np.arange(num_inst))
    walk[order] -= np.repeat(walk[order][start] - steps[order][start],
                             np.bincount(gt_inst, minlength=num_inst),
                             axis=0)
    centre = 500 + np.clip(walk, -400, 400)
    half = inst_size[gt_inst] / 2
    gt_boxes = np.concatenate([centre - half, centre + half], axis=1)

    # detections: 3 jittered copies per GT, random boxes for the rest
    near = np.repeat(np.arange(len(gt_frame)), 3)
    near_boxes = gt_boxes[near] + rng.normal(0, 6, (len(near), 4))
    near_boxes[:, 2:] = np.maximum(near_boxes[:, 2:], near_boxes[:, :2])
    near_labels = np.where(
        rng.random(len(near)) < 0.8, inst_label[gt_inst[near]],
        rng.integers(0, num_classes, len(near)))
    near_frame = gt_frame[near]
    num_rand = np.maximum(dets_per_frame - 3 * per_frame, 0)
    rand_frame = np.repeat(np.arange(num_frames), num_rand)
    xy = rng.uniform(0, 900, (len(rand_frame), 2))
    wh = rng.uniform(10, 300, (len(rand_frame), 2))
    rand_boxes = np.concatenate([xy, xy + wh], axis=1)
    det_frame = np.concatenate([near_frame, rand_frame])
    det_order = np.argsort(det_frame, kind='stable')
    det_boxes = np.concatenate([near_boxes, rand_boxes])[det_order]
    det_labels = np.concatenate(
        [near_labels,
         rng.integers(0, num_classes, len(rand_frame))])[det_order]
    det_scores = np.concatenate(
        [rng.uniform(0.3, 1.0, len(near)),
         rng.uniform(0.0, 0.7, len(rand_frame))]).astype(np.float32)
    det_scores = det_scores[det_order]
    det_split = np.cumsum(np.bincount(det_frame, minlength=num_frames))[:-1]
    gt_split = np.cumsum(per_frame)[:-1]

    det_results = [
        dict(bboxes=b.astype(np.float32), scores=s, labels=lab)
        for b, s, lab in zip(
            np.split(det_boxes, det_split), np.split(det_scores, det_split),
            np.split(det_labels, det_split))
    ]
    gt_annotations = [
        dict(video_id=int(v), frame_id=int(f), bboxes=b, labels=lab,
             instance_ids=i)
        for v, f, b, lab, i in zip(frame_video, frame_index,
                                   np.split(gt_boxes, gt_split),
                                   np.split(inst_label[gt_inst], gt_split),
                                   np.split(gt_inst, gt_split))
    ]
    return det_results, gt_annotations


def bench_vid_metric(num_frames: int = 176126,
                     dets_per_frame: int = 30,
                     seed: int = 0) -> dict:
    """Time :func:`vid_map` (mAP + slow/medium/fast) on synthetic data.

    Returns:
        dict: sizes, ``generate_s``, ``vid_map_s`` and the resulting mAPs.
    """
    t0 = time.perf_counter()
    det_results, gt_annotations = make_synthetic_vid(
        num_frames, dets_per_frame, seed=seed)
    t1 = time.perf_counter()
    result = vid_map(det_results, gt_annotations, num_classes=30)
    t2 = time.perf_counter()
    return dict(
        num_frames=num_frames,
        num_dets=int(sum(len(d['scores']) for d in det_results)),
        num_gts=int(sum(len(g['labels']) for g in gt_annotations)),
        generate_s=round(t1 - t0, 2),
        vid_map_s=round(t2 - t1, 2),
        **{k: round(v, 4)
           for k, v in result.items() if k.startswith('mAP')})
