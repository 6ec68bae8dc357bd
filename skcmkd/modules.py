"""Small torch modules: the default encoders and the encoder-plus-head net.

An encoder is any :class:`torch.nn.Module` whose constructor takes the
keyword arguments ``n_features`` and ``latent_dim`` (plus its own, passed as
``module__<name>`` to :class:`~skcmkd.CrossModalDistiller`) and whose forward
maps a float tensor of shape ``(batch, n_features)`` to ``(batch, latent_dim)``.
"""

import torch
from torch import nn

__all__ = ["MLPEncoder", "EncoderClassifier"]


class MLPEncoder(nn.Module):
    """Multi-layer perceptron into a ``latent_dim``-dimensional space.

    Parameters
    ----------
    n_features : int
        Width of the input.
    latent_dim : int
        Width of the output, the shared latent space.
    hidden_units : int or tuple of int, default=(128,)
        Widths of the hidden layers, each followed by a ReLU and dropout.
    dropout : float, default=0.1
        Dropout probability after each hidden layer.

    Examples
    --------
    >>> import torch
    >>> from skcmkd.modules import MLPEncoder
    >>> MLPEncoder(n_features=5, latent_dim=3)(torch.zeros(4, 5)).shape
    torch.Size([4, 3])
    """

    def __init__(self, n_features, latent_dim, hidden_units=(128,), dropout=0.1):
        super().__init__()
        if isinstance(hidden_units, int):
            hidden_units = (hidden_units,)
        layers, width = [], n_features
        for units in hidden_units:
            layers += [nn.Linear(width, units), nn.ReLU(), nn.Dropout(dropout)]
            width = units
        layers.append(nn.Linear(width, latent_dim))
        self.layers = nn.Sequential(*layers)

    def forward(self, X):
        return self.layers(X)


class EncoderClassifier(nn.Module):
    """An encoder into the latent space followed by a linear head.

    The forward pass returns ``(logits, z)``: skorch takes the first element
    for ``predict_proba``, and the distillation loss needs the embedding
    ``z`` for the alignment terms.

    Parameters
    ----------
    encoder : torch.nn.Module
        Maps inputs to ``(batch, latent_dim)``.
    latent_dim : int
        Width of the latent space.
    n_classes : int
        Number of classes of the head.
    head_init : tuple of (Tensor, Tensor), default=None
        Weight ``(n_classes, latent_dim)`` and bias ``(n_classes,)`` to start
        the head from (the teacher's head); random when ``None``.
    """

    def __init__(self, encoder, latent_dim, n_classes, head_init=None):
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(latent_dim, n_classes)
        if head_init is not None:
            weight, bias = head_init
            with torch.no_grad():
                self.head.weight.copy_(weight)
                self.head.bias.copy_(bias)

    def forward(self, X):
        z = self.encoder(X)
        return self.head(z), z
