"""The converter tool reads each JPEG's size from its header: a size that
differs from the XML is warned about once per video and the JPEG's kept;
an unreadable JPEG or a frame not named ``%06d.JPEG`` is refused."""
import json
import os
import os.path as osp
import shutil
import subprocess
import sys

import cv2
import pytest

from tsm_mm.datasets.convert_vid import convert_imagenet_vid

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
VAL1 = 'val/ILSVRC2015_val_00000001'
DET1 = 'train/ILSVRC2014_train_0000/ILSVRC2014_train_00000001'


def convert(root, out):
    """tools/convert_imagenet_vid.py in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'convert_imagenet_vid.py'),
         '--root', root, '--out', out],
        capture_output=True, text=True, timeout=300)


@pytest.fixture
def broken_root(toy_vid_root, tmp_path):
    """A private copy of the toy set to break."""
    root = str(tmp_path / 'ILSVRC2015')
    shutil.copytree(toy_vid_root, root)
    return root


def shrink(path):
    """Rewrite a 160x120 JPEG as 80x60."""
    cv2.imwrite(path, cv2.resize(cv2.imread(path), (80, 60)))


def test_size_from_the_jpeg_with_one_warning_per_video(broken_root,
                                                       tmp_path):
    frames = osp.join(broken_root, 'Data/VID', VAL1)
    for name in sorted(os.listdir(frames)):
        shrink(osp.join(frames, name))
    det_image = osp.join(broken_root, 'Data/DET', DET1 + '.JPEG')
    shrink(det_image)
    out = str(tmp_path / 'out')
    result = convert(broken_root, out)
    assert result.returncode == 0, result.stderr
    log = result.stdout + result.stderr
    first = osp.join(frames, '000000.JPEG')
    xml = osp.join(broken_root, 'Annotations/VID', VAL1, '000000.xml')
    assert log.count('not the size their XML says') == 2
    assert (f'{VAL1}: 8 of 8 frames are not the size their XML says '
            f'(first: {first} is 80x60, {xml} says 160x120); the json '
            "takes the JPEG's size") in log
    assert (f'det: 1 of 3 images are not the size their XML says (first: '
            f'{det_image} is 80x60,') in log
    with open(osp.join(out, 'imagenet_vid_val.json')) as f:
        val = json.load(f)
    sizes = {(i['file_name'].rsplit('/', 1)[0], i['width'], i['height'])
             for i in val['images']}
    assert sizes == {('val/ILSVRC2015_val_00000000', 160, 120),
                     (VAL1, 80, 60)}
    with open(osp.join(out, 'imagenet_det_train.json')) as f:
        det = json.load(f)
    image = next(i for i in det['images'] if i['file_name'].startswith(DET1))
    assert (image['width'], image['height']) == (80, 60)
    for coco in (val, det):  # every box fitted to its JPEG
        images = {i['id']: i for i in coco['images']}
        for a in coco['annotations']:
            x, y, w, h = a['bbox']
            image = images[a['image_id']]
            assert x + w <= image['width'] and y + h <= image['height']


def _zero_byte_frame(root):
    path = osp.join(root, 'Data/VID', VAL1, '000003.JPEG')
    open(path, 'w').close()
    return f'{path}: not a readable image (an empty file)'


def _garbage_det_image(root):
    path = osp.join(root, 'Data/DET', DET1 + '.JPEG')
    with open(path, 'wb') as f:
        f.write(b'<html>not found</html>')
    return f'{path}: not a readable image'


def _frames_not_numbered(root):
    folder = osp.join(root, 'Data/VID', VAL1)
    for i in range(8):
        os.rename(osp.join(folder, f'{i:06d}.JPEG'),
                  osp.join(folder, f'{i}.JPEG'))
    return f"{folder}: frame '0.JPEG' is not named %06d.JPEG"


@pytest.mark.parametrize('breaker, through_tool', [
    (_zero_byte_frame, True), (_garbage_det_image, False),
    (_frames_not_numbered, False)])
def test_bad_jpeg_is_refused_by_name(broken_root, tmp_path, breaker,
                                     through_tool):
    """Through the tool once (a fresh interpreter costs seconds), then
    through :func:`convert_imagenet_vid`."""
    words = breaker(broken_root)
    out = tmp_path / 'out'
    if through_tool:
        result = convert(broken_root, str(out))
        assert result.returncode == 1
        message = result.stderr.strip().splitlines()[-1]
    else:
        with pytest.raises(ValueError) as info:
            convert_imagenet_vid(broken_root, str(out))
        message = str(info.value)
    assert words in message
    assert not out.exists()
