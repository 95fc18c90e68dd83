"""Convert checkpoints to tsm_mm models (and tsm_mm recognizers back).

Layouts:
    official  mit-han-lab/temporal-shift-module TSM ResNets -> a tsm_mm
              Recognizer2D (TSMResNet + TSMHead).
    mmaction  MMAction2 ResNetTSM recognizers <-> tsm_mm TSMResNet ones
              (--direction to-tsm_mm | to-mmaction).
    mmdet     a 2D MMDetection detector with a ResNet backbone -> the same
              detector with StreamingTSMResNet (same keys; the config kept
              in meta['cfg'] gets the TSM backbone, edited as text: it is
              never executed).

Checkpoints are read with ``weights_only=True`` and MMEngine's allow-list
only (tsm_mm.engine.load_checkpoint_file): a file holding anything else is
refused.

Only ``meta`` and ``state_dict`` are written (no optimizer state), never
over the source; an existing output is replaced only with ``--overwrite``.

Example:
    python tools/model_converters/convert_checkpoint.py official \
        TSM_kinetics_RGB_resnet50_shift8_blockres_avg_segment8_e50.pth \
        tsm_r50_k400.pth

Every layout is read by the same rule: strip the ``net`` segments that
wrapper modules add, rename to MMAction2 ``ResNet`` names, then check that
re-wrapping under one known layout gives back exactly the input keys and
that the keys are a complete ResNet. Anything else is refused with the
keys that did not match.
"""
import argparse
import ast
import io
import os.path as osp
import re
from typing import Dict, Iterable, List, Optional, Tuple

import torch
from torch import Tensor

# isort: off
import tsm_mm  # noqa: F401  (first: patches the stack before mmaction)
from mmaction.models.backbones.resnet import ResNet as ActionResNet
from mmdet.models.backbones import ResNet as DetResNet
# isort: on
from tsm_mm.engine import load_checkpoint_file, write_atomically
from tsm_mm.models.backbones.tsm_resnet import strip_wrapper_segments
from tsm_mm.utils.output_paths import check_outputs

# (blocks per stage, bottleneck) -> depth, as the ResNets' arch_settings
DEPTHS = {((2, 2, 2, 2), False): 18, ((3, 4, 6, 3), False): 34,
          ((3, 4, 6, 3), True): 50, ((3, 4, 23, 3), True): 101,
          ((3, 8, 36, 3), True): 152}
BN_PARAMS = ('weight', 'bias', 'running_mean', 'running_var',
             'num_batches_tracked')
# (shift_place, temporal_pool); None: no shift (a TSN checkpoint)
LAYOUTS = [(place, pool) for place in ('blockres', 'block', None)
           for pool in (False, True)]
MMACTION_DIRECTIONS = ('to-tsm_mm', 'to-mmaction')


def _refuse(what: str, keys: Iterable[str], limit: int = 20) -> None:
    keys = sorted(keys)
    shown = '\n  '.join(keys[:limit])
    more = f'\n  ... and {len(keys) - limit} more' if len(keys) > limit \
        else ''
    raise ValueError(f'{what} ({len(keys)} keys):\n  {shown}{more}')


def tv_to_mm(key: str) -> Optional[str]:
    """A torchvision / MMDetection ResNet key in MMAction2 ``ResNet`` names.

    ``conv1.weight`` -> ``conv1.conv.weight``, ``bn1.*`` -> ``conv1.bn.*``,
    ``layerX.Y.bnK.*`` -> ``layerX.Y.convK.bn.*``, ``downsample.0/1`` ->
    ``downsample.conv/bn``; None for a key of no ResNet.
    """
    m = re.fullmatch(r'((?:layer\d+\.\d+\.)?)(conv|bn)(\d)\.(\w+)', key)
    if m:
        block, kind, k, param = m.groups()
        if not block and k != '1':
            return None
        if kind == 'conv' and param == 'weight':
            return f'{block}conv{k}.conv.weight'
        if kind == 'bn' and param in BN_PARAMS:
            return f'{block}conv{k}.bn.{param}'
        return None
    m = re.fullmatch(r'(layer\d+\.\d+)\.downsample\.([01])\.(\w+)', key)
    if m:
        block, index, param = m.groups()
        if index == '0' and param == 'weight':
            return f'{block}.downsample.conv.weight'
        if index == '1' and param in BN_PARAMS:
            return f'{block}.downsample.bn.{param}'
    return None


def _wrap(key: str, layout: Tuple, n_round: int, tv_names: bool) -> str:
    """Where the official code (``tv_names``) or ``ResNetTSM`` puts the
    wrappers of ``layout`` around the module of ``key`` (unwrapped)."""
    shift_place, temporal_pool = layout
    m = re.fullmatch(r'layer(\d+)\.(\d+)\.(.*)', key)
    if m is None:  # the stem
        return key
    layer, block, rest = int(m.group(1)), int(m.group(2)), m.group(3)
    if shift_place == 'block':
        rest = 'net.' + rest
    elif shift_place == 'blockres' and block % n_round == 0:
        shifted = 'conv1.weight' if tv_names else 'conv1.conv.weight'
        if rest == shifted:
            rest = rest.replace('.weight', '.net.weight')
    stage = f'layer{layer}.net' if temporal_pool and layer == 2 else \
        f'layer{layer}'
    return f'{stage}.{block}.{rest}'


def resnet_depth(mm_keys: Iterable[str]) -> int:
    """The depth of a ResNet from its (MMAction2-named) keys."""
    blocks: Dict[int, set] = {}
    bottleneck = False
    for key in mm_keys:
        m = re.match(r'layer(\d+)\.(\d+)\.', key)
        if m:
            blocks.setdefault(int(m.group(1)), set()).add(int(m.group(2)))
            bottleneck |= '.conv3.' in key
    counts = tuple(len(blocks.get(i, ())) for i in range(1, 5))
    depth = DEPTHS.get((counts, bottleneck))
    if depth is None or len(blocks) != 4:
        raise ValueError(f'no ResNet has {counts} blocks per stage '
                         f'(bottleneck={bottleneck})')
    return depth


def _check_complete(mm_keys: List[str], depth: int) -> None:
    """Refuse missing or extra keys against MMAction2's ``ResNet``."""
    with torch.device('meta'):
        expected = set(ActionResNet(depth, pretrained=None).state_dict())
    got = set(mm_keys)
    missing = {k for k in expected - got
               if not k.endswith('num_batches_tracked')}
    if missing:
        _refuse(f'the ResNet-{depth} lacks keys (MMAction2 names)', missing)
    if got - expected:
        _refuse(f'keys of no ResNet-{depth}', got - expected)


def _read_backbone(wrapped: Dict[str, Tensor], tv_names: bool,
                   prefix: str) -> Tuple[Dict[str, Tensor], Dict]:
    """Wrapped backbone keys -> MMAction2 ``ResNet`` keys, and the layout.

    Args:
        wrapped (dict): Backbone keys without prefix, as the source has them.
        tv_names (bool): Whether the source uses torchvision names.
        prefix (str): What the source puts before them (for messages).

    Returns:
        tuple[dict, dict]: The state dict and ``dict(depth, shift_place,
        temporal_pool)``.
    """
    renamed, unknown = {}, []
    for key in wrapped:
        plain = strip_wrapper_segments(key)
        mm_key = tv_to_mm(plain) if tv_names else plain
        if mm_key is None:
            unknown.append(key)
        renamed[key] = mm_key
    if unknown:
        _refuse('keys of no ResNet layout', [prefix + k for k in unknown])
    depth = resnet_depth(renamed.values())
    _check_complete(list(renamed.values()), depth)
    n_round = 2 if depth >= 101 else 1
    best = None
    for layout in LAYOUTS:
        off = [k for k in wrapped
               if _wrap(strip_wrapper_segments(k), layout, n_round,
                        tv_names) != k]
        if not off:
            return ({renamed[k]: v for k, v in wrapped.items()},
                    dict(depth=depth, shift_place=layout[0],
                         temporal_pool=layout[1]))
        if best is None or len(off) < len(best):
            best = [prefix + k for k in off]
    _refuse('the .net wrappers of these keys fit no shift layout '
            "(shift_place 'blockres', 'block' or none, with or without "
            'temporal_pool)', best)


def convert_official(checkpoint: Dict) -> Dict:
    """An official TSM checkpoint (mit-han-lab/temporal-shift-module) ->
    a tsm_mm ``Recognizer2D`` (``TSMResNet`` + ``TSMHead``).

    Keys ``module.base_model.<torchvision ResNet>`` (with the ``.net`` of
    the shift and pool wrappers) become ``backbone.<MMAction2 ResNet>``;
    ``module.new_fc.*`` (or ``base_model.fc.*`` when trained without
    dropout) become ``cls_head.fc_cls.*``.

    Args:
        checkpoint (dict): As ``torch.load`` gives it (``state_dict`` and
            the training fields, or a bare state dict).

    Returns:
        dict: ``dict(meta=..., state_dict=...)``; ``meta['converted_from']``
        records the source layout (depth, shift_place, temporal_pool).
    """
    state_dict = checkpoint.get('state_dict', checkpoint)
    backbone, head, unknown = {}, {}, []
    for key, value in state_dict.items():
        name = key[len('module.'):] if key.startswith('module.') else key
        m = re.fullmatch(r'(?:new_fc|base_model\.fc)\.(weight|bias)', name)
        if m:
            head[f'cls_head.fc_cls.{m.group(1)}'] = value
        elif name.startswith('base_model.'):
            backbone[name[len('base_model.'):]] = value
        else:
            unknown.append(key)
    if unknown or len(head) != 2:
        _refuse('keys of no official TSM ResNet (expected module.base_model.'
                '* and module.new_fc.weight/bias)', unknown or head)
    prefix = 'module.base_model.' if any(
        k.startswith('module.') for k in state_dict) else 'base_model.'
    mm_backbone, layout = _read_backbone(backbone, True, prefix)
    out = {f'backbone.{k}': v for k, v in mm_backbone.items()}
    out.update(head)
    fields = {k: v for k, v in checkpoint.items()
              if k != 'state_dict' and isinstance(v, (int, float, str))}
    meta = dict(converted_from=dict(layout='official', **layout, **fields))
    return dict(meta=meta, state_dict=out)


def convert_mmaction(checkpoint: Dict, direction: str = 'to-tsm_mm',
                     shift_place: str = 'blockres',
                     temporal_pool: bool = False) -> Dict:
    """MMAction2 ``ResNetTSM`` recognizer <-> tsm_mm ``TSMResNet`` one.

    Only ``backbone.*`` keys change (``TSMResNet`` has MMAction2 ``ResNet``
    keys, ``ResNetTSM`` adds ``.net`` where it wraps modules); the head and
    everything else is kept.

    Args:
        checkpoint (dict): An MMEngine checkpoint or a bare state dict.
        direction (str): ``'to-tsm_mm'`` (the layout is read from the keys)
            or ``'to-mmaction'``.
        shift_place (str): For ``'to-mmaction'``: the ``ResNetTSM``
            ``shift_place`` to write (``'blockres'`` or ``'block'``).
        temporal_pool (bool): For ``'to-mmaction'``: whether the target
            ``ResNetTSM`` has ``temporal_pool``.

    Returns:
        dict: ``dict(meta=..., state_dict=...)``.
    """
    if direction not in MMACTION_DIRECTIONS:
        raise ValueError(f'direction must be one of {MMACTION_DIRECTIONS}, '
                         f'got {direction!r}')
    state_dict = checkpoint.get('state_dict', checkpoint)
    backbone = {k[len('backbone.'):]: v for k, v in state_dict.items()
                if k.startswith('backbone.')}
    if not backbone:
        _refuse('no backbone.* keys; keys found', state_dict)
    if direction == 'to-tsm_mm':
        converted, layout = _read_backbone(backbone, False, 'backbone.')
    else:
        if any('.net.' in f'.{k}' for k in backbone):
            _refuse('already MMAction2 ResNetTSM keys (.net)',
                    [k for k in backbone if '.net.' in f'.{k}'])
        depth = resnet_depth(backbone)
        _check_complete(list(backbone), depth)
        layout = dict(depth=depth, shift_place=shift_place,
                      temporal_pool=temporal_pool)
        n_round = 2 if depth >= 101 else 1
        converted = {_wrap(k, (shift_place, temporal_pool), n_round, False):
                     v for k, v in backbone.items()}
    converted = iter(converted.items())
    out = {}
    for key, value in state_dict.items():
        if key.startswith('backbone.'):
            new_key, value = next(converted)
            key = f'backbone.{new_key}'
        out[key] = value
    meta = dict(checkpoint.get('meta') or {})
    meta['converted_from'] = dict(
        layout='mmaction' if direction == 'to-tsm_mm' else 'tsm_mm',
        **layout)
    return dict(meta=meta, state_dict=out)


def _dict_call(node: ast.AST) -> Optional[ast.Call]:
    """``node`` if it is a ``dict(...)`` call."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
            and node.func.id == 'dict':
        return node
    return None


def _keyword(call: ast.Call, name: str) -> Optional[ast.keyword]:
    return next((kw for kw in call.keywords if kw.arg == name), None)


def _tsm_detector_cfg(cfg_text: str, backbone: Dict) -> str:
    """Swap the ``ResNet`` backbone of a saved config for the TSM one.

    The text comes from the checkpoint, so it is never executed
    (``Config.fromstring`` would run it): the ``backbone=dict(...)`` of the
    last top-level ``model = dict(...)`` is found in the syntax tree and
    only its ``type`` and the shift settings are rewritten in the text.
    """
    try:
        tree = ast.parse(cfg_text)
    except SyntaxError as err:
        raise ValueError(f'the saved config (meta cfg) is not Python: '
                         f'{err}') from err
    models = [node.value for node in tree.body
              if isinstance(node, ast.Assign) and len(node.targets) == 1
              and isinstance(node.targets[0], ast.Name)
              and node.targets[0].id == 'model' and _dict_call(node.value)]
    found = _keyword(models[-1], 'backbone') if models else None
    call = _dict_call(found.value) if found else None
    old = _keyword(call, 'type') if call else None
    if old is None or not isinstance(old.value, ast.Constant):
        raise ValueError('the saved config (meta cfg) has no model = dict('
                         'backbone=dict(type=...)) written as literals')
    if not isinstance(old.value.value, str) or \
            old.value.value.split('.')[-1] != 'ResNet':
        raise ValueError(f'the saved config has backbone '
                         f'{old.value.value!r}, expected \'ResNet\'')
    # (start, end, text) on the UTF-8 bytes (ast offsets count bytes)
    lines = cfg_text.encode().splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(lineno: int, col: int) -> int:
        return starts[lineno - 1] + col

    edits, appended = [], []
    for key, value in backbone.items():
        kw = _keyword(call, key)
        if kw is None:
            appended.append(f', {key}={value!r}')
        else:
            edits.append((offset(kw.value.lineno, kw.value.col_offset),
                          offset(kw.value.end_lineno,
                                 kw.value.end_col_offset), repr(value)))
    last = max([*call.args, *call.keywords],
               key=lambda n: (n.end_lineno, n.end_col_offset))
    end = offset(last.end_lineno, last.end_col_offset)
    edits.append((end, end, ''.join(appended)))
    text = b''.join(lines)
    for start, stop, new in sorted(edits, reverse=True):
        text = text[:start] + new.encode() + text[stop:]
    return text.decode()


def convert_mmdet(checkpoint: Dict, num_segments: int = 8,
                  shift_div: int = 8, direction: str = 'causal') -> Dict:
    """A 2D MMDetection detector (``ResNet`` backbone) -> its TSM twin.

    ``StreamingTSMResNet`` has exactly MMDetection's ``ResNet`` keys, so
    the weights are copied unchanged once the backbone keys are checked to
    be a complete ResNet. The config saved in ``meta['cfg']`` (if any) gets
    ``backbone.type='StreamingTSMResNet'`` with these shift settings,
    written into its text without executing it.

    Args:
        checkpoint (dict): An MMEngine checkpoint or a bare state dict.
        num_segments (int): T of the TSM backbone, for ``meta['cfg']``.
        shift_div (int): Its shift_div, for ``meta['cfg']``.
        direction (str): Its shift direction, for ``meta['cfg']``.

    Returns:
        dict: ``dict(meta=..., state_dict=...)``.
    """
    state_dict = checkpoint.get('state_dict', checkpoint)
    backbone = [k[len('backbone.'):] for k in state_dict
                if k.startswith('backbone.')]
    norm = [k[:2] for k in backbone if re.fullmatch(r'(bn|gn)1\.weight', k)]
    if len(norm) != 1:
        _refuse('no ResNet stem norm (backbone.bn1.weight or '
                'backbone.gn1.weight) among the backbone keys', backbone)
    depth = resnet_depth(backbone)
    norm_cfg = dict(type='GN', num_groups=32) if norm[0] == 'gn' else \
        dict(type='BN')
    with torch.device('meta'):
        expected = set(DetResNet(depth, norm_cfg=norm_cfg).state_dict())
    if set(backbone) - expected:
        _refuse(f'backbone keys of no MMDetection ResNet-{depth}',
                ['backbone.' + k for k in set(backbone) - expected])
    missing = {k for k in expected - set(backbone)
               if not k.endswith('num_batches_tracked')}
    if missing:
        _refuse(f'the backbone ResNet-{depth} lacks keys',
                ['backbone.' + k for k in missing])
    meta = dict(checkpoint.get('meta') or {})
    settings = dict(type='StreamingTSMResNet', num_segments=num_segments,
                    shift_div=shift_div, direction=direction)
    if isinstance(meta.get('cfg'), str):
        meta['cfg'] = _tsm_detector_cfg(meta['cfg'], settings)
    meta['converted_from'] = dict(layout='mmdet', depth=depth, **settings)
    return dict(meta=meta, state_dict=dict(state_dict))


CONVERTERS = dict(official=convert_official, mmaction=convert_mmaction,
                  mmdet=convert_mmdet)


def convert_checkpoint_file(layout: str, src: str, dst: str,
                            overwrite: bool = False, **kwargs) -> Dict:
    """Convert the checkpoint ``src`` and write ``dst`` atomically.

    Args:
        layout (str): ``'official'``, ``'mmaction'`` or ``'mmdet'``.
        src (str): The input checkpoint.
        dst (str): The output (``meta`` and ``state_dict`` only); never
            ``src`` (nor a link to it).
        overwrite (bool): Whether an existing ``dst`` may be replaced.
        **kwargs: Options of the converter of ``layout``.

    Returns:
        dict: The converted checkpoint.
    """
    if layout not in CONVERTERS:
        raise ValueError(f'layout must be one of {list(CONVERTERS)}, got '
                         f'{layout!r}')
    check_outputs(dict(dst=dst), dict(src=src), overwrite)
    if not osp.isfile(src):
        raise FileNotFoundError(f'checkpoint not found: {src}')
    checkpoint = load_checkpoint_file(src, map_location='cpu')
    if not isinstance(checkpoint, dict):
        raise ValueError(f'{src} holds a {type(checkpoint).__name__}, not a '
                         'checkpoint dict')
    try:
        converted = CONVERTERS[layout](checkpoint, **kwargs)
    except ValueError as err:
        raise ValueError(f'{src}: {err}') from err
    with io.BytesIO() as buffer:
        torch.save(converted, buffer)
        write_atomically(buffer.getvalue(), dst)
    return converted


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Convert a checkpoint')
    parser.add_argument('layout', choices=['official', 'mmaction', 'mmdet'],
                        help='the layout of the input checkpoint')
    parser.add_argument('src', help='input checkpoint')
    parser.add_argument('dst', help='output checkpoint')
    parser.add_argument(
        '--direction', choices=MMACTION_DIRECTIONS, default='to-tsm_mm',
        help='mmaction: ResNetTSM -> TSMResNet (to-tsm_mm, layout read from '
        'the keys) or back (to-mmaction)')
    parser.add_argument(
        '--shift-place', choices=['blockres', 'block'], default='blockres',
        help='mmaction --direction to-mmaction: the shift_place of the '
        'target ResNetTSM')
    parser.add_argument(
        '--temporal-pool', action='store_true',
        help='mmaction --direction to-mmaction: the target ResNetTSM has '
        'temporal_pool')
    parser.add_argument('--num-segments', type=int, default=8,
                        help='mmdet: num_segments written into meta cfg')
    parser.add_argument('--shift-div', type=int, default=8,
                        help='mmdet: shift_div written into meta cfg')
    parser.add_argument(
        '--shift-direction', choices=['causal', 'bidirectional'],
        default='causal', help='mmdet: direction written into meta cfg')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace an existing dst (never src)')
    args = parser.parse_args()
    try:
        check_outputs(dict(dst=args.dst), dict(src=args.src), args.overwrite)
    except (FileExistsError, ValueError) as err:
        parser.error(str(err))
    return args


def main() -> None:
    args = parse_args()
    kwargs = dict(
        official={},
        mmaction=dict(direction=args.direction,
                      shift_place=args.shift_place,
                      temporal_pool=args.temporal_pool),
        mmdet=dict(num_segments=args.num_segments, shift_div=args.shift_div,
                   direction=args.shift_direction))[args.layout]
    converted = convert_checkpoint_file(args.layout, args.src, args.dst,
                                        args.overwrite, **kwargs)
    source = converted['meta']['converted_from']
    print(f'wrote {args.dst}: {len(converted["state_dict"])} tensors, '
          f'from {source}')


if __name__ == '__main__':
    main()
