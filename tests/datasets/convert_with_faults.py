"""Run tools/convert_imagenet_vid.py with one fault injected.

Usage: python convert_with_faults.py FAULT -- TOOL_ARGS...

FAULT:
    kill:N      ``kill -9`` right after the N-th json of the set is renamed
                into place (``os.replace`` onto ``imagenet_*.json``)
    full:NAME   every write to a file named NAME goes to ``/dev/full``, so
                the kernel answers ENOSPC as on a full disk
"""
import builtins
import os
import os.path as osp
import runpy
import signal
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SPLIT_JSONS = ('imagenet_vid_train.json', 'imagenet_vid_val.json',
               'imagenet_det_train.json')


def kill_after(count: int) -> None:
    original, done = os.replace, []

    def replace(src, dst, **kwargs):
        original(src, dst, **kwargs)
        if osp.basename(os.fspath(dst)) in SPLIT_JSONS:
            done.append(dst)
            if len(done) == count:
                os.kill(os.getpid(), signal.SIGKILL)

    os.replace = replace


def full_disk(name: str) -> None:
    original = builtins.open

    def open_(file, mode='r', *args, **kwargs):
        if ('w' in mode or 'a' in mode) and not isinstance(file, int) and \
                osp.basename(os.fspath(file)) == name:
            file = '/dev/full'
        return original(file, mode, *args, **kwargs)

    builtins.open = open_


if __name__ == '__main__':
    fault, value = sys.argv[1].split(':', 1)
    {'kill': lambda: kill_after(int(value)),
     'full': lambda: full_disk(value)}[fault]()
    sys.argv = ['convert_imagenet_vid.py', *sys.argv[3:]]
    runpy.run_path(osp.join(REPO, 'tools', 'convert_imagenet_vid.py'),
                   run_name='__main__')
