"""Import a script of ``tools/`` as a module, for the tool tests."""
import importlib.util
import os.path as osp
from types import ModuleType

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load_tool(name: str) -> ModuleType:
    """Execute ``tools/<name>.py`` (``name`` may hold a sub-folder) and
    return it as a module."""
    spec = importlib.util.spec_from_file_location(
        osp.basename(name), osp.join(REPO, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def export_detecting_step(config: str, folder: str,
                          shape=(96, 128)) -> tuple:
    """Save ``config``'s detector with detecting random weights and export
    its whole step by ``tools/export_onnx.py`` (its interface beside it).

    Returns:
        tuple[str, str]: The checkpoint and the ``.onnx``.
    """
    import sys

    import torch
    from random_weights import detecting_weights

    from tsm_mm.apis import init_model
    checkpoint = osp.join(folder, 'tsm.pth')
    onnx_path = osp.join(folder, 'step.onnx')
    torch.save(dict(state_dict=detecting_weights(
        init_model(config)).state_dict()), checkpoint)
    saved, sys.argv = sys.argv, [
        'export_onnx.py', config, checkpoint, '--out', onnx_path,
        '--shape', *map(str, shape)]
    try:
        load_tool('export_onnx').main()
    finally:
        sys.argv = saved
    return checkpoint, onnx_path
