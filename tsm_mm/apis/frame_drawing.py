"""Titles and boxes drawn on video frames, legible at any resolution."""
from typing import Tuple

import cv2
import numpy as np
from mmdet.structures import DetDataSample
from mmdet.visualization import DetLocalVisualizer

REFERENCE_HEIGHT = 720  # frame height at which a title has font scale 1
MIN_FONT_SCALE = 0.45  # below this HERSHEY text stops being legible
TITLE_COLOR = (255, 255, 255)  # BGR, white on ...
TITLE_BACKGROUND = (0, 0, 0)  # ... a black band above the frame


def title_style(height: int) -> Tuple[float, int]:
    """Font scale and stroke thickness of a title on a frame this tall.

    The scale grows with the frame (1 at 720 rows, 1.5 at 1080) and the
    stroke is at least 2 pixels where the scale allows it.
    """
    scale = max(MIN_FONT_SCALE, height / REFERENCE_HEIGHT)
    return scale, max(1 if scale < 0.6 else 2, round(2 * scale))


def title_band_height(height: int) -> int:
    """Rows of the title band :func:`draw_title` adds above a frame.

    It depends on the frame height only (not on the text), so frames of a
    video, and panels side by side, keep one size; it is even, so an even
    frame stays even (what H.264 in yuv420p needs).
    """
    scale, thickness = title_style(height)
    (_, text_h), baseline = cv2.getTextSize('Ag', cv2.FONT_HERSHEY_SIMPLEX,
                                            scale, thickness)
    rows = text_h + baseline + 2 * max(2, text_h // 3)
    return rows + rows % 2


def draw_title(frame: np.ndarray, text: str) -> np.ndarray:
    """``frame`` under a dark band holding ``text`` at its left.

    The band (:func:`title_band_height` rows, the frame's width) is added
    above the frame, so the title never covers what is drawn on the frame
    (a box label at its top left) and is never covered by it. Text wider
    than the frame is drawn smaller, down to a legible size, then cut.

    Args:
        frame (np.ndarray): (H, W, 3) BGR uint8; not modified.
        text (str): One line.

    Returns:
        np.ndarray: A new (H + band, W, 3) frame.
    """
    rows = title_band_height(frame.shape[0])
    scale, thickness = title_style(frame.shape[0])
    font = cv2.FONT_HERSHEY_SIMPLEX
    (width, height), baseline = cv2.getTextSize(text, font, scale, thickness)
    pad = max(2, height // 3)
    if width > frame.shape[1] - 2 * pad:
        scale = max(MIN_FONT_SCALE,
                    scale * (frame.shape[1] - 2 * pad) / width)
    band = np.empty((rows, ) + frame.shape[1:], np.uint8)
    band[:] = TITLE_BACKGROUND
    cv2.putText(band, text, (pad, rows - pad - baseline), font, scale,
                TITLE_COLOR, thickness, cv2.LINE_AA)
    return np.concatenate([band, frame])


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
