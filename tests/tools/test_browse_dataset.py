"""tools/browse_dataset.py on the toy detection config and the tiny toy VID:
one JPEG per frame of each item, ground-truth boxes drawn where they are
(mmdet's browse_dataset.py raised RuntimeError: permute(sparse_coo) ...
input.dim() = 4 is not equal to len(dims) = 3)."""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
from tool_loader import REPO, load_tool

TOOL = osp.join(REPO, 'tools', 'browse_dataset.py')
CONFIG = osp.join(REPO, 'configs', 'toy', 'vid_faster_rcnn_tsm_toy.py')


def browse(tmp_path, root, ann_file, phase, max_items):
    """Run the tool as a user does; the JPEGs it wrote, relative to its
    output folder, and its stdout."""
    loader = f'{"train" if phase == "train" else "test"}_dataloader'
    out_dir = tmp_path / 'vis'
    result = subprocess.run(
        [sys.executable, TOOL, CONFIG, '--phase', phase, '--not-show',
         '--output-dir', str(out_dir), '--max-items', str(max_items),
         '--cfg-options', f'{loader}.dataset.data_root={root}/',
         f'{loader}.dataset.ann_file={ann_file}'],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
        env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert result.returncode == 0, result.stderr[-3000:]
    files = sorted(osp.relpath(p, out_dir) for p in
                   glob.glob(str(out_dir / '**' / '*'), recursive=True)
                   if osp.isfile(p))
    return files, result.stdout


def test_every_frame_of_the_first_training_clips(toy_vid_root,
                                                 toy_vid_ann_dir, tmp_path):
    files, stdout = browse(tmp_path, toy_vid_root,
                           f'{toy_vid_ann_dir}/imagenet_vid_train.json',
                           'train', 2)
    # 2 clips of the config's 8 frames, a folder per clip, frames in order
    assert len(files) == 16
    assert [osp.dirname(f) for f in files] == \
        ['000000_ILSVRC2015_train_00000000'] * 8 + \
        ['000001_ILSVRC2015_train_00000000'] * 8
    assert [osp.basename(f)[:3] for f in files[:8]] == [
        f'{t:02d}_' for t in range(8)]
    assert '2 items, 16 frames drawn' in stdout
    image = cv2.imread(str(tmp_path / 'vis' / files[0]))
    assert image.shape == (96, 128, 3)  # the pipeline's resized frame


def edge_and_background(drawn, frame, boxes):
    """Mean absolute change on each box's outline, and away from boxes."""
    change = np.abs(drawn.astype(float) - frame).mean(axis=2)
    outside = np.ones(change.shape, bool)
    edges = []
    for x1, y1, x2, y2 in np.round(boxes).astype(int):
        outline = np.zeros(change.shape, bool)
        outline[y1:y2 + 1, [x1, x2]] = outline[[y1, y2], x1:x2 + 1] = True
        edges.append(change[outline].mean())
        outside[max(y1 - 4, 0):y2 + 5, max(x1 - 4, 0):x2 + 5] = False
    return edges, change[outside].mean()


def test_test_frames_have_their_boxes_drawn(toy_vid_root, toy_vid_ann_dir,
                                            tmp_path):
    ann_file = f'{toy_vid_ann_dir}/imagenet_vid_val.json'
    files, stdout = browse(tmp_path, toy_vid_root, ann_file, 'test', 10)
    # frames in video order, each in its video's folder: 8 + 2
    assert files == [f'ILSVRC2015_val_00000000/{i:06d}.jpg'
                     for i in range(8)] + [
        f'ILSVRC2015_val_00000001/{i:06d}.jpg' for i in range(2)]
    assert '10 items, 10 frames drawn' in stdout
    with open(ann_file) as f:
        ann = json.load(f)
    images = {i['file_name']: i for i in ann['images']}
    checked = 0
    for name in files:
        image = images[f'val/{osp.splitext(name)[0]}.JPEG']
        frame = cv2.imread(osp.join(toy_vid_root, 'Data', 'VID',
                                    image['file_name']))
        drawn = cv2.imread(str(tmp_path / 'vis' / name))
        scale = drawn.shape[1] / frame.shape[1]  # the test pipeline's
        frame = cv2.resize(frame, drawn.shape[1::-1])
        boxes = np.array([a['bbox'] for a in ann['annotations']
                          if a['image_id'] == image['id']], float)
        if not len(boxes):
            continue
        boxes[:, 2:] += boxes[:, :2]
        # the test pipeline loads boxes after Resize: drawn rescaled
        edges, background = edge_and_background(drawn, frame, boxes * scale)
        assert background < 8, name
        assert min(edges) > 3 * background + 15, (name, edges, background)
        checked += len(boxes)
    assert checked >= 10


@pytest.mark.parametrize('extra, message', [
    (['--not-show'], '--not-show without --output-dir'),
    (['--output-dir', '{root}/vis'], 'overlap'),
    (['--output-dir', '{full}'], 'is not empty: pass --overwrite'),
    (['--phase', 'val', '--output-dir', '{file}'], 'is a file'),
])
def test_refusals_name_the_argument(extra, message, toy_vid_root, tmp_path,
                                    capsys):
    (tmp_path / 'full').mkdir()
    (tmp_path / 'full' / 'mine.jpg').write_bytes(b'')
    (tmp_path / 'file').write_bytes(b'')
    extra = [e.format(root=toy_vid_root, full=tmp_path / 'full',
                      file=tmp_path / 'file') for e in extra]
    with pytest.raises(SystemExit) as exit_info:
        load_tool('browse_dataset').main(
            [CONFIG, *extra, '--cfg-options',
             f'train_dataloader.dataset.data_root={toy_vid_root}/'])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not osp.exists(osp.join(toy_vid_root, 'vis'))
    assert os.listdir(tmp_path / 'full') == ['mine.jpg']


@pytest.mark.parametrize('config, message', [
    ('nowhere.py', 'config nowhere.py not found'),
    (osp.join(REPO, 'configs', 'toy', 'tsm_r18_toy_actions.py'),
     "MMAction2's tools/visualizations/browse_dataset.py"),
])
def test_refuses_what_is_no_detection_config(config, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        load_tool('browse_dataset').main([config, '--not-show',
                                          '--output-dir', 'vis'])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
