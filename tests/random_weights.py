"""Random weights for equality tests: no BN or branch is the identity."""
from typing import Optional, Tuple

import torch


def randomize_bn(model: torch.nn.Module, seed: int = 1) -> torch.nn.Module:
    """Give every BatchNorm2d of ``model`` random statistics and affine.

    Returns:
        nn.Module: ``model`` in eval mode.
    """
    gen = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=gen))
            m.running_var.copy_(torch.rand(m.num_features, generator=gen)
                                + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=gen)
                                + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=gen)
                              * 0.1)
    return model.eval()


def randomize_weights(model: torch.nn.Module,
                      seed: int = 1) -> torch.nn.Module:
    """Kaiming (fan-in, depthwise too) convs and random BN statistics and
    affine, so that no residual branch and no BN is trivial.

    Returns:
        nn.Module: ``model`` in eval mode (the mm backbones' ``train()``
        returns None, so it is not chained).
    """
    gen = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(m.weight, mode='fan_in',
                                          generator=gen)
        if isinstance(m, torch.nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=gen) + 0.5)
            m.bias.data.copy_(torch.randn(n, generator=gen) * 0.1)
    model.eval()
    return model


def scale_norms(model: torch.nn.Module,
                bias_range: Optional[Tuple[float, float]] = None
                ) -> torch.nn.Module:
    """Draw every BatchNorm2d / GroupNorm scale from U(0.5, 1.5), and its
    bias from U(``bias_range``) when given, with torch's global generator.

    ``zero_init_residual`` zeroes the last norm of each residual branch, so
    at init the branches (and the shift in them) do nothing; this undoes it.

    Returns:
        nn.Module: ``model``, mode unchanged.
    """
    for m in model.modules():
        if isinstance(m, (torch.nn.GroupNorm, torch.nn.BatchNorm2d)):
            torch.nn.init.uniform_(m.weight, 0.5, 1.5)
            if bias_range is not None:
                torch.nn.init.uniform_(m.bias, *bias_range)
    return model


def detecting_weights(model):
    """Random weights whose heads score well above their thresholds, so
    that every frame has detections to compare, and whose residual
    branches (the shift in them) act."""
    torch.manual_seed(0)
    randomize_weights(model)
    scale_norms(model)
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Conv2d) and module.bias is not None \
                and ('cls' in name or 'obj' in name):
            module.bias.data.zero_()
    return model
