"""``mim search tsm_mm`` lists every config with its task and dataset."""
import glob
import os.path as osp
import re
import subprocess
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MIM = osp.join(osp.dirname(sys.executable), 'mim')


def project_configs():
    """Config names under ``configs/``, ``_base_`` left out."""
    return sorted(
        osp.splitext(osp.basename(p))[0]
        for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'),
                           recursive=True)
        if '_base_' not in p.split(osp.sep))


def test_mim_search_lists_every_config(tmp_path):
    out = subprocess.run([MIM, 'search', 'tsm_mm'], cwd=str(tmp_path),
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    entries = re.split(r'(?m)^config id: ', out.stdout)[1:]
    listed = {e.split('\n', 1)[0].strip(): e for e in entries}
    assert sorted(listed) == project_configs()
    for name, entry in listed.items():
        assert re.search(r'(?m)^task\s+\S', entry), name
        assert re.search(r'(?m)^training_data\s+\S', entry), name
        config = re.search(r'(?m)^config\s+(\S+)', entry).group(1)
        assert config.startswith('configs/'), name


def test_metafile_configs_exist():
    index = open(osp.join(REPO, 'model-index.yml')).read()
    for metafile in re.findall(r'- (\S+metafile\.yml)', index):
        text = open(osp.join(REPO, metafile)).read()
        for config in re.findall(r'(?m)^    Config: (\S+)', text):
            assert osp.isfile(osp.join(REPO, config)), (metafile, config)
        assert 'Weights:' not in text  # no weights are published yet
