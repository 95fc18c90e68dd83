"""Every config is reachable by its bare file name, as ``mim`` looks it up.

``mim train tsm_mm NAME.py`` run outside the clone walks the whole installed
package (``tsm_mm/.mim/configs`` and ``tools`` are links or copies) for
files called ``NAME.py`` and stops when it finds more than one.
"""
import glob
import os.path as osp
from collections import defaultdict

from mim.utils import get_installed_path, recursively_find

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs', '**', '*.py'),
                           recursive=True))


def duplicate_names(paths: list) -> dict:
    """File names that occur more than once in ``paths``.

    Args:
        paths (list[str]): File paths.

    Returns:
        dict[str, list[str]]: Each repeated file name with its paths.
    """
    by_name = defaultdict(list)
    for path in paths:
        by_name[osp.basename(path)].append(path)
    return {name: found for name, found in by_name.items() if len(found) > 1}


def test_duplicate_names_finds_a_repeated_name():
    paths = ['configs/vid_faster_rcnn_tsm.py',
             'configs/toy/vid_faster_rcnn_tsm.py',
             'configs/toy/tsm_r18_toy_actions.py']
    assert duplicate_names(paths) == {'vid_faster_rcnn_tsm.py': paths[:2]}
    assert duplicate_names(paths[1:]) == {}


def test_config_file_names_are_unique():
    assert len(CONFIGS) > 5
    assert duplicate_names(CONFIGS) == {}


def test_mim_finds_each_config_once_in_the_installed_package():
    """The lookup of ``mim train``/``mim test`` (``mim/commands/train.py``):
    ``recursively_find(pkg_root, name, followlinks=True)``, which also
    sees ``tools/`` and the package's own modules."""
    pkg_root = get_installed_path('tsm_mm')
    # _base_ files are no command's argument (their names may repeat a
    # module's: _base_/imagenet_vid.py, tsm_mm/datasets/imagenet_vid.py)
    for config in [c for c in CONFIGS if '_base_' not in c.split(osp.sep)]:
        found = recursively_find(pkg_root, osp.basename(config),
                                 followlinks=True)
        rel = osp.relpath(config, ROOT)
        assert len(found) == 1, f'{rel}: mim finds {found}'
        assert found[0].endswith(osp.join('.mim', rel)), (rel, found)
