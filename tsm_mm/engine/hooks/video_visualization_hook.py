"""MMDetection's ``DetVisualizationHook`` for video test sets: every frame's
predictions drawn by ``DetLocalVisualizer`` (``tools/test.py --show-dir``).
"""
import os.path as osp
from typing import List, Sequence

import mmcv
from mmdet.engine.hooks import DetVisualizationHook
from mmdet.registry import HOOKS
from mmdet.structures import DetDataSample, TrackDataSample
from mmengine.fileio import get
from mmengine.runner import Runner
from mmengine.utils import mkdir_or_exist


def video_frames(outputs: Sequence) -> List[DetDataSample]:
    """The per-frame samples of ``outputs``, in order.

    Args:
        outputs (Sequence): ``TrackDataSample`` items (their frames are
            taken) or ``DetDataSample`` items (kept).

    Returns:
        list[DetDataSample]: One sample per frame.
    """
    return [frame for item in outputs for frame in (
        item.video_data_samples if isinstance(item, TrackDataSample)
        else [item])]


@HOOKS.register_module()
class VideoDetVisualizationHook(DetVisualizationHook):
    """Draw the predictions of every frame of a video test set.

    MMDetection's ``DetVisualizationHook`` reads ``img_path`` from each
    output, which a ``TrackDataSample`` has only per frame, and names its
    files by the image's base name, which the frames of different videos
    share (``000000.JPEG``). This hook draws each frame through the same
    ``DetLocalVisualizer`` and writes it as ``<video folder>/<frame file>``
    under ``test_out_dir``. Image datasets' samples are drawn as before.
    The arguments are ``DetVisualizationHook``'s.
    """

    def before_run(self, runner: Runner) -> None:
        """Draw with the runner's visualizer (the hook took the process's
        newest, which another runner or tool may have made)."""
        self._visualizer = runner.visualizer

    def after_val_iter(self, runner: Runner, batch_idx: int,
                       data_batch: dict, outputs: Sequence) -> None:
        """Draw the first frame of every ``interval``-th batch."""
        super().after_val_iter(runner, batch_idx, data_batch,
                               video_frames(outputs))

    def after_test_iter(self, runner: Runner, batch_idx: int,
                        data_batch: dict, outputs: Sequence) -> None:
        """Draw every frame of the batch."""
        if self.draw is False:
            return
        out_dir = None
        if self.test_out_dir is not None:
            out_dir = osp.join(runner.work_dir, runner.timestamp,
                               self.test_out_dir)
            mkdir_or_exist(out_dir)
        for frame in video_frames(outputs):
            self._test_index += 1
            img_path = frame.img_path
            img = mmcv.imfrombytes(
                get(img_path, backend_args=self.backend_args),
                channel_order='rgb')
            name = osp.join(osp.basename(osp.dirname(img_path)),
                            osp.basename(img_path))
            self._visualizer.add_datasample(
                name if self.show else 'test_img', img, data_sample=frame,
                show=self.show, wait_time=self.wait_time,
                pred_score_thr=self.score_thr,
                out_file=None if out_dir is None else osp.join(out_dir, name),
                step=self._test_index)
