"""Titles and boxes drawn on video frames, legible at any resolution."""
from typing import Tuple

import cv2
import numpy as np
from mmdet.structures import DetDataSample
from mmdet.visualization import DetLocalVisualizer

REFERENCE_HEIGHT = 720  # frame height at which a title has font scale 1
MIN_FONT_SCALE = 0.45  # below this HERSHEY text stops being legible
TITLE_COLOR = (255, 255, 255)  # BGR, white on ...
TITLE_BACKGROUND = (0, 0, 0)  # ... a filled black box


def title_style(height: int) -> Tuple[float, int]:
    """Font scale and stroke thickness of a title on a frame this tall.

    The scale grows with the frame (1 at 720 rows, 1.5 at 1080) and the
    stroke is at least 2 pixels where the scale allows it.
    """
    scale = max(MIN_FONT_SCALE, height / REFERENCE_HEIGHT)
    return scale, max(1 if scale < 0.6 else 2, round(2 * scale))


def draw_title(frame: np.ndarray, text: str) -> np.ndarray:
    """``frame`` with ``text`` at its top left on a filled dark box.

    Args:
        frame (np.ndarray): (H, W, 3) BGR uint8; not modified.
        text (str): One line.

    Returns:
        np.ndarray: A new frame.
    """
    scale, thickness = title_style(frame.shape[0])
    font = cv2.FONT_HERSHEY_SIMPLEX
    (width, height), baseline = cv2.getTextSize(text, font, scale, thickness)
    pad = max(2, height // 3)
    drawn = frame.copy()
    cv2.rectangle(drawn, (0, 0),
                  (width + 2 * pad, height + baseline + 2 * pad),
                  TITLE_BACKGROUND, -1)
    cv2.putText(drawn, text, (pad, pad + height), font, scale, TITLE_COLOR,
                thickness, cv2.LINE_AA)
    return drawn


def draw_detections(visualizer: DetLocalVisualizer, frame: np.ndarray,
                    sample: DetDataSample, score_thr: float) -> np.ndarray:
    """``frame`` with the boxes and class names of ``sample``.

    Drawn by MMDetection's visualizer (class names from its
    ``dataset_meta``), with lines thickened on large frames.

    Args:
        visualizer (DetLocalVisualizer): Its ``dataset_meta`` names the
            classes.
        frame (np.ndarray): (H, W, 3) BGR uint8.
        sample (DetDataSample): ``pred_instances`` in frame pixels.
        score_thr (float): Boxes scoring less are not drawn.

    Returns:
        np.ndarray: A new BGR frame.
    """
    visualizer.line_width = max(2, round(frame.shape[0] / 360))
    visualizer.add_datasample('frame', frame[..., ::-1], sample,
                              draw_gt=False, pred_score_thr=score_thr)
    return np.ascontiguousarray(visualizer.get_image()[..., ::-1])
