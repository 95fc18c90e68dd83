"""Install tsm_mm; ship configs and tools in ``tsm_mm/.mim`` for OpenMIM."""
import os
import os.path as osp
import shutil
import sys

from setuptools import find_packages, setup

MIM_FILES = ('configs', 'tools', 'model-index.yml')


def add_mim_extension() -> None:
    """Put ``configs``, ``tools`` and ``model-index.yml`` in ``tsm_mm/.mim``,
    as OpenMMLab does.

    Links them for a develop (editable) install, copies them otherwise, so
    that ``mim train tsm_mm CONFIG`` finds ``tsm_mm/.mim/tools/train.py``.
    """
    develop = any(cmd in sys.argv for cmd in ('develop', 'editable_wheel'))
    here = osp.dirname(osp.abspath(__file__))
    mim_path = osp.join(here, 'tsm_mm', '.mim')
    os.makedirs(mim_path, exist_ok=True)
    for name in MIM_FILES:
        src, dst = osp.join(here, name), osp.join(mim_path, name)
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if develop:
            os.symlink(osp.relpath(src, mim_path), dst)
        elif osp.isfile(src):
            shutil.copy(src, dst)
        else:
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns(
                '__pycache__', '*.pyc'))


def read_requirements(path: str) -> list:
    with open(path) as f:
        return [line.split('#')[0].strip() for line in f
                if line.split('#')[0].strip()]


if __name__ == '__main__':
    add_mim_extension()
    version = {}
    with open(osp.join('tsm_mm', 'version.py')) as f:
        exec(f.read(), version)
    setup(
        name='tsm_mm',
        version=version['__version__'],
        description='Temporal Shift Module for MMAction2 and MMDetection: '
        'TSM-ResNet, streaming video detection, online recognition',
        long_description=open('README.md').read(),
        long_description_content_type='text/markdown',
        python_requires='>=3.8',
        packages=find_packages(exclude=('configs', 'tools', 'tests')),
        include_package_data=True,
        package_data={'tsm_mm': ['.mim/configs/**/*', '.mim/tools/**/*',
                                  '.mim/model-index.yml']},
        install_requires=read_requirements('requirements/runtime.txt'),
        extras_require={'tests': read_requirements('requirements/tests.txt')},
        license='Apache License 2.0',
        zip_safe=False)
