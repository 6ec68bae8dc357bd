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
        Widths of the hidden layers, each followed by a layer norm (if
        ``layer_norm``), a ReLU and dropout.
    dropout : float, default=0.1
        Dropout probability after each hidden layer.
    layer_norm : bool, default=True
        Normalise each row's hidden activations (:class:`torch.nn.LayerNorm`).
        A shift or gain shared by all of a row's features (a louder voice, a
        brighter image, another sensor) then moves the hidden layer less
        (``docs/probe_safe_defaults.md`` measures it).

    Examples
    --------
    >>> import torch
    >>> from skcmkd.modules import MLPEncoder
    >>> MLPEncoder(n_features=5, latent_dim=3)(torch.zeros(4, 5)).shape
    torch.Size([4, 3])
    """

    def __init__(self, n_features, latent_dim, hidden_units=(128,), dropout=0.1, layer_norm=True):
        super().__init__()
        if isinstance(hidden_units, int):
            hidden_units = (hidden_units,)
        layers, width = [], n_features
        for units in hidden_units:
            layers.append(nn.Linear(width, units))
            if layer_norm:
                layers.append(nn.LayerNorm(units))
            layers += [nn.ReLU(), nn.Dropout(dropout)]
            width = units
        layers.append(nn.Linear(width, latent_dim))
        self.layers = nn.Sequential(*layers)

    def forward(self, X):
        return self.layers(X)


class EncoderClassifier(nn.Module):
    """An encoder into the latent space followed by a linear head.

    The forward pass returns ``(logits, z)``: skorch takes the first element
    for ``predict_proba``, and the distillation loss needs the embedding
    ``z`` for the alignment terms. Given ``neighbor`` rows too (training with
    the neighbour term), it embeds them in the same pass and returns
    ``(logits, z, z_neighbor)``.

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

    def forward(self, X, neighbor=None):
        if neighbor is None:
            z = self.encoder(X)
            return self.head(z), z
        both = self.encoder(torch.cat([X, neighbor]))
        z, z_neighbor = both[: len(X)], both[len(X) :]
        return self.head(z), z, z_neighbor
