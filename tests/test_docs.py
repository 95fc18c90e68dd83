"""The README and docs stand on their own: short front page, links that
resolve inside the repository, no references to files outside it."""
import glob
import os.path as osp
import re

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
PAGES = [osp.join(REPO, 'README.md')] + sorted(
    glob.glob(osp.join(REPO, 'docs', '*.md')))


def test_front_page_is_short():
    with open(osp.join(REPO, 'README.md')) as f:
        assert len(f.readlines()) <= 250


@pytest.mark.parametrize('page', PAGES, ids=osp.basename)
def test_page_refers_to_nothing_outside_the_repository(page):
    text = open(page).read()
    assert not re.search(r'DESIGN\.md|shared machine|\.\./shared', text,
                         re.IGNORECASE)


@pytest.mark.parametrize('page', PAGES, ids=osp.basename)
def test_relative_links_resolve(page):
    text = open(page).read()
    for target in re.findall(r'\]\(([^)#\s]+)(?:#[^)]*)?\)', text):
        if re.match(r'[a-z]+://', target):
            continue
        path = osp.normpath(osp.join(osp.dirname(page), target))
        assert osp.exists(path), f'{osp.basename(page)} links {target}'
