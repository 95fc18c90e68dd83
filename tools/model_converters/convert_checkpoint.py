"""Convert checkpoints to tsm_mm models (and tsm_mm recognizers back).

Layouts:
    official  mit-han-lab/temporal-shift-module TSM ResNets -> a tsm_mm
              Recognizer2D (TSMResNet + TSMHead).
    official-online
              the MobileNetV2 of that repository's online demo
              (online_demo/mobilenet_v2_tsm.py, width 1.0) -> a Recognizer2D
              with TSMMobileNetV2 (direction='causal', shift_div=8): the
              streamed features and caches are the demo's.
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
from mmaction.models.backbones.mobilenet_v2 import \
    MobileNetV2 as ActionMobileNetV2
from mmaction.models.backbones.resnet import ResNet as ActionResNet
from mmdet.models.backbones import ResNet as DetResNet
# isort: on
from tsm_mm.engine import load_checkpoint_file, write_atomically
from tsm_mm.models.backbones.tsm_resnet import strip_wrapper_segments
from tsm_mm.utils.output_paths import (
    check_outputs,
    parse_args_checking_outputs,
)

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


def _demo_to_mm(key: str, stage_of: List[Tuple[int, int]]) -> Optional[str]:
    """A key of the online demo's MobileNetV2 in MMAction2 names.

    ``features.0.{0,1}`` is the stem (``conv1.{conv,bn}``), ``features.i``
    (1..17) the i-th inverted residual, whose ``conv.j`` is ConvModule
    ``j // 3`` (conv, BN, ReLU6 in turn), ``features.18`` the last 1x1
    (``conv2``), ``classifier`` the head; None for any other key.
    """
    m = re.fullmatch(r'classifier\.(weight|bias)', key)
    if m:
        return f'cls_head.fc_cls.{m.group(1)}'
    m = re.fullmatch(r'features\.(\d+)\.(?:conv\.)?(\d+)\.(\w+)', key)
    if m is None:
        return None
    index, j, param = int(m.group(1)), int(m.group(2)), m.group(3)
    kind = {0: 'conv', 1: 'bn'}.get(j % 3)
    if kind is None or (kind == 'conv') != (param == 'weight') and \
            param not in BN_PARAMS:
        return None
    has_conv = '.conv.' in key
    if index in (0, len(stage_of) + 1) and not has_conv and j < 3:
        name = 'conv1' if index == 0 else 'conv2'
        return f'backbone.{name}.{kind}.{param}'
    if 1 <= index <= len(stage_of) and has_conv:
        layer, block = stage_of[index - 1]
        return f'backbone.layer{layer}.{block}.conv.{j // 3}.{kind}.{param}'
    return None


def _mm_to_demo(key: str, stage_of: List[Tuple[int, int]]) -> str:
    """The online demo's name of an MMAction2 ``MobileNetV2`` key (the
    inverse of :func:`_demo_to_mm`), for messages."""
    m = re.fullmatch(r'backbone\.(conv[12])\.(conv|bn)\.(\w+)', key)
    j = {'conv': 0, 'bn': 1}
    if m:
        index = 0 if m.group(1) == 'conv1' else len(stage_of) + 1
        return f'features.{index}.{j[m.group(2)]}.{m.group(3)}'
    m = re.fullmatch(r'backbone\.layer(\d+)\.(\d+)\.conv\.(\d+)\.(conv|bn)'
                     r'\.(\w+)', key)
    if m:
        index = stage_of.index((int(m.group(1)), int(m.group(2)))) + 1
        return (f'features.{index}.conv.'
                f'{3 * int(m.group(3)) + j[m.group(4)]}.{m.group(5)}')
    return key.replace('cls_head.fc_cls.', 'classifier.')


def _swap_slot_channels(state: Dict[str, Tensor], num_layers: int,
                        shift_div: int = 8) -> Dict[str, Tensor]:
    """Swap the channel blocks [0, C/8) and [C/8, 2C/8) of every stage
    whose blocks shift (MMAction2 names).

    The demo's shifted block caches ``x[:, :C/8]`` and reads the past
    there; ``TSMMobileNetV2`` uses ``x[:, C/8:2C/8]``. Permuting those two
    blocks of the stage's whole residual stream (the output channels of
    every block of the stage, the input channels of the shifted convs and
    of the next stage's first conv) gives the same function with the
    demo's slot where ours is; the caches then hold the same values.
    """
    out = dict(state)
    for layer in range(1, num_layers + 1):
        blocks = sorted({int(k.split('.')[2]) for k in state
                         if k.startswith(f'backbone.layer{layer}.')})
        if len(blocks) < 2:  # no block of this stage shifts
            continue
        last = max(int(k.split('.')[4]) for k in state
                   if k.startswith(f'backbone.layer{layer}.0.conv.'))
        channels = state[f'backbone.layer{layer}.0.conv.{last}.conv.weight'
                         ].shape[0]
        fold = channels // shift_div
        perm = torch.arange(channels)
        perm[:fold], perm[fold:2 * fold] = perm[fold:2 * fold].clone(), \
            perm[:fold].clone()
        outputs = [f'backbone.layer{layer}.{b}.conv.{last}' for b in blocks]
        inputs = [f'backbone.layer{layer}.{b}.conv.0.conv.weight'
                  for b in blocks[1:]]
        inputs.append(f'backbone.layer{layer + 1}.0.conv.0.conv.weight'
                      if layer < num_layers else 'backbone.conv2.conv.weight')
        for prefix in outputs:
            for key in [f'{prefix}.conv.weight'] + [
                    f'{prefix}.bn.{p}' for p in BN_PARAMS[:4]]:
                out[key] = out[key].index_select(0, perm)
        for key in inputs:
            out[key] = out[key].index_select(1, perm)
    return out


def convert_official_online(checkpoint: Dict,
                            swap_slots: bool = True) -> Dict:
    """The official online demo's MobileNetV2 -> a tsm_mm recognizer.

    The demo (``online_demo/mobilenet_v2_tsm.py`` of
    mit-han-lab/temporal-shift-module, width 1.0, as its Jester
    checkpoint) keys ``features.*`` and ``classifier.*``; they become
    MMAction2 ``MobileNetV2`` keys under ``backbone.`` and
    ``cls_head.fc_cls.*``. The demo shifts the same 10 blocks as
    ``TSMMobileNetV2`` but keeps the past in the first C/8 channels, ours
    in the second: the two channel blocks of each such stage are swapped
    (:func:`_swap_slot_channels`), so ``TSMMobileNetV2(direction='causal',
    shift_div=8)`` streamed frame by frame gives the demo's features,
    logits and caches. The stage outputs inside the backbone (other
    ``out_indices``) carry those two blocks swapped. The demo feeds RGB
    frames normalised by the ImageNet mean and std.

    Args:
        checkpoint (dict): The demo's state dict (``module.`` prefixes and
            a ``state_dict`` wrapper are accepted).
        swap_slots (bool): Swap the channel blocks (False gives the plain
            renamed weights, which stream differently).

    Returns:
        dict: ``dict(meta=..., state_dict=...)``.
    """
    state_dict = checkpoint.get('state_dict', checkpoint)
    state_dict = {k[len('module.'):] if k.startswith('module.') else k: v
                  for k, v in state_dict.items()}
    with torch.device('meta'):
        reference = ActionMobileNetV2(widen_factor=1.0)
    stage_of = [(i + 1, b) for i, (_, _, n, _) in
                enumerate(reference.arch_settings) for b in range(n)]
    renamed = {key: _demo_to_mm(key, stage_of) for key in state_dict}
    unknown = [k for k, v in renamed.items() if v is None]
    if unknown:
        _refuse('keys of no online-demo MobileNetV2 (expected features.* '
                'and classifier.*, as online_demo/mobilenet_v2_tsm.py)',
                unknown)
    expected = {f'backbone.{k}': v.shape
                for k, v in reference.state_dict().items()}
    got = {v: k for k, v in renamed.items()}
    missing = [k for k in expected if k not in got
               and not k.endswith('num_batches_tracked')]
    missing += [k for k in ('cls_head.fc_cls.weight',
                            'cls_head.fc_cls.bias') if k not in got]
    if missing:
        _refuse('the online-demo MobileNetV2 lacks keys',
                [_mm_to_demo(k, stage_of) for k in missing])
    extra = [got[k] for k in got if k not in expected
             and not k.startswith('cls_head.')]
    if extra:
        _refuse('keys of no width-1.0 online-demo MobileNetV2', extra)
    classifier = state_dict[got['cls_head.fc_cls.weight']]
    shapes = dict(expected, **{
        'cls_head.fc_cls.weight': (classifier.shape[0], 1280),
        'cls_head.fc_cls.bias': (classifier.shape[0], )})
    wrong = [f'{got[k]} {tuple(state_dict[got[k]].shape)} (expected '
             f'{tuple(shapes[k])})' for k in got
             if tuple(state_dict[got[k]].shape) != tuple(shapes[k])]
    if wrong:
        _refuse('shapes of no width-1.0 MobileNetV2 (only the demo at '
                "width 1.0 maps onto MMAction2's: at another width its stem "
                'stays 32 channels, MMAction2 scales it)', wrong)
    out = {renamed[k]: v for k, v in state_dict.items()}
    if swap_slots:
        out = _swap_slot_channels(out, len(reference.arch_settings))
    meta = dict(converted_from=dict(
        layout='official-online', num_classes=int(classifier.shape[0]),
        backbone="TSMMobileNetV2(direction='causal', shift_div=8)",
        swapped_slots=swap_slots))
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


CONVERTERS = {'official': convert_official,
              'official-online': convert_official_online,
              'mmaction': convert_mmaction, 'mmdet': convert_mmdet}


def convert_checkpoint_file(layout: str, src: str, dst: str,
                            overwrite: bool = False, **kwargs) -> Dict:
    """Convert the checkpoint ``src`` and write ``dst`` atomically.

    Args:
        layout (str): A key of :data:`CONVERTERS` (``'official'``,
            ``'official-online'``, ``'mmaction'`` or ``'mmdet'``).
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


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Convert a checkpoint')
    parser.add_argument('layout', choices=list(CONVERTERS),
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
    return parse_args_checking_outputs(parser, argv,
                                       lambda a: dict(dst=a.dst),
                                       lambda a: dict(src=a.src))


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    kwargs = {
        'official': {},
        'official-online': {},
        'mmaction': dict(direction=args.direction,
                         shift_place=args.shift_place,
                         temporal_pool=args.temporal_pool),
        'mmdet': dict(num_segments=args.num_segments,
                      shift_div=args.shift_div,
                      direction=args.shift_direction)}[args.layout]
    converted = convert_checkpoint_file(args.layout, args.src, args.dst,
                                        args.overwrite, **kwargs)
    source = converted['meta']['converted_from']
    print(f'wrote {args.dst}: {len(converted["state_dict"])} tensors, '
          f'from {source}')


if __name__ == '__main__':
    main()
