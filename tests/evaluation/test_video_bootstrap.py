"""paired_video_bootstrap: the pairing, the resampling unit and the
interval, against direct vid_map computations."""
import numpy as np
import pytest

from tsm_mm.evaluation.functional import paired_video_bootstrap, vid_map

BOX = [10.0, 10.0, 49.0, 49.0]


def scene(hits_per_video):
    """One class, 4 frames a video, one static GT box a frame; a detector
    that finds it in the first ``hits`` frames of each video and puts a
    false box elsewhere in every frame."""
    dets, gts = [], []
    for video, hits in enumerate(hits_per_video):
        for t in range(4):
            found = t < hits
            dets.append(dict(
                bboxes=np.array(([BOX] if found else []) +
                                [[100, 100, 139, 139]]),
                scores=np.array(([0.9] if found else []) + [0.5 + 0.1 * t]),
                labels=np.zeros(int(found) + 1, dtype=np.int64)))
            gts.append(dict(video_id=10 + video, frame_id=t,
                            bboxes=np.array([BOX]), labels=np.array([0]),
                            instance_ids=np.array([1])))
    return dets, gts


def test_identical_detectors_give_zero():
    a = scene([1, 2, 3, 4])
    out = paired_video_bootstrap(a, a, 1, num_draws=30)
    for key in ('mAP', 'mAP_slow'):
        assert out[key]['delta'] == 0.0
        assert out[key]['low'] == out[key]['high'] == 0.0
        assert len(out[key]['draws']) == 30
    # no medium/fast GT in any draw: nothing to score there
    assert np.isnan(out['mAP_fast']['low'])


def test_draws_resample_whole_videos_paired():
    a, b = scene([0, 1, 2, 4]), scene([2, 2, 4, 4])
    out = paired_video_bootstrap(a, b, 1, num_draws=5, seed=3,
                                 motion_ranges=None)
    full = (vid_map(*b, num_classes=1, motion_ranges=None)['mAP'] -
            vid_map(*a, num_classes=1, motion_ranges=None)['mAP'])
    assert out['mAP']['delta'] == pytest.approx(full, abs=1e-12)
    # draw 0 by hand: the same videos for both detectors, renumbered
    rng = np.random.default_rng(3)
    draw = rng.integers(0, 4, 4)

    def on_draw(frames):
        dets, gts = [], []
        for slot, v in enumerate(draw):
            for t in range(4):
                dets.append(frames[0][4 * v + t])
                gts.append(dict(frames[1][4 * v + t], video_id=slot))
        return vid_map(dets, gts, num_classes=1, motion_ranges=None)['mAP']

    assert out['mAP']['draws'][0] == pytest.approx(on_draw(b) - on_draw(a),
                                                   abs=1e-12)
    assert out['mAP']['low'] <= out['mAP']['high']


def test_interval_covers_a_uniform_gain_and_excludes_zero():
    # b finds two more frames than a in every video: every draw gains
    a = scene([0, 1, 0, 1, 2, 1, 0, 2])
    b = scene([2, 3, 2, 3, 4, 3, 2, 4])
    out = paired_video_bootstrap(a, b, 1, num_draws=200,
                                 motion_ranges=None)
    assert out['mAP']['low'] > 0
    assert out['mAP']['low'] <= out['mAP']['delta'] <= out['mAP']['high']


def test_different_frames_are_refused():
    a, b = scene([1, 2]), scene([1, 2, 3])
    with pytest.raises(ValueError, match='same videos and frames'):
        paired_video_bootstrap(a, b, 1, num_draws=2)
