"""Every tool that writes files refuses an output that is one of its
inputs, and replaces an existing file only with ``--overwrite``."""
import json
import os
import os.path as osp
import sys

import cv2
import numpy as np
import pytest
from tool_loader import REPO, load_tool

TOY_2D = osp.join(REPO, 'configs/toy/vid_faster_rcnn_2d_toy.py')
ONLINE = osp.join(REPO, 'configs/toy/tsm_online_r18_toy_actions.py')
ACTIONS = osp.join(REPO, 'configs/toy/tsm_r18_toy_actions.py')


def run_tool(name, *args):
    """``tools/<name>.py args`` in this process (``main`` reads argv)."""
    argv = sys.argv
    sys.argv = [f'{name}.py', *map(str, args)]
    try:
        return load_tool(name).main()
    finally:
        sys.argv = argv


def refused(capsys, name, *args):
    """The usage error (exit status 2) of the tool, as printed."""
    with pytest.raises(SystemExit) as exc:
        run_tool(name, *args)
    assert exc.value.code == 2
    return capsys.readouterr().err


@pytest.fixture
def clip(tmp_path):
    path = tmp_path / 'clip.mp4'
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'mp4v'), 10,
                             (64, 48))
    for value in (0, 80, 160):
        writer.write(np.full((48, 64, 3), value, np.uint8))
    writer.release()
    return path


def link(src, dst, how):
    if how == 'symlink':
        os.symlink(src, dst)
    elif how == 'hardlink':
        os.link(src, dst)
    return dst if how != 'same' else src


@pytest.mark.parametrize('how', ['same', 'symlink', 'hardlink'])
def test_demo_video_keeps_its_input(how, clip, tmp_path, capsys):
    before = clip.read_bytes()
    out = link(clip, tmp_path / 'out.mp4', how)
    err = refused(capsys, 'demo_video', TOY_2D, clip, '--out', out)
    assert f'--out {out} is the same file as input {clip}' in err
    assert clip.read_bytes() == before
    err = refused(capsys, 'demo_video', TOY_2D, clip, '--out',
                  tmp_path / 'demo.mp4', '--latency-png', out)
    assert f'--latency-png {out} is the same file as input {clip}' in err
    assert clip.read_bytes() == before


def test_online_recognition_keeps_its_input(clip, capsys):
    before = clip.read_bytes()
    err = refused(capsys, 'online_recognition', ONLINE, clip, '--out', clip,
                  '--overwrite')
    assert f'--out {clip} is the same file as input {clip}' in err
    assert clip.read_bytes() == before


def test_tools_replace_a_file_only_with_overwrite(clip, tmp_path, capsys):
    old = tmp_path / 'old.mp4'
    old.write_bytes(b'a user file')
    for tool, config in (('demo_video', TOY_2D),
                         ('online_recognition', ONLINE)):
        err = refused(capsys, tool, config, clip, '--out', old)
        assert f'--out {old} exists: pass --overwrite to replace it' in err
        assert old.read_bytes() == b'a user file'
    assert sorted(os.listdir(tmp_path)) == ['clip.mp4', 'old.mp4']


def test_export_onnx_keeps_the_checkpoint(tmp_path, capsys):
    checkpoint = tmp_path / 'mine.pth'
    checkpoint.write_bytes(b'weights')
    err = refused(capsys, 'export_onnx', ACTIONS, checkpoint, '--out',
                  checkpoint, '--shape', 32, 32, '--overwrite')
    assert f'--out {checkpoint} is the same file as checkpoint ' \
        f'{checkpoint}' in err
    # the interface file is named after --out: mine.json next to mine.pth
    config = tmp_path / 'mine.json'
    config.write_text('{}')
    err = refused(capsys, 'export_onnx', config, '--out',
                  tmp_path / 'mine.onnx', '--shape', 32, 32, '--overwrite')
    assert f'the interface file of --out {config} is the same file as ' \
        f'config {config}' in err
    assert checkpoint.read_bytes() == b'weights'


def test_export_onnx_sidecar_needs_overwrite(tmp_path, capsys):
    results = tmp_path / 'results.json'
    results.write_text('{"mAP": 0.5}')
    out = tmp_path / 'results.onnx'
    err = refused(capsys, 'export_onnx', ACTIONS, '--out', out, '--shape',
                  32, 32)
    assert f'the interface file of --out {results} exists: pass ' \
        '--overwrite' in err
    assert results.read_text() == '{"mAP": 0.5}' and not out.exists()
    err = refused(capsys, 'export_onnx', ACTIONS, '--out',
                  tmp_path / 'm.json', '--shape', 32, 32)
    assert '--out and the interface file of --out name the same file' in err
    run_tool('export_onnx', ACTIONS, '--out', out, '--shape', 32, 32,
             '--overwrite')
    assert json.loads(results.read_text())['mode'] == 'stream'
    assert out.stat().st_size > 0


@pytest.mark.parametrize('how', ['same', 'hardlink'])
def test_convert_checkpoint_keeps_its_source(how, tmp_path, capsys):
    src = tmp_path / 'in.pth'
    src.write_bytes(b'weights')
    dst = link(src, tmp_path / 'out.pth', how)
    err = refused(capsys, 'model_converters/convert_checkpoint', 'mmdet',
                  src, dst, '--overwrite')
    assert f'dst {dst} is the same file as src {src}' in err
    assert src.read_bytes() == b'weights'


def test_convert_checkpoint_replaces_only_with_overwrite(tmp_path, capsys):
    src, dst = tmp_path / 'in.pth', tmp_path / 'out.pth'
    src.write_bytes(b'weights')
    dst.write_bytes(b'a user file')
    err = refused(capsys, 'model_converters/convert_checkpoint', 'mmdet',
                  src, dst)
    assert f'dst {dst} exists: pass --overwrite' in err
    assert dst.read_bytes() == b'a user file'


@pytest.mark.parametrize('tool', ['make_toy_actions', 'make_toy_vid'])
def test_toy_makers_keep_an_existing_contact_sheet(tool, tmp_path, capsys):
    sheet = tmp_path / 'sheet.png'
    sheet.write_bytes(b'a user file')
    out = tmp_path / 'toy'
    err = refused(capsys, tool, out, '--contact-sheet', sheet)
    assert f'--contact-sheet {sheet} exists: pass --overwrite' in err
    assert sheet.read_bytes() == b'a user file' and not out.exists()


def test_benchmark_out_needs_overwrite(tmp_path, capsys):
    out = tmp_path / 'bench.json'
    out.write_text('{"earlier": "figures"}')
    err = refused(capsys, 'benchmark', '--groups', 'streaming',
                  '--stream-sizes', '32x32', '--repeats', '1', '--out', out)
    assert f'--out {out} exists: pass --overwrite' in err
    assert out.read_text() == '{"earlier": "figures"}'
