"""Draw the ground-truth boxes of every frame a video dataset gives.

MMDetection's ``tools/analysis_tools/browse_dataset.py`` fails on the
video configs (an item holds a clip of frames, not one image). This tool
builds the dataset of the config's ``--phase`` dataloader, pipeline
included, and draws each frame of each item with MMDetection's
``DetLocalVisualizer`` and the dataset's class names: every frame of each
training clip, and in test mode each frame, video by video in order (one
item per frame, as ``TrackImgSampler`` feeds them). Frames are shown, and
written as JPEGs under ``--output-dir`` (each file atomically):

* a training clip: ``<item>_<video folder>/<t>_<frame file>``;
* a test frame: ``<video folder>/<frame file>``, as the images are stored.

Example:
    python tools/browse_dataset.py configs/toy/vid_faster_rcnn_tsm_toy.py \
        --output-dir work_dirs/browse --not-show --max-items 4
    python tools/browse_dataset.py configs/vid_faster_rcnn_tsm.py \
        --phase test --output-dir work_dirs/browse_val --not-show
"""
import argparse
import os
import os.path as osp
from typing import Iterator, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import torch
from mmdet.datasets import BaseVideoDataset
from mmdet.registry import DATASETS, VISUALIZERS
from mmdet.structures import DetDataSample, TrackDataSample
from mmdet.structures.bbox import BaseBoxes
from mmdet.visualization import DetLocalVisualizer
from mmengine.config import Config, DictAction
from mmengine.registry import DefaultScope
from mmengine.utils import ProgressBar

import tsm_mm  # noqa: F401  (registers the datasets and transforms)
from tsm_mm import apis
from tsm_mm.utils import write_atomically
from tsm_mm.utils.arg_types import positive_int
from tsm_mm.utils.output_paths import check_outputs

MMACTION_TOOL = ("MMAction2's tools/visualizations/browse_dataset.py "
                 '(mim run mmaction2 browse_dataset CONFIG OUT_DIR)')
Index = Union[int, Tuple[int, int]]


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='video detection config')
    parser.add_argument('--output-dir', help='write one JPEG per frame here')
    parser.add_argument('--not-show', action='store_true',
                        help='do not display the frames')
    parser.add_argument('--show-interval', type=float, default=2,
                        help='seconds each frame is shown')
    parser.add_argument('--phase', choices=('train', 'val', 'test'),
                        default='train', help='whose dataloader dataset')
    parser.add_argument('--max-items', type=positive_int,
                        help='draw the first N items only (training clips, '
                        'or test frames)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. '
                        'train_dataloader.dataset.data_root=data/toy_vid/')
    parser.add_argument('--overwrite', action='store_true',
                        help='write into a non-empty --output-dir, replacing '
                        'files of the same names (never an input)')
    args = parser.parse_args(argv)
    if args.not_show and args.output_dir is None:
        parser.error('--not-show without --output-dir draws nothing: give '
                     '--output-dir')
    if not osp.isfile(args.config):
        parser.error(f'config {args.config} not found')
    try:
        args.cfg = load_config(args.config, args.cfg_options, args.phase)
        if args.output_dir is not None:
            check_output_dir(args.output_dir, args.cfg, args.phase,
                             args.overwrite)
    except (FileExistsError, ValueError) as err:
        parser.error(str(err))
    return args


def load_config(path: str, cfg_options: Optional[dict],
                phase: str) -> Config:
    """The config with the options merged; refused (naming the file) if
    it is no detection config or has no dataloader for ``phase``."""
    cfg = apis.load_config(path, cfg_options)
    scope = cfg.get('default_scope', 'mmdet')
    if scope != 'mmdet':
        raise ValueError(f'config {path} is an {scope} config, not a '
                         'detection one: for recognition datasets use '
                         f'{MMACTION_TOOL}')
    if not cfg.get(f'{phase}_dataloader'):
        raise ValueError(f'config {path} has no {phase}_dataloader '
                         f'(--phase {phase})')
    return cfg


def _dataset_values(dataset_cfg, key: str) -> list:
    """Every value of ``key`` in a dataset config, wrappers (``dataset``,
    ``datasets``) included, outermost first."""
    if isinstance(dataset_cfg, (list, tuple)):
        return [v for sub in dataset_cfg for v in _dataset_values(sub, key)]
    if not isinstance(dataset_cfg, dict):
        return []
    values = [dataset_cfg[key]] if dataset_cfg.get(key) else []
    for inner in ('dataset', 'datasets'):
        values += _dataset_values(dataset_cfg.get(inner), key)
    return values


def check_output_dir(out_dir: str, cfg: Config, phase: str,
                     overwrite: bool) -> None:
    """Refuse an ``--output-dir`` that is a file, lies inside (or holds)
    the dataset's data root, or is not empty (unless ``overwrite``)."""
    if osp.exists(out_dir) and not osp.isdir(out_dir):
        raise ValueError(f'--output-dir {out_dir} is a file; give a folder')
    out = osp.realpath(out_dir)
    for root in _dataset_values(cfg[f'{phase}_dataloader'].get('dataset'),
                                'data_root'):
        if '://' in root:
            continue
        real = osp.realpath(root)
        if osp.commonpath([out, real]) in (out, real):
            raise ValueError(f'--output-dir {out_dir} and the data_root '
                             f'{root} of the {phase} dataset overlap: '
                             'choose a folder outside the data')
    if osp.isdir(out_dir) and os.listdir(out_dir) and not overwrite:
        raise FileExistsError(f'--output-dir {out_dir} is not empty: pass '
                              '--overwrite to write into it')


def item_indices(dataset) -> List[Index]:
    """The items in order: ``(video, frame)`` per frame of a test-mode
    video dataset (as ``TrackImgSampler``), else ``range(len)``."""
    if isinstance(dataset, BaseVideoDataset) and dataset.test_mode:
        return [(video, frame) for video in range(len(dataset))
                for frame in range(dataset.get_len_per_video(video))]
    return list(range(len(dataset)))


def _types(pipeline: Sequence) -> Iterator[str]:
    """The transform types of a pipeline in order, inside wrappers too."""
    for transform in pipeline or ():
        yield str(transform.get('type'))
        yield from _types(transform.get('transforms', ()))


def boxes_unscaled(pipeline: Sequence) -> bool:
    """Whether the pipeline loads the boxes after it resized the image (a
    test pipeline: boxes stay in the stored frame's coordinates, as the
    metric wants them)."""
    types = list(_types(pipeline))
    loads = [i for i, t in enumerate(types) if 'Annotations' in t]
    resizes = [i for i, t in enumerate(types) if 'Resize' in t]
    return bool(loads and resizes) and resizes[0] < loads[0]


def frames_of(item: dict, rescale: bool = False
              ) -> Iterator[Tuple[np.ndarray, DetDataSample]]:
    """Each frame of a packed item: (RGB image, its data sample).

    Args:
        item (dict): ``inputs`` and ``data_samples`` of a packed item.
        rescale (bool): Scale the boxes by each frame's ``scale_factor``
            (see :func:`boxes_unscaled`).
    """
    inputs, samples = item['inputs'], item['data_samples']
    if isinstance(samples, TrackDataSample):  # (T, C, H, W)
        samples = list(samples)
    else:  # an image dataset: (C, H, W)
        inputs, samples = inputs[None], [samples]
    if len(samples) != inputs.shape[0]:
        raise ValueError(f'an item holds {inputs.shape[0]} frames but '
                         f'{len(samples)} data samples')
    for image, sample in zip(inputs, samples):
        sample = sample.clone()
        bboxes = sample.gt_instances.get('bboxes')
        if isinstance(bboxes, BaseBoxes):
            bboxes = bboxes.tensor
        if rescale and bboxes is not None:
            scale_x, scale_y = sample.metainfo['scale_factor']
            bboxes = bboxes * bboxes.new_tensor([scale_x, scale_y] * 2)
        if bboxes is not None:
            sample.gt_instances.bboxes = bboxes
        rgb = image.permute(1, 2, 0).numpy()[..., ::-1]  # BGR in
        yield np.ascontiguousarray(rgb), sample


def out_path(out_dir: str, index: Index, t: int,
             sample: DetDataSample) -> str:
    """Where frame ``t`` of item ``index`` is written."""
    img_path = sample.metainfo.get('img_path', f'{t:06d}.jpg')
    video = osp.basename(osp.dirname(img_path)) or 'images'
    name = osp.splitext(osp.basename(img_path))[0] + '.jpg'
    if isinstance(index, tuple):  # a test frame: as stored
        return osp.join(out_dir, video, name)
    return osp.join(out_dir, f'{index:06d}_{video}', f'{t:02d}_{name}')


def build_visualizer(cfg: Config, dataset) -> DetLocalVisualizer:
    """The config's visualizer when it is a ``DetLocalVisualizer`` (no
    backends: the files are written here), else a default one."""
    vis_cfg = dict(cfg.get('visualizer') or {})
    vis_cfg.update(vis_backends=None, save_dir=None,
                   name='browse_dataset')
    vis_cfg.setdefault('type', 'DetLocalVisualizer')
    visualizer = VISUALIZERS.build(vis_cfg)
    if not isinstance(visualizer, DetLocalVisualizer):
        visualizer = DetLocalVisualizer(name='browse_dataset_det')
    visualizer.dataset_meta = dataset.metainfo
    return visualizer


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Draw the items, show and/or write them.

    Args:
        argv (Sequence[str], optional): Command-line arguments; None reads
            ``sys.argv``.

    Returns:
        int: The number of frames drawn.
    """
    args = parse_args(argv)
    cfg = args.cfg
    with DefaultScope.overwrite_default_scope('mmdet'):
        dataset = DATASETS.build(cfg[f'{args.phase}_dataloader'].dataset)
        visualizer = build_visualizer(cfg, dataset)
    indices = item_indices(dataset)[:args.max_items]
    pipelines = _dataset_values(cfg[f'{args.phase}_dataloader'].dataset,
                                'pipeline')
    rescale = bool(pipelines) and boxes_unscaled(pipelines[0])
    written, num_frames = {}, 0
    progress = ProgressBar(len(indices))
    for index in indices:
        item = dataset[index]
        for t, (image, sample) in enumerate(frames_of(item, rescale)):
            name = osp.basename(sample.metainfo.get('img_path', str(index)))
            with torch.no_grad():
                visualizer.add_datasample(name, image, sample,
                                          draw_pred=False)
            drawn = visualizer.get_image()
            num_frames += 1
            if not args.not_show:
                visualizer.show(drawn, win_name=name,
                                wait_time=args.show_interval)
            if args.output_dir is None:
                continue
            path = out_path(args.output_dir, index, t, sample)
            if path in written:
                raise ValueError(f'item {index} frame {t} and item '
                                 f'{written[path]} both draw to {path}')
            written[path] = (index, t)
            check_outputs({'a file of --output-dir': path},
                          {'its frame': sample.metainfo.get('img_path')},
                          overwrite=True)
            ok, jpeg = cv2.imencode('.jpg', np.ascontiguousarray(
                drawn[..., ::-1]))
            if not ok:
                raise RuntimeError(f'cannot encode {path} as JPEG')
            write_atomically(jpeg.tobytes(), path)
        progress.update()
    print(f'\n{len(indices)} items, {num_frames} frames drawn' +
          (f', written under {args.output_dir}' if args.output_dir else ''))
    return num_frames


if __name__ == '__main__':
    main()
