"""The converter tool killed between its renames, or out of disk space:
the dataset never loads a mixed set of json files, errors name the file."""
import errno
import json
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest

from tsm_mm.datasets import ImageNetVIDDataset, conversion_stamp
from tsm_mm.datasets.convert_vid import convert_imagenet_vid
from tsm_mm.testing.toy_vid import TOY_CLASSES

HERE = osp.dirname(osp.abspath(__file__))
SPLITS = dict(train=('imagenet_vid_train.json', 'Data/VID'),
              val=('imagenet_vid_val.json', 'Data/VID'),
              det=('imagenet_det_train.json', 'Data/DET'))
TRAIN0 = 'train/ILSVRC2015_VID_train_0000/ILSVRC2015_train_00000000'


def run_faulty(fault, root, out):
    """tools/convert_imagenet_vid.py with ``fault`` (see
    convert_with_faults.py), in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, osp.join(HERE, 'convert_with_faults.py'), fault,
         '--', '--root', root, '--out', out],
        capture_output=True, text=True, timeout=300)


def load(root, out, split):
    """The split's training videos (``data_list``), as a user builds it."""
    name, prefix = SPLITS[split]
    dataset = ImageNetVIDDataset(
        ann_file=osp.join(out, name), data_root=root,
        data_prefix=dict(img_path=prefix),
        metainfo=dict(classes=TOY_CLASSES), pipeline=[],
        serialize_data=False)
    return dataset.data_list


def unstamp(out):
    """Make ``out`` look written by a converter without stamps."""
    os.remove(osp.join(out, 'conversion.json'))
    for name, _ in SPLITS.values():
        with open(osp.join(out, name)) as f:
            content = json.load(f)
        del content['info']
        with open(osp.join(out, name), 'w') as f:
            json.dump(content, f)


@pytest.fixture
def old_set(toy_vid_root, toy_vid_ann_dir, tmp_path):
    """``(root, out, old)``: a copy of the converted toy set, what each
    split loads from it, and a root whose train split converts to
    something else (other key frames)."""
    out = str(tmp_path / 'annotations')
    shutil.copytree(toy_vid_ann_dir, out)
    root = str(tmp_path / 'ILSVRC2015')
    shutil.copytree(toy_vid_root, root)
    old = {split: load(root, out, split) for split in SPLITS}
    with open(osp.join(root, 'ImageSets/VID_train_15frames.txt'), 'w') as f:
        f.write(f'{TRAIN0} 1 2 8\n')
    return root, out, old


@pytest.mark.parametrize('stamped, renamed', [(True, 1), (True, 3),
                                               (False, 1)])
def test_kill_between_renames_never_loads_a_mixed_set(old_set, stamped,
                                                      renamed):
    """kill -9 after the first (or the last) json was renamed into place,
    over a stamped set or one without stamps: each split then loads as it
    was before, or refuses, naming the file and the way out; a complete
    run mends the set."""
    root, out, old = old_set
    if not stamped:
        unstamp(out)
    result = run_faulty(f'kill:{renamed}', root, out)
    assert result.returncode == -9, result.stderr
    refused = []
    for split, (name, _) in SPLITS.items():
        try:
            data = load(root, out, split)
        except ValueError as err:
            message = str(err)
            assert osp.join(out, name) in message
            assert 'tools/convert_imagenet_vid.py' in message
            refused.append(split)
        else:
            assert data == old[split], f'{split}: a mixed set was loaded'
    assert 'train' in refused  # its file is the new one
    convert_imagenet_vid(root, out)
    assert load(root, out, 'val') == old['val']
    assert load(root, out, 'train') != old['train']  # the new key frames


@pytest.mark.parametrize('name, through_tool', [
    ('imagenet_det_train.json', True), ('conversion.json', False)])
def test_disk_full_names_the_file(toy_vid_root, tmp_path, monkeypatch,
                                  name, through_tool):
    """A real ENOSPC (writes to /dev/full), which a json smaller than the
    write buffer meets only on close: the error names the file, and
    nothing is left in the folder. Through the tool once, then through
    :func:`convert_imagenet_vid`."""
    out = tmp_path / 'annotations'
    out.mkdir()
    if through_tool:
        result = run_faulty(f'full:{name}', toy_vid_root, str(out))
        assert result.returncode == 1
        message = result.stderr.strip().splitlines()[-1]
    else:
        def to_dev_full(file, mode='r', *args, **kwargs):
            if osp.basename(file) == name:
                file = '/dev/full'
            return open(file, mode, *args, **kwargs)

        monkeypatch.setattr(conversion_stamp, 'open', to_dev_full,
                            raising=False)
        with pytest.raises(OSError) as info:
            convert_imagenet_vid(toy_vid_root, str(out))
        message = f'OSError: {info.value}'
    assert message == (f'OSError: [Errno {errno.ENOSPC}] cannot write '
                       f'{out / name}: No space left on device')
    assert os.listdir(out) == []


def test_split_by_split_conversions_and_files_from_elsewhere(
        old_set, tmp_path):
    """Converting one split keeps the others loadable; a json replaced by
    hand is refused naming both files; a copy without the folder's
    manifest loads unchecked."""
    root, out, old = old_set
    convert_imagenet_vid(root, out, splits=['train'])
    assert load(root, out, 'val') == old['val']
    assert load(root, out, 'train') != old['train']
    val = osp.join(out, 'imagenet_vid_val.json')
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir()
    shutil.copy(val, elsewhere)
    with open(val) as f:
        content = json.load(f)
    content['info'] = dict(conversion_id='by hand')
    with open(val, 'w') as f:
        json.dump(content, f)
    with pytest.raises(ValueError) as info:
        load(root, out, 'val')
    message = str(info.value)
    assert message.startswith(f"{val}: written by conversion 'by hand', "
                              f"but {osp.join(out, 'conversion.json')} "
                              'records ')
    assert 'tools/convert_imagenet_vid.py' in message
    assert load(root, str(elsewhere), 'val') == old['val']
