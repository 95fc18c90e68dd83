"""ImageNet-VID mAP with FGFA's slow/medium/fast split, as an MMEngine metric.
"""
import logging
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmdet.evaluation.metrics.base_video_metric import BaseVideoMetric
from mmdet.registry import METRICS
from mmengine.logging import print_log
from mmengine.structures import BaseDataElement
from terminaltables import AsciiTable

from ..datasets.cocovid_json import load_cocovid_json
from .frame_records import (
    check_inverted_boxes,
    frame_record,
    warn_missing_frames,
)
from .functional import FGFA_MOTION_RANGES, MOTION_RULES, motion_iou, vid_map


def _as_dict(element) -> dict:
    return element.to_dict() if isinstance(element,
                                           BaseDataElement) else element


@METRICS.register_module()
class VIDMetric(BaseVideoMetric):
    """ImageNet-VID detection mAP (devkit) and FGFA's motion-speed mAPs.

    Every processed frame is scored. MMEngine's loops call
    ``evaluate(len(dataset))`` and a test-mode video dataset has one item
    per *video*, while this metric keeps one result per *frame*:
    ``BaseMetric`` would keep only the first ``len(dataset)`` frames, so
    this class takes ``evaluate`` from MMDetection's ``BaseVideoMetric``,
    which collects every rank's results whole.

    Reports ``mAP`` (ILSVRC devkit: IoU >= min(iou_thr, wh/((w+10)(h+10))),
    +1 pixel widths, VOC area AP, mean over classes with GT) and
    ``mAP_<name>`` per motion range (FGFA: motion IoU of a GT box = mean IoU
    with its own instance at t±1..10; out-of-range GT ignored). See
    :func:`tsm_mm.evaluation.functional.vid_map`.

    ``process`` takes what a video detector's ``predict`` returns:
    ``TrackDataSample`` (T >= 1 frames) or ``DetDataSample``, as objects or
    as their ``to_dict()``. Each frame needs metainfo ``video_id``,
    ``frame_id`` (and ``img_id`` with ``ann_file``), ``pred_instances``
    (``bboxes`` xyxy in original image coordinates, ``scores``, ``labels``)
    and, without ``ann_file``, the raw GT ``instances`` (``bbox`` xyxy,
    ``bbox_label``, ``instance_id``, ``ignore_flag``). A frame whose ids are
    not integers or whose arrays have other shapes is an error naming it.

    Nothing is scored silently wrong: no frame at all is an error; predicted
    boxes with x2 < x1 or y2 < y1 are warned about (counted, the first
    named), and refused when every box is so; without ``ann_file``, frames
    missing from a video (``frame_id``s short of the metainfo's
    ``ori_video_length``) are counted in a warning.

    Args:
        iou_thr (float): the devkit's default IoU threshold. Defaults to 0.5.
        motion_ranges (dict, optional): name -> closed [low, high]
            motion-IoU range. None skips the split. Defaults to FGFA's
            ``slow`` [0.9, 1], ``medium`` [0.7, 0.9], ``fast`` [0, 0.7].
        classwise (bool): log a per-class table. Defaults to True.
        ann_file (str, optional): CocoVID json (``videos``, ``images`` with
            ``video_id``/``frame_id``, ``annotations`` with ``bbox``
            [x, y, w, h] and ``instance_id``) to take GT from, matched to
            frames by ``img_id``; motion IoUs then use every annotated frame
            of the file. Read as json only (any other suffix, e.g. a
            pickle, is refused unread), every record checked
            (:func:`~tsm_mm.datasets.cocovid_json.check_cocovid`). Every
            image of the file must get a prediction: a missing one is an
            error naming how many and the first few (so a subset is never
            scored silently). Defaults to None (GT from
            the data samples).
        lone_motion_iou (float): motion IoU of a box with no neighbour in
            t±1..10 (FGFA reads such empty entries as 0). Defaults to 1.0.
        motion_rule (str): ``'fgfa'`` or ``'mega'``: how the motion split
            weighs unmatched detections, see
            :func:`~tsm_mm.evaluation.functional.vid_map`. Defaults to
            ``'fgfa'``.
        collect_device (str): 'cpu' or 'gpu'. Defaults to 'cpu'.
        prefix (str, optional): metric name prefix. Defaults to 'vid'.
        backend_args (dict, optional): file backend for ``ann_file``.
    """

    default_prefix: Optional[str] = 'vid'
    #: ``(det_results, gt_annotations)`` that the last ``evaluate`` scored
    #: (on the main process), as :func:`vid_map` took them: for paired
    #: comparisons such as :func:`paired_video_bootstrap`.
    scored: Optional[tuple] = None

    def __init__(self,
                 iou_thr: float = 0.5,
                 motion_ranges: Optional[Dict[str, Sequence[float]]] = (
                     FGFA_MOTION_RANGES),
                 classwise: bool = True,
                 ann_file: Optional[str] = None,
                 lone_motion_iou: float = 1.0,
                 motion_rule: str = 'fgfa',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 backend_args: Optional[dict] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.iou_thr = iou_thr
        self.motion_ranges = {
            name: (float(low), float(high))
            for name, (low, high) in (motion_ranges or {}).items()
        }
        self.classwise = classwise
        self.ann_file = ann_file
        self.lone_motion_iou = lone_motion_iou
        if motion_rule not in MOTION_RULES:
            raise ValueError(f'motion_rule must be one of {MOTION_RULES}, '
                             f'got {motion_rule!r}')
        self.motion_rule = motion_rule
        self._coco_vid = None
        if ann_file is not None:  # json only: a pickle could run code
            self._coco_vid = load_cocovid_json(ann_file, backend_args)

    def process(self, data_batch: dict, data_samples: Sequence) -> None:
        """Keep, per data sample, numpy predictions (and GT) of its frames.
        """
        for sample in data_samples:
            sample = _as_dict(sample)
            frames = sample.get('video_data_samples', [sample])
            self.results.append([
                frame_record(_as_dict(f), with_gt=self._coco_vid is None)
                for f in frames
            ])

    def compute_metrics(self, results: List[list]) -> Dict[str, float]:
        """Compute ``mAP`` and ``mAP_<range>`` over all processed frames."""
        classes = self.dataset_meta['classes']
        frames = [frame for sample in results for frame in sample]
        if not frames:
            raise ValueError(
                'VIDMetric: no frame was processed, nothing to score: is the '
                'test set empty, or did the model return no data samples?')
        print_log(
            f'VIDMetric: scored {len(frames)} frames of '
            f'{len({f["video_id"] for f in frames})} videos',
            logger='current')
        check_inverted_boxes(frames)
        if self._coco_vid is None:
            warn_missing_frames(frames)
            gts = [
                dict(video_id=f['video_id'], frame_id=f['frame_id'],
                     **f['gt']) for f in frames
            ]
        else:
            gts = self._gt_from_ann_file(frames, classes)
        self.scored = (frames, gts)
        outcome = vid_map(
            frames,
            gts,
            num_classes=len(classes),
            motion_ranges=self.motion_ranges,
            iou_thr=self.iou_thr,
            lone_motion_iou=self.lone_motion_iou,
            motion_rule=self.motion_rule)
        if np.isnan(outcome['mAP']):
            print_log(
                'VIDMetric: no ground truth box of any class in the '
                f'{len(frames)} frames scored: mAP is nan. Are the classes '
                f'{tuple(classes)} those of the annotations?',
                logger='current', level=logging.WARNING)
        if self.classwise:
            self._log_table(outcome, classes)
        metrics = {'mAP': outcome['mAP']}
        for name in self.motion_ranges:
            metrics[f'mAP_{name}'] = outcome[f'mAP_{name}']
        return metrics

    def _gt_from_ann_file(self, frames: List[dict],
                          classes: Sequence[str]) -> List[dict]:
        """Per-frame GT (with motion IoU over the whole file) of ``frames``.
        """
        coco = self._coco_vid
        label_of = {
            c['id']: classes.index(c['name'])
            for c in coco['categories'] if c['name'] in classes
        }
        images = {img['id']: img for img in coco['images']}
        anns = [a for a in coco['annotations'] if a['category_id'] in label_of]
        xywh = np.array([a['bbox'] for a in anns],
                        dtype=np.float64).reshape(-1, 4)
        bboxes = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], 1)
        img_ids = np.array([a['image_id'] for a in anns], dtype=np.int64)
        labels = np.array([label_of[a['category_id']] for a in anns],
                          dtype=np.int64)
        instance_ids = np.array([a.get('instance_id', -1) for a in anns],
                                dtype=np.int64)
        ignore = np.array(
            [bool(a.get('ignore', False) or a.get('iscrowd', False))
             for a in anns], dtype=bool)
        motion = np.zeros(len(anns))
        if self.motion_ranges:
            # a still image (no video_id) is a video of its own
            motion = motion_iou(
                bboxes,
                np.array([images[i].get('video_id', -1 - i) for i in img_ids],
                         np.int64),
                np.array([images[i].get('frame_id', 0) for i in img_ids],
                         np.int64),
                instance_ids,
                lone_value=self.lone_motion_iou)
        order = np.argsort(img_ids, kind='stable')
        sorted_ids = img_ids[order]
        gts = []
        for frame in frames:
            img_id = frame['img_id']
            if img_id not in images:
                raise KeyError(f'{self.ann_file}: no image with id {img_id} '
                               f'(video_id, frame_id)=({frame["video_id"]}, '
                               f'{frame["frame_id"]})')
            lo, hi = np.searchsorted(sorted_ids, [img_id, img_id + 1])
            sel = order[lo:hi]
            gts.append(
                dict(video_id=frame['video_id'], frame_id=frame['frame_id'],
                     bboxes=bboxes[sel], labels=labels[sel],
                     instance_ids=instance_ids[sel], ignore_flags=ignore[sel],
                     motion_ious=motion[sel]))
        self._check_every_image_predicted(frames, images)
        return gts

    def _check_every_image_predicted(self, frames: List[dict],
                                     images: Dict[int, dict]) -> None:
        """Refuse to score a subset of ``ann_file``'s images."""
        predicted = {frame['img_id'] for frame in frames}
        missing = [img for img_id, img in images.items()
                   if img_id not in predicted]
        if missing:
            first = ', '.join(
                f"{img.get('file_name', img['id'])} (video_id="
                f"{img.get('video_id')}, frame_id={img.get('frame_id')})"
                for img in missing[:5])
            raise ValueError(
                f'{self.ann_file}: {len(missing)} of {len(images)} images got '
                f'no prediction, first: {first}. Test every frame of the '
                'file, or leave ann_file unset to score the frames given '
                '(GT from the data samples)')

    def _log_table(self, outcome: dict, classes: Sequence[str]) -> None:
        """Log gts/dets/recall/AP per class, one AP column per range."""
        names = list(self.motion_ranges)
        classwise = outcome['classwise']

        def fmt(value: float) -> str:
            return '-' if np.isnan(value) else f'{value:.3f}'

        header = ['class', 'gts', 'dets', 'recall', 'AP'] + [
            f'AP_{n}' for n in names
        ]
        rows = [header]
        for c, name in enumerate(classes):
            rows.append([
                name,
                int(classwise['all']['num_gts'][c]),
                int(outcome['num_dets'][c]),
                fmt(classwise['all']['recall'][c]),
                fmt(classwise['all']['ap'][c]),
            ] + [fmt(classwise[n]['ap'][c]) for n in names])
        rows.append(['mAP', '', '', '', fmt(outcome['mAP'])] +
                    [fmt(outcome[f'mAP_{n}']) for n in names])
        table = AsciiTable(rows)
        table.inner_footing_row_border = True
        print_log('\n' + table.table, logger='current')

