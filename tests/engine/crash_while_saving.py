"""Run tools/train.py and ``kill -9`` itself at one point of one save.

Usage: python crash_while_saving.py POINT STEP -- TRAIN_ARGS...

POINT (of the save of ``iter_STEP.pth``):
    write       halfway through writing the checkpoint bytes
    rename      the file is complete and fsynced, not yet renamed
    last        renamed, ``last_checkpoint`` not yet updated
    remove      ``last_checkpoint`` updated, the oldest not yet removed
"""
import os
import os.path as osp
import runpy
import signal
import sys

from mmengine.fileio.backends import local_backend

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def install(point: str, step: int, interval: int) -> None:
    target = f'iter_{step}.pth'
    original = dict(put=local_backend.LocalBackend.put, fsync=os.fsync,
                    replace=os.replace, remove=os.remove)

    def put(self, obj, filepath):  # MMEngine's in-place write
        if point == 'write' and osp.basename(str(filepath)) == target:
            with open(filepath, 'wb') as f:
                f.write(obj[:len(obj) // 2])
            die()
        original['put'](self, obj, filepath)

    def fsync(fd):  # a temporary file of tsm_mm's atomic write
        name = osp.basename(os.readlink(f'/proc/self/fd/{fd}'))
        if point == 'write' and name.startswith(f'.{target}.'):
            os.ftruncate(fd, os.fstat(fd).st_size // 2)
            die()
        original['fsync'](fd)

    def replace(src, dst):
        name = osp.basename(str(dst))
        if point == 'rename' and name == target:
            die()
        if point == 'last' and name == 'last_checkpoint' and \
                osp.exists(osp.join(osp.dirname(str(dst)), target)):
            die()
        original['replace'](src, dst)

    def remove(path):
        if point == 'remove' and \
                osp.basename(str(path)) == f'iter_{step - interval}.pth':
            die()
        original['remove'](path)

    local_backend.LocalBackend.put = put
    os.fsync, os.replace, os.remove = fsync, replace, remove


if __name__ == '__main__':
    point, step, interval = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    install(point, step, interval)
    sys.argv = ['train.py', *sys.argv[4:]]
    runpy.run_path(osp.join(REPO, 'tools', 'train.py'), run_name='__main__')
