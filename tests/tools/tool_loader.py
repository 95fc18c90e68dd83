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
