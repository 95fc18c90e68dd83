"""MMEngine's ``DumpResults`` for video test sets: every frame's prediction.
"""
import pickle

from mmdet.evaluation import DumpDetResults
from mmdet.evaluation.metrics.base_video_metric import BaseVideoMetric
from mmdet.registry import METRICS
from mmengine.evaluator import DumpResults
from mmengine.logging import print_log

from ..utils import write_atomically


@METRICS.register_module()
class DumpVideoResults(DumpResults, BaseVideoMetric):
    """Dump the predictions of every frame of a video test set to a pickle.

    ``DumpResults`` keeps the first ``len(dataset)`` predictions, and a
    test-mode video dataset has one item per *video* while a streaming
    detector predicts one item per *frame*. This class takes ``evaluate``
    from MMDetection's ``BaseVideoMetric``, which collects every rank's
    results whole, as :class:`~tsm_mm.evaluation.VIDMetric` does; the file
    is written atomically.

    Args:
        out_file_path (str): The ``.pkl`` or ``.pickle`` file to write.
        collect_device (str): ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        collect_dir (str, optional): See ``DumpResults``.
    """

    def compute_metrics(self, results: list) -> dict:
        """Write every frame's prediction; no metric."""
        write_atomically(pickle.dumps(results, protocol=4),
                         self.out_file_path)
        print_log(f'{type(self).__name__}: {len(results)} predictions -> '
                  f'{self.out_file_path}', logger='current')
        return {}


def _every_frame_evaluate(evaluate):
    """``evaluate`` of a dump metric that keeps every frame of video items
    (``video_data_samples``) and cuts anything else to ``size``."""

    def dump_every_frame(self, size: int) -> dict:
        if self.results and all(
                isinstance(r, dict) and 'video_data_samples' in r
                for r in self.results):
            return BaseVideoMetric.evaluate(self, size)
        return evaluate(self, size)

    dump_every_frame.keeps_every_frame = True
    return dump_every_frame


def keep_every_frame_in_mmdet_dumps() -> bool:
    """Make MMDetection's ``DumpDetResults`` keep every frame of a video
    test set.

    ``mmdet``'s ``tools/test.py --out`` appends a ``DumpDetResults``, whose
    ``evaluate(len(dataset))`` keeps one prediction per *video* of a
    test-mode video dataset (2 of 16 frames on the tiny toy set). With video
    items it now collects them whole, as :class:`DumpVideoResults` does;
    image datasets keep MMEngine's cut (which drops distributed padding).

    Returns:
        bool: Whether the patch was installed (False when it already was).
    """
    if getattr(DumpDetResults.evaluate, 'keeps_every_frame', False):
        return False
    DumpDetResults.evaluate = _every_frame_evaluate(DumpDetResults.evaluate)
    return True
