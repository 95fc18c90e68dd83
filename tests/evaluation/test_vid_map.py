"""vid_map / motion_iou against hand-computed values and a loop reference."""
import re

import numpy as np
import pytest

from tsm_mm.evaluation.functional import (
    FGFA_MOTION_RANGES,
    MOTION_RULES,
    motion_iou,
    vid_map,
)


def box(x1, y1, x2, y2):
    return [float(x1), float(y1), float(x2), float(y2)]


def frame_gt(video_id, frame_id, boxes=(), labels=(), instance_ids=None):
    gt = dict(video_id=video_id, frame_id=frame_id,
              bboxes=np.array(boxes, dtype=float).reshape(-1, 4),
              labels=np.array(labels, dtype=int))
    if instance_ids is not None:
        gt['instance_ids'] = np.array(instance_ids, dtype=int)
    return gt


def frame_det(boxes=(), scores=(), labels=()):
    return dict(bboxes=np.array(boxes, dtype=float).reshape(-1, 4),
                scores=np.array(scores, dtype=float),
                labels=np.array(labels, dtype=int))


def shift_iou(dx, size=100):
    """IoU of two size x size (devkit +1) boxes shifted by dx along x."""
    return (size - dx) / (size + dx)


# ---------------------------------------------------------------- motion IoU


def test_motion_iou_hand_built_track():
    # 12 frames, 100-wide box moving 5 px a frame; a 2nd video reuses the
    # instance id; a lone box; a box without track
    xs = np.arange(12) * 5
    boxes = [box(x, 0, x + 99, 99) for x in xs]
    boxes += [box(0, 0, 99, 99), box(500, 500, 549, 549), box(0, 0, 9, 9)]
    video = [0] * 12 + [1, 2, 0]
    frame = list(range(12)) + [3, 0, 0]
    inst = [7] * 12 + [7, 1, -1]
    got = motion_iou(np.array(boxes), video, frame, inst, lone_value=0.25)

    def expected(t):
        offsets = [k for k in range(-10, 11) if k and 0 <= t + k < 12]
        return np.mean([shift_iou(5 * abs(k)) for k in offsets])

    # frame 0: neighbours 1..10 only (frame 11 is 11 frames away)
    assert got[0] == pytest.approx(
        np.mean([shift_iou(5 * k) for k in range(1, 11)]), abs=1e-12)
    for t in range(12):
        assert got[t] == pytest.approx(expected(t), abs=1e-12)
    # video 1's instance 7 has no neighbour of its own video: lone
    assert got[12:].tolist() == [0.25, 0.25, 0.25]


def test_motion_iou_skips_missing_frames_and_duplicate_is_error():
    # instance seen at frames 0, 1, 3: frame 2 missing is not counted
    boxes = np.array([box(10 * t, 0, 10 * t + 99, 99) for t in (0, 1, 3)])
    got = motion_iou(boxes, [0, 0, 0], [0, 1, 3], [1, 1, 1])
    assert got[0] == pytest.approx((shift_iou(10) + shift_iou(30)) / 2)
    assert got[1] == pytest.approx((shift_iou(10) + shift_iou(20)) / 2)
    assert got[2] == pytest.approx((shift_iou(30) + shift_iou(20)) / 2)
    with pytest.raises(ValueError, match='instance_id 1 appears twice'):
        motion_iou(boxes, [0, 0, 0], [0, 1, 1], [1, 1, 1])


# ------------------------------------------------------- hand-computed mAPs


def speed_tracks():
    """Three 2-frame tracks (one video each), one class: slow/medium/fast.

    Each box has one neighbour, so its motion IoU is shift_iou(dx):
    dx=2 -> 0.96 (slow), dx=10 -> 0.82 (medium), dx=30 -> 0.54 (fast).
    """
    gts = []
    for video, dx in enumerate((2, 10, 30)):
        for t in range(2):
            x = 200 * video + dx * t
            gts.append(frame_gt(video, t, [box(x, 0, x + 99, 99)], [0], [1]))
    return gts


def perfect(gts, skip_videos=()):
    return [
        frame_det(g['bboxes'], [0.9] * len(g['labels']), g['labels'])
        if g['video_id'] not in skip_videos else frame_det() for g in gts
    ]


def test_perfect_detections_are_one_everywhere():
    gts = speed_tracks()
    motion = motion_iou(
        np.concatenate([g['bboxes'] for g in gts]),
        [g['video_id'] for g in gts], [g['frame_id'] for g in gts],
        [1] * 6)
    assert motion.tolist() == pytest.approx(
        [shift_iou(d) for d in (2, 2, 10, 10, 30, 30)])
    result = vid_map(perfect(gts), gts, num_classes=2)
    for key in ('mAP', 'mAP_slow', 'mAP_medium', 'mAP_fast'):
        assert result[key] == 1.0
    assert result['classwise']['slow']['num_gts'].tolist() == [2, 0]
    assert np.isnan(result['classwise']['all']['ap'][1])  # class 1: no GT


def test_missing_all_fast_boxes():
    gts = speed_tracks()
    result = vid_map(perfect(gts, skip_videos=(2, )), gts, num_classes=1)
    # one class, 6 GT, 4 found at precision 1: AP = 4/6
    assert result['mAP'] == pytest.approx(4 / 6)
    # dets matched to out-of-range GT count neither TP nor FP
    assert result['mAP_slow'] == 1.0
    assert result['mAP_medium'] == 1.0
    assert result['mAP_fast'] == 0.0


def test_two_classes_duplicate_miss_false_positive():
    g1, g2 = box(0, 0, 99, 99), box(300, 300, 399, 399)
    h1, h2, h3 = box(0, 0, 49, 49), box(100, 100, 149, 149), box(
        200, 0, 249, 49)
    gts = [
        frame_gt(0, 0, [g1, h1], [0, 1]),
        frame_gt(0, 1, [g2, h2, h3], [0, 1, 1]),
    ]
    dets = [
        frame_det(
            [g1, box(2, 2, 101, 101), h1, g1],
            [0.9, 0.8, 0.95, 0.55],
            [0, 0, 1, 1]),  # a; b duplicate of g1; e; class-1 det on g1
        frame_det(
            [box(600, 600, 650, 650), g2, h3],
            [0.7, 0.6, 0.5],
            [0, 0, 1]),  # c false positive; d; f (h2 missed)
    ]
    result = vid_map(dets, gts, num_classes=2, motion_ranges=None)
    # class 0 by score: a TP, b FP, c FP, d TP -> P/R (1,.5) (.5,.5)
    # (.33,.5) (.5,1): AP = .5*1 + .5*.5
    # class 1: e TP, wrong-class FP, f TP -> AP = 1/3*1 + 1/3*2/3
    ap = result['classwise']['all']['ap']
    assert ap.tolist() == pytest.approx([0.75, 5 / 9])
    assert result['mAP'] == pytest.approx((0.75 + 5 / 9) / 2)
    assert result['classwise']['all']['recall'].tolist() == pytest.approx(
        [1.0, 2 / 3])
    assert result['num_dets'].tolist() == [4, 3]
    assert set(result) == {'mAP', 'num_dets', 'classwise'}


def test_small_box_relaxed_threshold():
    # small GT 10x10: threshold 100 / (20 * 20) = 0.25; big GT 100x100:
    # 0.5. Each det covers its GT and 1.5x more below: IoU = 1/2.5 = 0.4
    small, big = box(0, 0, 9, 9), box(0, 0, 99, 99)
    gts = [frame_gt(0, 0, [small], [0]), frame_gt(1, 0, [big], [1])]
    dets = [
        frame_det([box(0, 0, 9, 24)], [0.9], [0]),
        frame_det([box(0, 0, 99, 249)], [0.9], [1])
    ]
    result = vid_map(dets, gts, num_classes=2, motion_ranges=None)
    assert result['classwise']['all']['ap'].tolist() == [1.0, 0.0]
    assert result['mAP'] == 0.5


def test_greedy_takes_highest_iou_gt():
    # det1 overlaps p (0.54) and q (0.82) and must take q; det2 sits on p
    # (IoU with q 0.43 < 0.5). Taking p first would make det2 an FP.
    p, q = box(0, 0, 99, 99), box(40, 0, 139, 99)
    gts = [frame_gt(0, 0, [p, q], [0, 0])]
    dets = [frame_det([box(30, 0, 129, 99), p], [0.9, 0.8], [0, 0])]
    assert vid_map(dets, gts, 1, motion_ranges=None)['mAP'] == 1.0


S_BOX, F1_BOX = box(0, 0, 99, 99), box(230, 0, 329, 99)


def slow_and_fast_scene():
    """Video 0: S static in frames 0-2 (motion 1.0, slow), F in frames 0-1
    moving 30 px (motion 70/130, fast); video 1: one frame without GT."""
    f0 = box(200, 0, 299, 99)
    return [
        frame_gt(0, 0, [S_BOX, f0], [0, 0], [1, 2]),
        frame_gt(0, 1, [S_BOX, F1_BOX], [0, 0], [1, 2]),
        frame_gt(0, 2, [S_BOX], [0], [1]),
        frame_gt(1, 0),
    ]


def test_fgfa_false_positive_weights():
    gts = slow_and_fast_scene()
    dets = [
        frame_det(
            [S_BOX, box(270, 0, 369, 99), box(500, 500, 599, 599)],
            [0.9, 0.7, 0.6], [0, 0, 0]),  # d1 on S; d2 near F (IoU .18);
        # d3 far from all
        frame_det([F1_BOX], [0.8], [0]),  # d5 on F
        frame_det(),
        frame_det([box(0, 0, 50, 50)], [0.5], [0]),  # d4 in empty frame
    ]
    result = vid_map(dets, gts, num_classes=1)
    # all: d1 TP, d5 TP, d2 d3 d4 FP; 5 GT -> AP = 0.4
    assert result['mAP'] == pytest.approx(0.4)
    # slow (3 GT): d1 TP; d5 on ignored F: nothing; d2 closer to ignored F:
    # FP 0; d3 ties at IoU 0: FP = ignored share of its frame = 1/2; d4 in
    # an empty frame: FP = share of all GT in range = 3/5. AP = 1/3 anyway
    # (precision is 1 until recall 1/3); check the weights via fast:
    assert result['mAP_slow'] == pytest.approx(1 / 3)
    # fast (2 GT): d1 on ignored S: nothing; d5 TP; d2 FP 1; d3 FP 1/2;
    # d4 FP 2/5 -> AP = 0.5 (precision 1 at recall 0.5)
    assert result['mAP_fast'] == pytest.approx(0.5)
    assert np.isnan(result['mAP_medium'])
    # FP weights are visible when a TP follows them: move d5 last
    dets[1]['scores'] = np.array([0.4])
    result = vid_map(dets, gts, num_classes=1)
    # fast: d2 FP 1, d3 FP .5, d4 FP .4, then d5 TP: precision 1/2.9
    assert result['mAP_fast'] == pytest.approx(0.5 * 1 / 2.9)
    # slow: d1 TP first; nothing after adds TP -> 1/3
    assert result['mAP_slow'] == pytest.approx(1 / 3)


def test_fgfa_empty_frame_weight_and_slow_side():
    # same scene, but a slow TP comes last to expose slow-range FP weights
    gts = slow_and_fast_scene()
    dets = [
        frame_det([box(270, 0, 369, 99), box(500, 500, 599, 599)],
                  [0.7, 0.6], [0, 0]),
        frame_det(),
        frame_det([S_BOX], [0.1], [0]),
        frame_det([box(0, 0, 50, 50)], [0.5], [0]),
    ]
    result = vid_map(dets, gts, num_classes=1)
    # slow: d2 FP 0, d3 FP 1/2, d4 FP 3/5, then TP: precision 1/2.1,
    # recall 1/3
    assert result['mAP_slow'] == pytest.approx(1 / 3 / 2.1)
    # all: 3 FP then TP, 5 GT: 1/5 * 1/4
    assert result['mAP'] == pytest.approx(0.05)


def test_fgfa_interval_ends_are_closed():
    # motion IoU exactly 0.7 and 0.9 count in both neighbouring ranges
    gts = [
        dict(frame_gt(0, 0, [box(0, 0, 9, 9)], [0]), motion_ious=[0.7]),
        dict(frame_gt(0, 1, [box(0, 0, 9, 9)], [0]), motion_ious=[0.9]),
    ]
    result = vid_map(perfect(gts), gts, num_classes=1)
    n = {k: result['classwise'][k]['num_gts'][0] for k in FGFA_MOTION_RANGES}
    assert n == {'slow': 1, 'medium': 2, 'fast': 1}


def test_ignore_flag_gt_is_neither_tp_nor_fp():
    g, ign = box(0, 0, 99, 99), box(300, 0, 399, 99)
    gts = [dict(frame_gt(0, 0, [g, ign], [0, 0]),
                ignore_flags=[False, True])]
    dets = [frame_det([ign, g], [0.9, 0.8], [0, 0])]
    result = vid_map(dets, gts, num_classes=1, motion_ranges=None)
    assert result['mAP'] == 1.0
    assert result['classwise']['all']['num_gts'].tolist() == [1]


def test_score_ties_are_deterministic():
    # one GT in frame (0, 1); equal-score dets: FP in frame (0, 0), TP in
    # (0, 1). Documented tie-break: frame order -> FP first -> AP 0.5.
    g = box(0, 0, 99, 99)
    gts = [frame_gt(0, 1, [g], [0]), frame_gt(0, 0)]
    dets = [frame_det([g, box(1, 0, 100, 99)], [0.5, 0.5], [0, 0]),
            frame_det([box(500, 0, 599, 99)], [0.5], [0])]
    base = vid_map(dets, gts, num_classes=1, motion_ranges=None)
    # by score ties: (0,0) FP, then (0,1): x1=0 takes g (TP), x1=1 FP
    # -> P/R: (0, 0), (.5, 1), (1/3, 1) -> AP = 0.5
    assert base['mAP'] == pytest.approx(0.5)
    rng = np.random.default_rng(0)
    for _ in range(5):
        order = rng.permutation(len(gts))
        perm_dets = []
        for i in order:
            d = dets[i]
            p = rng.permutation(len(d['scores']))
            perm_dets.append({k: v[p] for k, v in d.items()})
        got = vid_map(perm_dets, [gts[i] for i in order], 1,
                      motion_ranges=None)
        assert got['mAP'] == base['mAP']


def test_score_ties_inside_a_frame():
    # p, q of one class; A overlaps p only (0.67), B prefers p (0.67) over
    # q (0.54). Same score: documented order x1 puts A first -> A takes p,
    # B takes q: AP 1. B first would take p and leave A an FP.
    p, q = box(100, 0, 199, 99), box(150, 0, 249, 99)
    a, b = box(80, 0, 179, 99), box(120, 0, 219, 99)
    gts = [frame_gt(0, 0, [p, q], [0, 0])]
    for boxes in ([a, b], [b, a]):
        dets = [frame_det(boxes, [0.5, 0.5], [0, 0])]
        assert vid_map(dets, gts, 1, motion_ranges=None)['mAP'] == 1.0
    gts_swapped = [frame_gt(0, 0, [q, p], [0, 0])]
    dets = [frame_det([b, a], [0.5, 0.5], [0, 0])]
    assert vid_map(dets, gts_swapped, 1, motion_ranges=None)['mAP'] == 1.0


def test_bad_input_names_the_frame():
    gts = [frame_gt(3, 7, [box(0, 0, 9, 9)], [0])]
    with pytest.raises(ValueError, match=r'det_results\[0\].*\(3, 7\)'):
        vid_map([frame_det([box(0, 0, 9, 9)], [0.5], [2])], gts, 2)
    with pytest.raises(ValueError, match='1 scores but 2 bboxes'):
        vid_map([frame_det([box(0, 0, 9, 9)] * 2, [0.5], [0])], gts, 2)
    with pytest.raises(ValueError, match='appears twice'):
        vid_map([frame_det()] * 2, gts * 2, 2)
    bad = [frame_gt(3, 7, [box(5, 0, 4, 9)], [0])]
    with pytest.raises(ValueError, match=r'gt_annotations\[0\].*x2 >= x1'):
        vid_map([frame_det()], bad, 2)
    # (N, 5) boxes: 4 x 5 numbers would reshape into 5 boxes of 4
    five = dict(bboxes=np.zeros((4, 5)), scores=np.ones(4),
                labels=np.zeros(4, np.int64))
    with pytest.raises(ValueError, match=re.escape(
            'det_results[0] (video_id, frame_id)=(3, 7): bboxes has shape '
            '(4, 5); expected (N, 4)')):
        vid_map([five], gts, 2)
    with pytest.raises(ValueError, match=re.escape(
            'gt_annotations[0] (video_id, frame_id)=(3, 7): bboxes has '
            'shape (1, 5); expected (N, 4)')):
        vid_map([frame_det()], [dict(gts[0], bboxes=np.zeros((1, 5)))], 2)


# ------------------------------------------------- loop reference (devkit)


def ref_iou(a, b):
    iw = min(a[2], b[2]) - max(a[0], b[0]) + 1
    ih = min(a[3], b[3]) - max(a[1], b[1]) + 1
    if iw <= 0 or ih <= 0:
        return 0.0
    ua = ((a[2] - a[0] + 1) * (a[3] - a[1] + 1) + (b[2] - b[0] + 1) *
          (b[3] - b[1] + 1) - iw * ih)
    return iw * ih / ua


def ref_motion(gts, lone=1.0):
    """Motion IoU per frame, by loops over frames and boxes; ``lone`` for a
    box with no neighbour."""
    where = {}
    for g in gts:
        for b, i in zip(g['bboxes'], g['instance_ids']):
            where[(g['video_id'], g['frame_id'], i)] = b
    out = []
    for g in gts:
        values = []
        for b, i in zip(g['bboxes'], g['instance_ids']):
            ious = [
                ref_iou(b, where[(g['video_id'], g['frame_id'] + k, i)])
                for k in range(-10, 11)
                if k and (g['video_id'], g['frame_id'] + k, i) in where
            ]
            values.append(sum(ious) / len(ious) if ious else lone)
        out.append(values)
    return out


def ref_voc_ap(rec, prec):
    mrec = [0.0] + list(rec) + [1.0]
    mpre = [0.0] + list(prec) + [0.0]
    for i in range(len(mpre) - 2, -1, -1):
        mpre[i] = max(mpre[i], mpre[i + 1])
    return sum((mrec[i] - mrec[i - 1]) * mpre[i]
               for i in range(1, len(mrec)) if mrec[i] != mrec[i - 1])


def ref_vid_map(dets, gts, num_classes, motion_range=None, rule='fgfa',
                lone=1.0):
    """FGFA's vid_eval_motion written as loops (devkit when no range); with
    ``rule='mega'`` unmatched detections are weighed as mega.pytorch's
    vid_eval.py does (per class), matching stays the devkit's."""
    motion = ref_motion(gts, lone)
    all_motion = [m for ms in motion for m in ms]
    if motion_range is not None:
        lo, hi = motion_range
        empty_weight = sum(lo <= m <= hi for m in all_motion) / len(all_motion)
    records = []  # (score, label, tp, fp)
    npos = [0] * num_classes
    for d, g, ms in zip(dets, gts, motion):
        labels = list(g['labels'])
        if motion_range is None:
            ig = [False] * len(labels)
        else:
            ig = [not lo <= m <= hi for m in ms]
        for lab, i in zip(labels, ig):
            npos[lab] += not i
        thr = []
        for b in g['bboxes']:
            w, h = b[2] - b[0] + 1, b[3] - b[1] + 1
            thr.append(min(0.5, w * h / ((w + 10) * (h + 10))))
        detected = [False] * len(labels)
        order = sorted(range(len(d['scores'])), key=lambda j: -d['scores'][j])
        for j in order:
            bb, lab = d['bboxes'][j], d['labels'][j]
            ovmax, kmax, ov_ig, ov_nig = -1, -1, -1, -1
            for k in range(len(labels)):
                ov = ref_iou(bb, g['bboxes'][k])
                if (ov >= thr[k] and ov > ovmax and not detected[k]
                        and lab == labels[k]):
                    ovmax, kmax = ov, k
                if ig[k] and ov > ov_ig:
                    ov_ig = ov
                if not ig[k] and ov > ov_nig:
                    ov_nig = ov
            tp = fp = 0.0
            if kmax >= 0:
                detected[kmax] = True
                tp = 0.0 if ig[kmax] else 1.0
            elif motion_range is None:
                fp = 1.0
            elif rule == 'mega':
                fp = mega_fp(bb, lab, g, ig, empty_weight)
            elif ov_nig > ov_ig:
                fp = 1.0
            elif ov_ig > ov_nig:
                fp = 0.0
            elif not labels:
                fp = empty_weight
            else:
                fp = sum(ig) / len(labels)
            records.append((d['scores'][j], lab, tp, fp))
    records.sort(key=lambda r: -r[0])
    aps = []
    for c in range(num_classes):
        if npos[c] == 0:
            continue
        tp_cum = fp_cum = 0.0
        rec, prec = [], []
        for _, lab, tp, fp in records:
            if lab != c:
                continue
            tp_cum += tp
            fp_cum += fp
            rec.append(tp_cum / npos[c])
            prec.append(tp_cum / max(tp_cum + fp_cum, np.finfo(float).eps))
        aps.append(ref_voc_ap(rec, prec))
    return sum(aps) / len(aps)


def mega_fp(bb, lab, g, ig, empty_weight):
    """FP weight of an unmatched detection, as mega's calc_detection_vid_
    prec_rec: pred_ignore from the GT of its own class, then 0 -> 1."""
    own = [k for k in range(len(g['labels'])) if g['labels'][k] == lab]
    if not own:
        pred_ignore = 0 if empty_weight == 1 else empty_weight
    else:
        ov_ig = max([ref_iou(bb, g['bboxes'][k]) for k in own if ig[k]],
                    default=-1)
        ov_nig = max([ref_iou(bb, g['bboxes'][k]) for k in own
                      if not ig[k]], default=-1)
        if ov_nig > ov_ig:
            pred_ignore = 0
        elif ov_ig > ov_nig:
            pred_ignore = 1
        else:
            pred_ignore = sum(ig[k] for k in own) / len(own)
    if pred_ignore == 1:
        return 0.0
    return 1.0 if pred_ignore == 0 else pred_ignore


def random_scene(rng, num_classes=3):
    """Few videos with moving instances, jittered and random detections."""
    dets, gts = [], []
    for video in range(3):
        num_inst = rng.integers(1, 6)
        labels = rng.integers(0, num_classes, num_inst)
        size = rng.uniform(6, 80, (num_inst, 2))
        pos = rng.uniform(0, 120, (num_inst, 2))
        speed = rng.choice([0.5, 3.0, 12.0], num_inst)
        length = int(rng.integers(4, 14))
        lone_frame = int(rng.integers(0, length))
        for t in range(length):
            pos = pos + rng.normal(0, 1, pos.shape) * speed[:, None]
            present = rng.random(num_inst) < 0.85
            boxes = np.concatenate([pos, pos + size], 1)[present]
            box_labels, ids = labels[present], np.flatnonzero(present)
            if t == lone_frame:  # an instance seen in this frame only
                boxes = np.concatenate([boxes, [[30, 40, 70, 90]]])
                box_labels = np.append(box_labels, rng.integers(num_classes))
                ids = np.append(ids, 99)
            gts.append(frame_gt(video, t, boxes, box_labels, ids))
            near = boxes[rng.integers(0, max(len(boxes), 1),
                                      rng.integers(0, 5))] if len(
                                          boxes) else np.zeros((0, 4))
            near = near + rng.normal(0, 4, near.shape)
            xy = rng.uniform(0, 250, (int(rng.integers(0, 4)), 2))
            rand = np.concatenate([xy, xy + rng.uniform(5, 80, xy.shape)], 1)
            b = np.concatenate([near, rand])
            b[:, 2:] = np.maximum(b[:, 2:], b[:, :2])
            dets.append(
                frame_det(b, rng.random(len(b)),
                          rng.integers(0, num_classes, len(b))))
    return dets, gts


@pytest.mark.parametrize('rule', MOTION_RULES)
@pytest.mark.parametrize('lone', [0.0, 1.0])
@pytest.mark.parametrize('seed', range(8))
def test_matches_loop_reference(seed, lone, rule):
    rng = np.random.default_rng(seed)
    dets, gts = random_scene(rng, num_classes=2)
    result = vid_map(dets, gts, num_classes=2, lone_motion_iou=lone,
                     motion_rule=rule)
    assert result['mAP'] == pytest.approx(
        ref_vid_map(dets, gts, 2), abs=1e-9)
    for name, rng_ in FGFA_MOTION_RANGES.items():
        key = f'mAP_{name}'
        try:
            expected = ref_vid_map(dets, gts, 2, rng_, rule, lone)
        except ZeroDivisionError:  # no class has GT in this range
            assert np.isnan(result[key])
            continue
        assert result[key] == pytest.approx(expected, abs=1e-9), name


def test_rules_differ_where_only_another_class_is_near():
    # video 0: a static cat (slow: ignored in the fast range); video 1: a
    # static dog and a fast dog (IoU 0.25 between its two frames). A dog
    # detection on the cat, unmatched: FGFA compares with GT of any class
    # (nearer an ignored GT -> FP 0, dog AP_fast 1); mega sees no dog GT in
    # the frame -> FP = the dataset's in-range share, 2/6.
    cat, dog, fast = box(0, 0, 99, 99), box(0, 0, 99, 99), [
        box(200, 0, 299, 99), box(260, 0, 359, 99)]
    gts = [frame_gt(0, t, [cat], [0], [1]) for t in (0, 1)] + [
        frame_gt(1, t, [dog, fast[t]], [1, 1], [1, 2]) for t in (0, 1)]
    dets = [frame_det([cat], [0.95], [1]), frame_det(),
            frame_det([fast[0]], [0.9], [1]),
            frame_det([fast[1]], [0.8], [1])]
    ranges = {'fast': (0.0, 0.7)}
    fgfa = vid_map(dets, gts, 2, ranges, motion_rule='fgfa')['mAP_fast']
    mega = vid_map(dets, gts, 2, ranges, motion_rule='mega')['mAP_fast']
    assert fgfa == pytest.approx(1.0, abs=1e-12)
    # mega: precision 1/(1 + 1/3) at recall 1/2, 2/(2 + 1/3) at recall 1;
    # the interpolated curve is 6/7 throughout
    assert mega == pytest.approx(6 / 7, abs=1e-12)
    for rule, got in (('fgfa', fgfa), ('mega', mega)):
        assert got == pytest.approx(
            ref_vid_map(dets, gts, 2, ranges['fast'], rule), abs=1e-12)


def test_unknown_motion_rule_is_refused():
    dets, gts = random_scene(np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"motion_rule must be one of "
                       r"\('fgfa', 'mega'\), got 'FGFA'"):
        vid_map(dets, gts, 3, motion_rule='FGFA')


# ------------------------------------------- MMDetection's eval_map oracle


def mmdet_inputs(dets, gts, num_classes, gt_offset=0.0):
    """vid_map's frames as eval_map's images: per image, per class (n, 5)
    [x1, y1, x2, y2, score] detections, and ``bboxes``/``labels`` GT (no
    ignored boxes); ``gt_offset`` is added to every GT coordinate."""
    det_results = [[
        np.hstack([d['bboxes'][d['labels'] == c],
                   d['scores'][d['labels'] == c][:, None]])
        for c in range(num_classes)
    ] for d in dets]
    annotations = [
        dict(bboxes=g['bboxes'] + gt_offset, labels=g['labels'],
             bboxes_ignore=np.zeros((0, 4)), labels_ignore=np.zeros(0, int))
        for g in gts
    ]
    return det_results, annotations


def oracle_scene(rng, large_and_apart, num_classes=3):
    """Frames of up to 4 GT of classes 0..num_classes-2 (the last class has
    detections only) with jittered, duplicated, mislabelled and random
    detections; distinct random scores.

    ``large_and_apart``: GT 30-90 px a side (devkit threshold 0.5) in cells
    200 px apart, so a detection reaches IoU 0.5 with at most one GT;
    otherwise GT 4-90 px anywhere (relaxed thresholds, crowded GT).
    """
    dets, gts = [], []
    for video in range(3):
        for t in range(int(rng.integers(3, 7))):
            num = int(rng.integers(0, 5))
            if large_and_apart:
                cells = rng.permutation(9)[:num]
                xy = np.stack([cells % 3, cells // 3], 1) * 200.0
                xy += rng.uniform(0, 100, (num, 2))
                size = rng.uniform(30, 90, (num, 2))
            else:
                xy = rng.uniform(0, 150, (num, 2))
                size = rng.uniform(4, 90, (num, 2))
            boxes = np.hstack([xy, xy + size])
            labels = rng.integers(0, num_classes - 1, num)
            gts.append(frame_gt(video, t, boxes, labels))
            near = boxes[rng.integers(0, max(num, 1), rng.integers(0, 6))] \
                if num else np.zeros((0, 4))
            near = near + rng.normal(0, 6, near.shape)
            near_labels = labels[rng.integers(0, max(num, 1), len(near))] \
                if num else np.zeros(0, int)
            wrong = rng.random(len(near)) < 0.2
            near_labels = np.where(wrong, rng.integers(0, num_classes,
                                                       len(near)),
                                   near_labels)
            xy = rng.uniform(0, 500, (int(rng.integers(0, 4)), 2))
            rand = np.hstack([xy, xy + rng.uniform(10, 90, xy.shape)])
            b = np.concatenate([near, rand])
            b[:, 2:] = np.maximum(b[:, 2:], b[:, :2] + 1)
            det_labels = np.concatenate(
                [near_labels, rng.integers(0, num_classes, len(rand))])
            dets.append(frame_det(b, rng.random(len(b)), det_labels))
    return dets, gts


@pytest.mark.parametrize('seed', range(4))
def test_map_equals_mmdet_eval_map_voc_rule(seed):
    """MMDetection's VOC ``tpfp_default`` (``dataset=None``) as an oracle.

    Where the two rules coincide: ``use_legacy_coordinate=True`` gives the
    devkit's +1 widths; GT of 30+ px make the devkit threshold
    min(0.5, wh/((w+10)(h+10))) = 0.5, mmdet's ``iou_thr``; no ignored
    boxes; GT 200 px apart, so VOC's "take the best GT, FP if it is taken"
    and the devkit's "take the best free GT" pick the same GT. Both rank by
    score (distinct here), use the VOC area AP and average the classes that
    have GT.
    """
    from mmdet.evaluation.functional import eval_map
    dets, gts = oracle_scene(np.random.default_rng(seed), True)
    ours = vid_map(dets, gts, num_classes=3, motion_ranges=None)
    mean_ap, per_class = eval_map(
        *mmdet_inputs(dets, gts, 3), iou_thr=0.5, dataset=None,
        logger='silent', nproc=1, use_legacy_coordinate=True,
        eval_mode='area')
    assert 0.05 < ours['mAP'] < 0.95  # neither trivial nor perfect
    assert ours['mAP'] == pytest.approx(mean_ap, abs=1e-6)
    for c, result in enumerate(per_class[:2]):
        assert ours['classwise']['all']['ap'][c] == pytest.approx(
            result['ap'], abs=1e-6)
    assert per_class[2]['num_gts'] == 0
    assert np.isnan(ours['classwise']['all']['ap'][2])


@pytest.mark.parametrize('seed', range(4))
def test_map_equals_mmdet_eval_map_imagenet_rule(seed):
    """MMDetection's ImageNet ``tpfp_imagenet`` (``dataset='vid'``): the
    devkit rule itself (relaxed threshold for small GT, a detection takes
    the best *free* GT), so small, crowded GT are allowed.

    Its one difference in convention: it computes IoU against
    ``gt_bboxes - 1`` (1-based GT of the old devkit files). It gets every
    GT shifted by +1 here, so both score the same boxes; the threshold
    depends on GT width and height only. +1 widths through
    ``use_legacy_coordinate=True``.
    """
    from mmdet.evaluation.functional import eval_map
    dets, gts = oracle_scene(np.random.default_rng(seed), False)
    ours = vid_map(dets, gts, num_classes=3, motion_ranges=None)
    mean_ap, per_class = eval_map(
        *mmdet_inputs(dets, gts, 3, gt_offset=1.0), iou_thr=0.5,
        dataset='vid', logger='silent', nproc=1,
        use_legacy_coordinate=True, eval_mode='area')
    assert 0.05 < ours['mAP'] < 0.95
    assert ours['mAP'] == pytest.approx(mean_ap, abs=1e-6)
    for c, result in enumerate(per_class[:2]):
        assert ours['classwise']['all']['ap'][c] == pytest.approx(
            result['ap'], abs=1e-6)
