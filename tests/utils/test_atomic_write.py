"""The atomic-write helpers: all-or-nothing, named errors, one temp scheme."""
import errno
import os
import stat

import pytest

from tsm_mm.utils import (
    TMP_NAME,
    PendingFile,
    atomic_dir,
    atomic_path,
    atomic_paths,
    remove_stale_temporaries,
    write_atomically,
)
from tsm_mm.utils.atomic_write import TMP_MARKER


@pytest.fixture(params=[0o022, 0o027])
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_atomic_path_replaces_on_success(tmp_path):
    target = tmp_path / 'result.json'
    target.write_text('old')
    with atomic_path(target) as tmp:
        # same name and extension, in a temporary folder beside the target
        assert os.path.basename(tmp) == 'result.json'
        assert TMP_NAME.fullmatch(os.path.basename(os.path.dirname(tmp)))
        assert target.read_text() == 'old'  # untouched until the end
        with open(tmp, 'w') as f:
            f.write('new')
    assert target.read_text() == 'new'
    assert os.listdir(tmp_path) == ['result.json']


def test_exception_in_the_block_keeps_the_old_file(tmp_path):
    target = tmp_path / 'chart.png'
    target.write_bytes(b'old')
    with pytest.raises(RuntimeError, match='plot failed'):
        with atomic_path(target) as tmp:
            with open(tmp, 'wb') as f:
                f.write(b'half')
            raise RuntimeError('plot failed')
    assert target.read_bytes() == b'old'
    assert os.listdir(tmp_path) == ['chart.png']


def test_errors_name_the_target(tmp_path):
    target = tmp_path / 'a.bin'
    with pytest.raises(OSError) as info:
        with atomic_path(target):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    assert info.value.errno == errno.ENOSPC
    assert f'cannot write {target}' in str(info.value)
    # an error about another file (an input) is left as it is
    missing = str(tmp_path / 'input.txt')
    with pytest.raises(FileNotFoundError) as info:
        with atomic_path(target):
            open(missing)
    assert info.value.filename == missing
    assert 'cannot write' not in str(info.value)
    # a block that writes nothing replaces nothing
    with pytest.raises(FileNotFoundError, match=f'{target}: nothing was'):
        with atomic_path(target):
            pass
    assert os.listdir(tmp_path) == []
    # no temporary can be made: a file where the folder should be
    (tmp_path / 'file').write_text('')
    blocked = tmp_path / 'file' / 'a.bin'
    with pytest.raises(OSError, match=f'cannot write {blocked}: '):
        with atomic_path(blocked):
            pass
    with pytest.raises(OSError, match=f'cannot write {blocked}: '):
        write_atomically(b'x', blocked)
    assert os.listdir(tmp_path) == ['file']


@pytest.mark.parametrize('blocker', ['folder_in_the_way', 'disk_full'])
def test_atomic_paths_all_or_none(tmp_path, blocker):
    """The third of three writes fails: the first two stay as they were."""
    paths = [tmp_path / f'{name}.json' for name in 'abc']
    for path in paths[:2]:
        path.write_text(f'old {path.name}')
    if blocker == 'folder_in_the_way':
        paths[2].mkdir()
    written = []
    with pytest.raises(OSError) as info:
        with atomic_paths(paths) as temps:
            for path, tmp in zip(paths, temps):
                with open(tmp, 'w') as f:
                    f.write(f'new {path.name}')
                    written.append(path)
                    if len(written) == 3:
                        raise OSError(errno.ENOSPC,
                                      os.strerror(errno.ENOSPC))
    if blocker == 'folder_in_the_way':
        assert isinstance(info.value, IsADirectoryError)
        assert written == []  # refused before anything was written
        assert str(paths[2]) in str(info.value)
    else:
        assert info.value.errno == errno.ENOSPC and len(written) == 3
    for path in paths[:2]:
        assert path.read_text() == f'old {path.name}'
    assert sorted(os.listdir(tmp_path)) == ['a.json', 'b.json'] + (
        ['c.json'] if blocker == 'folder_in_the_way' else [])


def test_atomic_paths_replace_all_and_refuse_repeats(tmp_path):
    paths = [tmp_path / 'x.txt', tmp_path / 'sub' / 'y.txt']
    paths[0].write_text('old')
    with atomic_paths(paths) as temps:
        for path, tmp in zip(paths, temps):
            with open(tmp, 'w') as f:
                f.write(path.name)
    assert [p.read_text() for p in paths] == ['x.txt', 'y.txt']
    assert sorted(os.listdir(tmp_path)) == ['sub', 'x.txt']
    assert os.listdir(tmp_path / 'sub') == ['y.txt']
    with pytest.raises(ValueError, match='appears twice'):
        with atomic_paths([paths[0], str(paths[0])]):
            pass


def test_file_and_folder_modes_follow_the_umask(tmp_path, umask):
    with atomic_path(tmp_path / 'a.txt') as tmp:
        with open(tmp, 'w') as f:
            f.write('a')
    write_atomically(b'b', tmp_path / 'b.txt')
    with atomic_paths([tmp_path / 'c.txt']) as (tmp, ):
        with open(tmp, 'w') as f:
            f.write('c')
    for name in ('a.txt', 'b.txt', 'c.txt'):
        assert mode(tmp_path / name) == 0o666 & ~umask, name
    with atomic_dir(tmp_path / 'out') as tmp:
        os.mkdir(os.path.join(tmp, 'sub'))
    assert mode(tmp_path / 'out') == 0o777 & ~umask
    assert mode(tmp_path / 'out' / 'sub') == 0o777 & ~umask


def test_write_atomically(tmp_path):
    target = tmp_path / 'deep' / 'last_checkpoint'
    write_atomically(b'iter_2.pth', target)
    write_atomically(b'iter_4.pth', str(target))
    assert target.read_bytes() == b'iter_4.pth'
    assert os.listdir(target.parent) == ['last_checkpoint']
    (tmp_path / 'dir').mkdir()
    with pytest.raises(IsADirectoryError, match=f'{tmp_path / "dir"}'):
        write_atomically(b'x', tmp_path / 'dir')
    assert os.listdir(tmp_path / 'dir') == []


def test_pending_file_commit_and_discard(tmp_path):
    target = tmp_path / 'video.mp4'
    pending = PendingFile(target)
    assert pending.path.endswith('video.mp4')
    with open(pending.path, 'wb') as f:
        f.write(b'frames')
    pending.commit()
    assert target.read_bytes() == b'frames'
    dropped = PendingFile(target)
    with open(dropped.path, 'wb') as f:
        f.write(b'partial')
    dropped.discard()
    assert target.read_bytes() == b'frames'
    assert os.listdir(tmp_path) == ['video.mp4']


def test_atomic_dir(tmp_path):
    target = tmp_path / 'data'
    with pytest.raises(ValueError, match='bad'):
        with atomic_dir(target) as tmp:
            open(os.path.join(tmp, 'half.txt'), 'w').close()
            raise ValueError('bad')
    assert os.listdir(tmp_path) == []
    target.mkdir()  # an empty folder is replaced
    with atomic_dir(target) as tmp:
        os.makedirs(os.path.join(tmp, 'a', 'b'))
        with open(os.path.join(tmp, 'a', 'b', 'f.txt'), 'w') as f:
            f.write('x')
    assert (target / 'a' / 'b' / 'f.txt').read_text() == 'x'
    assert os.listdir(tmp_path) == ['data']
    with pytest.raises(FileExistsError, match=f'{target} exists and is not'):
        with atomic_dir(target):
            pass
    assert os.listdir(tmp_path) == ['data']


def test_stale_temporaries_are_recognised_and_removed(tmp_path):
    # what a process killed mid-write leaves: a file and a folder
    stale_file = tmp_path / f'.iter_4.pth.{TMP_MARKER}ab_12xyz.tmp'
    stale_file.write_text('half')
    stale_dir = os.path.dirname(PendingFile(tmp_path / 'chart.png').path)
    (tmp_path / 'iter_2.pth').write_text('kept')
    # a user's files of the same shape, without this module's marker
    users = ['.hidden.tmp', '.notes.txt.abc12345.tmp']
    for name in users:
        (tmp_path / name).write_text('not ours')
    # only the temporaries of the targets asked for
    assert remove_stale_temporaries(
        str(tmp_path), lambda name: name.endswith('.pth')) == [
            str(stale_file)]
    assert os.path.isdir(stale_dir)
    assert remove_stale_temporaries(str(tmp_path)) == [stale_dir]
    assert sorted(os.listdir(tmp_path)) == sorted(users + ['iter_2.pth'])
    assert TMP_NAME.fullmatch(stale_file.name).group('name') == 'iter_4.pth'
    assert not TMP_NAME.fullmatch('.notes.txt.abc12345.tmp')
