"""Titles scaled to the frame in a band above it; boxes by
DetLocalVisualizer."""
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
    title_band_height,
    title_style,
)

GRAY = 128


def title_band(height):
    """The band a title adds above a gray frame: (rows, band)."""
    frame = np.full((height, height * 16 // 9, 3), GRAY, np.uint8)
    drawn = draw_title(frame, 'TSM 12.3 ms')
    assert (frame == GRAY).all()  # the input is not modified
    rows = title_band_height(height)
    assert drawn.shape == (height + rows, ) + frame.shape[1:]
    assert (drawn[rows:] == frame).all()  # the frame itself, below it
    return rows, drawn[:rows]


@pytest.mark.parametrize('height', [120, 240, 720, 1080])
def test_title_is_white_text_on_a_dark_band_above_the_frame(height):
    rows, band = title_band(height)
    pixels = band.reshape(-1, 3)
    dark = (pixels < 40).all(1).mean()
    bright = (pixels > 200).all(1).mean()
    assert dark > 0.6 and bright > 0.01, (dark, bright)
    assert dark + bright > 0.85  # nothing of the gray frame shows through
    # tall enough to read: about 4% of the frame height, at least 16 px
    assert rows >= max(16, 0.04 * height), rows
    # the text is at the left
    cols = np.nonzero((band > 200).all(2).any(0))[0]
    assert cols.min() < 0.05 * band.shape[1], cols.min()


def test_title_grows_with_the_frame():
    rows_240, band_240 = title_band(240)
    rows_1080, band_1080 = title_band(1080)
    text_w = [np.nonzero((band > 200).all(2).any(0))[0].max()
              for band in (band_240, band_1080)]
    assert rows_1080 >= 2.5 * rows_240 and text_w[1] >= 2.5 * text_w[0]
    assert title_style(1080) == (1.5, 3)  # strokes of >= 2 px
    assert title_style(720) == (1.0, 2)
    assert title_style(120)[0] == pytest.approx(0.45)


def test_band_height_depends_on_the_frame_only():
    frame = np.zeros((120, 64, 3), np.uint8)
    short, long = (draw_title(frame, text)
                   for text in ('a', 'a title far wider than the frame'))
    assert short.shape == long.shape == (120 + title_band_height(120), 64,
                                         3)


def test_a_box_label_never_covers_the_title():
    """A box over the whole frame puts its label at the top left, where
    the title goes: both stay visible."""
    frame = np.full((120, 160, 3), GRAY, np.uint8)
    visualizer = DetLocalVisualizer(name=f'test_{uuid.uuid4().hex}')
    visualizer.dataset_meta = dict(classes=('cat', 'dog'),
                                   palette=[(255, 0, 0), (0, 255, 0)])
    sample = DetDataSample()
    sample.pred_instances = InstanceData(
        bboxes=torch.tensor([[0., 0., 160., 120.]]),
        scores=torch.tensor([0.9]), labels=torch.tensor([1]))
    boxes = draw_detections(visualizer, frame, sample, score_thr=0.5)
    label = np.abs(boxes[:20, :60].astype(int) - GRAY).max(2) > 30
    assert label.mean() > 0.2  # the label is drawn at the top left
    drawn = draw_title(boxes, 'TSM 12.3 ms')
    rows = title_band_height(120)
    # the title is exactly what it is on a frame without boxes ...
    assert (drawn[:rows] == draw_title(frame, 'TSM 12.3 ms')[:rows]).all()
    # ... and the label exactly what the visualizer drew
    assert (drawn[rows:] == boxes).all()


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
