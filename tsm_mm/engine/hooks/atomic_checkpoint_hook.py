"""``CheckpointHook`` that cannot lose a run when killed while saving.

MMEngine's hook deletes the oldest checkpoint before writing the new one in
place, and rewrites ``last_checkpoint`` in place: ``kill -9`` mid-save with
``max_keep_ckpts=1`` leaves a truncated newest file, no intact one, and
``last_checkpoint`` naming a deleted file. This hook orders the steps so
that every moment has an intact checkpoint that ``last_checkpoint`` names:

1. write ``iter_N.pth`` to a temporary file in the same folder, fsync it,
   rename it into place (:class:`~tsm_mm.engine.AtomicLocalBackend`);
2. point ``last_checkpoint`` at it (written the same way);
3. only then remove the checkpoints that ``max_keep_ckpts`` drops (and,
   with ``save_best``, the previous best one).
"""
import contextlib
import os.path as osp
import re
import string
from typing import Iterator, List, Tuple

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook
from mmengine.registry import HOOKS

from ..atomic_local_backend import remove_stale_temporaries, write_atomically


class _DeferredRemovals:
    """A file backend whose ``remove``/``rmtree`` wait in a list."""

    def __init__(self, backend) -> None:
        self.backend = backend
        self.pending: List[Tuple[str, str]] = []

    def remove(self, path: str) -> None:
        self.pending.append(('remove', path))

    def rmtree(self, path: str) -> None:
        self.pending.append(('rmtree', path))

    def __getattr__(self, name: str):
        return getattr(self.backend, name)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """``CheckpointHook`` with crash-safe saving (same arguments).

    For local ``out_dir`` (no ``backend_args``/``file_client_args``)
    checkpoints, ``last_checkpoint`` and best checkpoints are written
    through a fsynced temporary file and renamed into place, and
    checkpoints are removed only after the new one and
    ``last_checkpoint`` are in place. Other storage backends keep
    MMEngine's behaviour. Stale temporary files of a killed run (this
    package's temporaries of the files this hook writes: checkpoints, best
    checkpoints, ``last_checkpoint``) are removed in ``before_train``.
    """

    _atomic = False  # decided in before_train, once out_dir is known

    def before_train(self, runner) -> None:
        out_dir = self.out_dir if self.out_dir is not None else \
            runner.work_dir
        self._atomic = (self.backend_args is None
                        and self.file_client_args is None
                        and '://' not in str(out_dir))
        if self._atomic:
            self.backend_args = dict(backend='atomic_local')
        super().before_train(runner)
        if self._atomic and is_main_process():
            for folder in dict.fromkeys([self.out_dir, runner.work_dir]):
                for path in remove_stale_temporaries(
                        folder, self._writes_file_named):
                    runner.logger.warning(
                        f'removed {path}, left by a run killed while saving')

    def _writes_file_named(self, name: str) -> bool:
        """Whether this hook writes files called ``name``: a checkpoint
        (``filename_tmpl``), a best checkpoint or ``last_checkpoint``."""
        steps = ''.join(
            re.escape(text) + (r'\d+' if field is not None else '')
            for text, field, _, _ in string.Formatter().parse(
                self.filename_tmpl))
        return name == 'last_checkpoint' or \
            re.fullmatch(f'(?:best_.+_)?{steps}', name) is not None

    def _kept_paths(self) -> set:
        """The checkpoints this hook points at now (never removed)."""
        best = [getattr(self, 'best_ckpt_path', None),
                *getattr(self, 'best_ckpt_path_dict', {}).values()]
        return {path for path in (self.last_ckpt, *best) if path}

    def _remove(self, paths: List[str]) -> None:
        for path in paths:
            if path in self._kept_paths():
                continue
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif self.file_backend.isdir(path):  # saved by DeepSpeed
                self.file_backend.rmtree(path)

    @contextlib.contextmanager
    def _removals_after_save(self) -> Iterator[None]:
        """Hold back the file removals of the block until it returned."""
        if isinstance(self.file_backend, _DeferredRemovals):
            yield  # inside such a block already
            return
        deferred = _DeferredRemovals(self.file_backend)
        self.file_backend = deferred
        try:
            yield
        finally:
            self.file_backend = deferred.backend
        self._remove([path for _, path in deferred.pending])

    def _drop_oldest(self, runner, step: int) -> List[str]:
        """MMEngine's ``max_keep_ckpts`` bookkeeping for a save at
        ``step``, without removing anything.

        Returns:
            list[str]: The checkpoints to remove once ``step`` is saved.
        """
        if self.max_keep_ckpts <= 0 or (self.keep_ckpt_ids
                                        and self.keep_ckpt_ids[-1] == step):
            return []
        dropped = []
        if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
            dropped.append(self.file_backend.join_path(
                self.out_dir,
                self.filename_tmpl.format(self.keep_ckpt_ids.popleft())))
        self.keep_ckpt_ids.append(step)
        # saved in the checkpoint: a resumed run knows what to remove
        runner.message_hub.update_info('keep_ckpt_ids',
                                       list(self.keep_ckpt_ids))
        return dropped

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        if not self._atomic:
            super()._save_checkpoint_with_step(runner, step, meta)
            return
        dropped = self._drop_oldest(runner, step)
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        # 1. temporary file, fsync, rename (backend_args: atomic_local)
        runner.save_checkpoint(
            self.out_dir, filename, self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler, meta=meta,
            by_epoch=self.by_epoch, backend_args=self.backend_args,
            **self.args)
        if not is_main_process():
            return
        # 2. last_checkpoint names the new file, 3. then old ones go
        write_atomically(self.last_ckpt.encode(),
                         osp.join(runner.work_dir, 'last_checkpoint'))
        self._remove(dropped)

    def _save_best_checkpoint(self, runner, metrics) -> None:
        if not self._atomic:
            super()._save_best_checkpoint(runner, metrics)
            return
        # MMEngine removes the previous best before saving the new one
        with self._removals_after_save():
            super()._save_best_checkpoint(runner, metrics)
