"""Random BatchNorm statistics and affine, so BN is not the identity."""
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
