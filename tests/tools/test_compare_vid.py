"""tools/compare_vid.py as a user runs it: a tiny toy VID, two seeds of a
2-iteration schedule, every val frame scored, bootstrap intervals."""
import json
import os
import os.path as osp
import re
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
VAL_VIDEOS, FRAMES = 3, 16  # the tool's toy videos have 16 frames


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    work_dir = str(tmp_path_factory.mktemp('compare_vid'))
    proc = subprocess.run(
        [sys.executable, 'tools/compare_vid.py', '--toy', '--work-dir',
         work_dir, '--train-videos', '2', '--val-videos', str(VAL_VIDEOS),
         '--shared-2d-iters', '1', '--iters', '2', '--seeds', '2',
         '--draws', '20', '--fps-videos', '1', '--threads', '1',
         '--motion-rule', 'mega'],
        cwd=REPO, capture_output=True, text=True, timeout=600,
        env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    return work_dir, proc.stdout, proc.stdout + proc.stderr


def test_every_val_frame_scored_for_each_arm_and_seed(run):
    _, _, output = run
    scored = re.findall(r'VIDMetric: scored (\d+) frames of (\d+) videos',
                        output)
    assert scored == [(str(VAL_VIDEOS * FRAMES), str(VAL_VIDEOS))] * 4


def test_tables_json_and_chart(run):
    work_dir, stdout, _ = run
    stdout = stdout[stdout.index('TSM vs 2D Faster R-CNN, VID mAP'):]
    assert '(mega motion rule)' in stdout
    for seed in (0, 1):
        assert f'seed {seed} (TSM − 2D with a 95% paired bootstrap' in stdout
    rows = [line for line in stdout.splitlines()
            if line.startswith('|') and not set(line) <= set('|-: ')]
    # two seeds x (header, 2D, TSM, delta) + summary (header, 2D, TSM, delta)
    assert [r.split('|')[1].strip() for r in rows] == (
        ['arm', '2D', 'TSM', 'TSM − 2D'] * 3)
    assert 'mean ± std over 2 training seeds' in stdout
    with open(osp.join(work_dir, 'compare_vid.json')) as f:
        saved = json.load(f)
    assert len(saved['runs']) == 2
    for run_ in saved['runs']:
        assert set(run_['arms']) == {'2D', 'TSM'}
        for metric in ('mAP', 'mAP_slow', 'mAP_medium', 'mAP_fast'):
            interval = run_['intervals'][metric]
            delta = (run_['arms']['TSM'][metric] -
                     run_['arms']['2D'][metric])
            assert interval['delta'] == pytest.approx(delta, abs=1e-9)
            if interval['low'] == interval['low']:  # not nan
                assert interval['low'] <= interval['high']
    assert set(saved['fps']) == {'2D', 'TSM'}
    assert osp.isfile(osp.join(work_dir, 'seed1', 'tsm', 'iter_2.pth'))
    with open(osp.join(work_dir, 'compare_vid.png'), 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'


def test_summarize_prints_a_row_per_family(run):
    """--summarize: the per-family table of saved runs, nothing trained."""
    work_dir, _, _ = run
    saved = osp.join(work_dir, 'compare_vid.json')
    out = subprocess.run(
        [sys.executable, 'tools/compare_vid.py', '--summarize', saved, saved],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    rows = [line for line in out.stdout.splitlines()
            if line.startswith('| faster_rcnn |')]
    assert len(rows) == 2
    # mean ± std over the two seeds, then each seed's gain
    gain = r'\| [+-]\d+\.\d ± \d+\.\d \([+-]\d+\.\d, [+-]\d+\.\d\) \|'
    assert re.search(gain, rows[0]), rows[0]
