"""Titles scaled to the frame on a filled box; boxes by DetLocalVisualizer."""
import uuid

import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample
from mmdet.visualization import DetLocalVisualizer
from mmengine.structures import InstanceData

from tsm_mm.apis.frame_drawing import (
    draw_detections,
    draw_title,
    title_style,
)

GRAY = 128


def title_box(height):
    """Rows and columns of the dark title box drawn on a gray frame."""
    frame = np.full((height, height * 16 // 9, 3), GRAY, np.uint8)
    drawn = draw_title(frame, 'TSM 12.3 ms')
    assert (frame == GRAY).all()  # the input is not modified
    dark = (drawn < 40).all(2)
    assert dark.any(), f'no dark title box on a {height}-row frame'
    rows, cols = np.nonzero(dark)
    box = drawn[:rows.max() + 1, :cols.max() + 1]
    return rows.max() + 1, cols.max() + 1, box


@pytest.mark.parametrize('height', [120, 240, 720, 1080])
def test_title_is_white_text_on_a_filled_dark_box(height):
    box_h, box_w, box = title_box(height)
    # filled: most of the box is dark, the rest is the text, bright
    pixels = box.reshape(-1, 3)
    dark = (pixels < 40).all(1).mean()
    bright = (pixels > 200).all(1).mean()
    assert dark > 0.6 and bright > 0.05, (dark, bright)
    assert dark + bright > 0.85  # nothing of the gray frame shows through
    # tall enough to read: about 4% of the frame height, at least 16 px
    assert box_h >= max(16, 0.04 * height), box_h
    assert box_w < height * 16 // 9  # not a band across the whole frame


def test_title_grows_with_the_frame():
    h_240, w_240, _ = title_box(240)
    h_1080, w_1080, _ = title_box(1080)
    assert h_1080 >= 2.5 * h_240 and w_1080 >= 2.5 * w_240
    assert title_style(1080) == (1.5, 3)  # strokes of >= 2 px
    assert title_style(720) == (1.0, 2)
    assert title_style(120)[0] == pytest.approx(0.45)


def test_detections_are_drawn_where_they_are():
    frame = np.full((120, 160, 3), GRAY, np.uint8)
    visualizer = DetLocalVisualizer(name=f'test_{uuid.uuid4().hex}')
    visualizer.dataset_meta = dict(classes=('cat', 'dog'),
                                   palette=[(255, 0, 0), (0, 255, 0)])
    sample = DetDataSample()
    sample.pred_instances = InstanceData(
        bboxes=torch.tensor([[40., 50., 100., 110.], [5., 5., 30., 30.]]),
        scores=torch.tensor([0.9, 0.2]), labels=torch.tensor([1, 0]))
    drawn = draw_detections(visualizer, frame, sample, score_thr=0.5)
    assert drawn.shape == frame.shape and drawn.dtype == np.uint8
    changed = (drawn.astype(int) - GRAY).__abs__().max(2) > 30
    # the outline of the 0.9 box, in its class colour (green, BGR)
    for y, x in [(80, 40), (80, 100), (110, 70), (70, 100)]:
        assert changed[y - 1:y + 2, x - 1:x + 2].any(), (y, x)
    assert drawn[80, 40, 1] > 180 and drawn[80, 40, 2] < 120
    # inside and outside the box, away from its label: untouched
    assert not changed[85:100, 50:90].any()
    assert not changed[:, 120:].any()
    # the 0.2 box is under the threshold: not drawn
    assert not changed[5:30, 5:30].any()
