"""Crash-safe saving and resuming: kill -9 a training run at each point of
a save, resume with tools/train.py --resume, and reach the very weights of
a run that was never interrupted."""
import os
import os.path as osp
import subprocess
import sys
import tempfile

import pytest
import torch
from tiny_mmengine import REPO, load_tool, tiny_config

from tsm_mm.engine import load_checkpoint_file
from tsm_mm.utils.atomic_write import TMP_MARKER

HERE = osp.dirname(osp.abspath(__file__))
DRIVER = osp.join(HERE, 'crash_while_saving.py')
ENV = dict(os.environ, OMP_NUM_THREADS='1',
           PYTHONPATH=os.pathsep.join([HERE, REPO]))
MAX_ITERS, INTERVAL, STEP = 6, 2, 4  # saves at 2, 4, 6; crash in the 4th


def train(config, *args):
    """tools/train.py in this process."""
    argv = sys.argv
    sys.argv = ['train.py', str(config), *args]
    try:
        load_tool('train').main()
    finally:
        sys.argv = argv


def weights(path):
    return load_checkpoint_file(str(path))['state_dict']


@pytest.fixture(scope='module')
def reference(tmp_path_factory, request):
    """iter_6 weights of an uninterrupted run."""
    request.getfixturevalue('monkeypatch_module').syspath_prepend(HERE)
    tmp = tmp_path_factory.mktemp('reference')
    config = tmp / 'tiny_ref.py'
    config.write_text(tiny_config(str(tmp / 'work'), MAX_ITERS, INTERVAL,
                                  max_keep_ckpts=1))
    train(config)
    return weights(tmp / 'work' / f'iter_{MAX_ITERS}.pth')


@pytest.fixture(scope='module')
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def assert_same_weights(got, expected):
    assert list(got) == list(expected)
    for key in expected:
        assert torch.allclose(got[key], expected[key], atol=1e-6), key


@pytest.mark.parametrize('point', ['write', 'rename', 'last', 'remove'])
def test_kill_during_save_then_resume(point, reference, tmp_path, caplog):
    work = tmp_path / 'work'
    config = tmp_path / f'tiny_{point}.py'
    config.write_text(tiny_config(str(work), MAX_ITERS, INTERVAL,
                                  max_keep_ckpts=1))
    run = subprocess.run(
        [sys.executable, DRIVER, point, str(STEP), str(INTERVAL),
         str(config)], env=ENV, capture_output=True, text=True, timeout=300)
    assert run.returncode == -9, (run.stdout + run.stderr)[-3000:]
    left = sorted(os.listdir(work))
    assert not osp.exists(work / f'iter_{MAX_ITERS}.pth'), left
    # the file last_checkpoint names is always intact
    named = (work / 'last_checkpoint').read_text()
    assert weights(named)
    train(config, '--resume')
    assert_same_weights(weights(work / f'iter_{MAX_ITERS}.pth'), reference)
    assert (work / 'last_checkpoint').read_text() == \
        str(work / f'iter_{MAX_ITERS}.pth')
    assert not [n for n in os.listdir(work) if n.endswith('.tmp')]


@pytest.mark.parametrize('damage', ['missing', 'truncated'])
def test_resume_falls_back_to_newest_intact(damage, reference, tmp_path,
                                            capsys):
    """last_checkpoint names a missing or truncated iter_6: --resume
    continues from iter_4, says so, and trains iter_6 again."""
    work = tmp_path / 'work'
    config = tmp_path / f'tiny_{damage}.py'
    config.write_text(tiny_config(str(work), MAX_ITERS, INTERVAL,
                                  max_keep_ckpts=3))
    train(config)  # iter_2, iter_4, iter_6; last_checkpoint -> iter_6
    newest = work / f'iter_{MAX_ITERS}.pth'
    if damage == 'missing':
        newest.unlink()
    else:
        data = newest.read_bytes()
        newest.write_bytes(data[:len(data) // 2])
    # (in one process, a second run of the same config file in the same
    # second would share MMEngine's named MessageHub: use a copy)
    again = tmp_path / f'tiny_{damage}_again.py'
    again.write_text(config.read_text())
    train(again, '--resume')
    out = capsys.readouterr()
    said = out.out + out.err
    assert f'{newest} (named by' in said and 'resuming from ' \
        f'{work / f"iter_{STEP}.pth"}, the newest intact checkpoint' in said
    assert f'resumed epoch: 0, iter: {STEP}' in said
    assert_same_weights(weights(newest), reference)


def test_explicit_resume_of_damaged_file_names_it(tmp_path):
    bad = tmp_path / 'iter_8.pth'
    bad.write_bytes(b'PK\x03\x04 truncated')
    config = tmp_path / 'tiny_bad.py'
    config.write_text(tiny_config(str(tmp_path / 'work')))
    with pytest.raises(RuntimeError, match=f'cannot resume from {bad}'):
        train(config, '--resume', str(bad))


def test_resume_removes_only_its_own_temporaries(tmp_path, capsys):
    """A user's ``.notes.txt.abc12345.tmp`` (the shape of a temporary) and
    a temporary of another file survive --resume; the temporary of a
    checkpoint a killed run was writing goes."""
    work = tmp_path / 'work'
    config = tmp_path / 'tiny_user_files.py'
    config.write_text(tiny_config(str(work), 2, 2))
    train(config)
    fd, stale = tempfile.mkstemp(prefix=f'.iter_4.pth.{TMP_MARKER}',
                                 suffix='.tmp', dir=work)
    os.close(fd)
    users = ['.notes.txt.abc12345.tmp', f'.notes.txt.{TMP_MARKER}abc12345.tmp',
             '.iter_4.pth.abc12345.tmp']
    for name in users:
        (work / name).write_text('mine')
    again = tmp_path / 'tiny_user_files_again.py'
    again.write_text(config.read_text())
    train(again, '--resume')
    assert not osp.exists(stale)
    for name in users:
        assert (work / name).read_text() == 'mine', name
    out = capsys.readouterr()
    assert f'removed {stale}, left by a run killed while saving' in \
        out.out + out.err
