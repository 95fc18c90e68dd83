"""Random weights for equality tests: no BN or branch is the identity."""
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
