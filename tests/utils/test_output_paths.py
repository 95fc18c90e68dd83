"""check_outputs: an output never destroys an input or a user's file."""
import os

import pytest

from tsm_mm.utils.output_paths import check_outputs


@pytest.fixture
def clip(tmp_path):
    path = tmp_path / 'clip.mp4'
    path.write_bytes(b'the input')
    return path


@pytest.mark.parametrize('how', ['same', 'relative', 'symlink', 'hardlink'])
def test_an_output_that_is_an_input_is_refused(how, clip, tmp_path,
                                               monkeypatch):
    out = dict(same=clip, relative='sub/../clip.mp4',
               symlink=tmp_path / 'link.mp4',
               hardlink=tmp_path / 'hard.mp4')[how]
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'sub').mkdir()
    if how == 'symlink':
        os.symlink(clip, out)
    elif how == 'hardlink':
        os.link(clip, out)
    # --overwrite does not make it allowed
    with pytest.raises(ValueError, match=f'--out {out} is the same file as '
                       f'input {clip}'):
        check_outputs({'--out': out}, {'input': clip}, overwrite=True)
    assert clip.read_bytes() == b'the input'


def test_an_existing_file_needs_overwrite(clip, tmp_path):
    out = tmp_path / 'old.mp4'
    out.write_bytes(b'a user file')
    with pytest.raises(FileExistsError,
                       match=f'--out {out} exists: pass --overwrite'):
        check_outputs({'--out': out}, {'input': clip})
    check_outputs({'--out': out}, {'input': clip}, overwrite=True)
    # a dangling link is in the way too
    link = tmp_path / 'dangling.mp4'
    os.symlink(tmp_path / 'nowhere', link)
    with pytest.raises(FileExistsError, match='dangling.mp4 exists'):
        check_outputs({'--out': link})


def test_sidecars_folders_and_duplicates(clip, tmp_path):
    results = tmp_path / 'results.json'
    results.write_text('{}')
    with pytest.raises(FileExistsError, match=f'the interface file of --out '
                       f'{results} exists: pass --overwrite'):
        check_outputs({'--out': tmp_path / 'results.onnx',
                       'the interface file of --out': results})
    with pytest.raises(ValueError, match='--out and the interface file of '
                       '--out name the same file'):
        check_outputs({'--out': tmp_path / 'm.json',
                       'the interface file of --out': tmp_path / 'm.json'})
    with pytest.raises(ValueError, match=f'--out {tmp_path} is a folder'):
        check_outputs({'--out': tmp_path}, overwrite=True)
    frames = tmp_path / 'frames'
    frames.mkdir()
    with pytest.raises(ValueError, match=f'--out {frames}/x.jpg is inside '
                       f'the input folder input {frames}'):
        check_outputs({'--out': frames / 'x.jpg'}, {'input': frames})


def test_what_is_not_checked(clip, tmp_path):
    # no output, URLs, inputs that do not exist (the tool names them)
    check_outputs({'--out': None, '--png': tmp_path / 'new.png'},
                  {'checkpoint': 'https://host/model.pth', 'config': None,
                   'input': tmp_path / 'missing.mp4'})
