"""int8 post-training quantization of an exported streaming step for
OpenVINO (NNCF), calibrated on whole videos streamed in frame order, so the
caches it calibrates on hold real past slots rather than zeros."""
import copy
import os
import os.path as osp
import tempfile
from typing import Dict, Iterable, List, Sequence, Union

import numpy as np
from mmengine.fileio import dump

from ..utils.atomic_write import atomic_paths
from .exported_detector import check_detector_interface, preprocess_frame
from .runtimes import load_interface

QUANTIZED_KEY = 'quantized'  # the interface's record of the int8 model


def streamed_inputs(onnx_path: str, interface: Union[Dict, str],
                    videos: Iterable[Iterable[Dict[str, np.ndarray]]],
                    max_frames: int) -> List[Dict[str, np.ndarray]]:
    """The graph's whole inputs at each frame of ``videos``: the fp32
    graph runs on ONNX Runtime frame by frame, each video from zero
    caches, so the caches are the ones the streaming step really sees.

    Args:
        onnx_path (str): An exported step.
        interface (dict | str): Its interface.
        videos (Iterable): Per video, per frame, the inputs other than the
            caches (batch of one), by name.
        max_frames (int): Stop after this many frames in all.

    Returns:
        list[dict[str, np.ndarray]]: One feed per frame, by input name.
    """
    import onnxruntime as ort
    caches = load_interface(interface)['caches']
    session = ort.InferenceSession(onnx_path,
                                   providers=['CPUExecutionProvider'])
    feeds: List[Dict[str, np.ndarray]] = []
    for video in videos:
        state = {c['input']: np.zeros([1, *c['shape'][1:]], np.float32)
                 for c in caches}
        for inputs in video:
            if len(feeds) >= max_frames:
                return feeds
            feeds.append(dict(inputs, **state))
            outs = session.run([c['output'] for c in caches], feeds[-1])
            state = {c['input']: out for c, out in zip(caches, outs)}
    if not feeds:
        raise ValueError('streamed_inputs: the videos hold no frame')
    return feeds


def calibration_inputs(onnx_path: str, interface: Union[Dict, str],
                       videos: Iterable[Sequence[np.ndarray]],
                       max_frames: int) -> List[Dict[str, np.ndarray]]:
    """A detector step's inputs at each frame of BGR ``videos``,
    preprocessed from its interface (:func:`streamed_inputs`).

    Args:
        onnx_path (str): A whole detector step from ``export_onnx.py``.
        interface (dict | str): Its interface.
        videos (Iterable[Sequence[np.ndarray]]): BGR uint8 frames per video.
        max_frames (int): Stop after this many frames in all.

    Returns:
        list[dict[str, np.ndarray]]: One feed per frame, by input name.
    """
    interface = load_interface(interface)
    check_detector_interface(interface, onnx_path)

    def inputs(video):
        for frame in video:
            image, img_shape, scale_factor = preprocess_frame(frame,
                                                              interface)
            yield dict(frame=image[None], img_shape=img_shape[None],
                       scale_factor=scale_factor[None])

    return streamed_inputs(onnx_path, interface,
                           (inputs(video) for video in videos), max_frames)


def quantize_step_openvino(onnx_path: str, interface: Union[Dict, str],
                           feeds: Sequence[Dict[str, np.ndarray]],
                           out_path: str) -> Dict:
    """Quantize the step to int8 with NNCF and save it as OpenVINO IR.

    Writes ``out_path`` (``.xml``), its ``.bin`` and the interface
    ``.json`` beside it (with a ``quantized`` record), all or none.

    Args:
        onnx_path (str): The fp32 step.
        interface (dict | str): Its interface.
        feeds (Sequence[dict]): Calibration inputs
            (:func:`calibration_inputs`).
        out_path (str): The ``.xml`` to write.

    Returns:
        dict: The interface written beside it.
    """
    import nncf
    import openvino as ov
    if not out_path.endswith('.xml'):
        raise ValueError(f'out_path must be an OpenVINO .xml, got '
                         f'{out_path!r}')
    interface = copy.deepcopy(load_interface(interface))
    model = ov.Core().read_model(onnx_path)
    names = sorted(i.get_any_name() for i in model.inputs)
    for t, feed in enumerate(feeds):
        if sorted(feed) != names:
            raise ValueError(f'calibration feed {t} gives {sorted(feed)}, '
                             f'but {onnx_path} takes {names}')
    if not feeds:
        raise ValueError('quantize_step_openvino: no calibration feed')
    quantized = nncf.quantize(model, nncf.Dataset(list(feeds)),
                              subset_size=len(feeds))
    interface[QUANTIZED_KEY] = dict(method='nncf.quantize', precision='int8',
                                    calibration_frames=len(feeds),
                                    source=osp.basename(onnx_path))
    stem = osp.splitext(out_path)[0]
    with atomic_paths([out_path, stem + '.bin', stem + '.json']) as tmps, \
            tempfile.TemporaryDirectory(
                dir=osp.dirname(osp.abspath(out_path))) as saved:
        ov.save_model(quantized, osp.join(saved, 'step.xml'))
        os.replace(osp.join(saved, 'step.xml'), tmps[0])
        os.replace(osp.join(saved, 'step.bin'), tmps[1])
        dump(interface, tmps[2], file_format='json', indent=2)
    return interface
