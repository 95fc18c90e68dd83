"""MMEngine's ``DumpResults`` for video test sets: every frame's prediction.
"""
import pickle

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
