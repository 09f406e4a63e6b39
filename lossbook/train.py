"""A small deterministic training loop whose history is a pandas DataFrame."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import torch
from torch import nn

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def fit(
    model: nn.Module,
    loss_fn: LossFn,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    epochs: int = 100,
    lr: float = 0.1,
    optimizer: str = "sgd",
    batch_size: int | None = None,
    validation: tuple[torch.Tensor, torch.Tensor] | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Train ``model`` in place on ``(x, y)`` by minimising ``loss_fn(model(x), y)``.

    Each epoch visits the training set once, in mini-batches of ``batch_size`` (a whole
    batch when ``None``) shuffled by a generator seeded with ``seed``, so two calls with the
    same model initialisation give the same history.

    Args:
        model: maps ``x`` to what ``loss_fn`` takes as its input (logits, say).
        loss_fn: ``loss_fn(output, target)``, returning a scalar (a loss module or a
            function with ``reduction="mean"``).
        x, y: training inputs and targets; their first dimensions must match.
        epochs: passes over the training set.
        lr: learning rate.
        optimizer: ``"sgd"`` (plain gradient descent) or ``"adam"``.
        batch_size: examples per step; ``None`` for full-batch gradient descent.
        validation: optional ``(x_val, y_val)``, whose loss is recorded after each epoch.
        seed: seeds the shuffling of mini-batches.

    Returns:
        One row per epoch: ``epoch``, ``loss`` (the mean over the epoch's steps of the
        training loss, each measured before its step updates the model) and, with
        ``validation``, ``val_loss`` (measured after the epoch's last step).

    Raises:
        ValueError: ``x`` and ``y`` of different lengths, a non-positive ``epochs``,
            ``lr`` or ``batch_size``, an unknown ``optimizer``.
    """
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length, got {len(x)} and {len(y)}")
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs!r}")
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr!r}")
    if batch_size is not None and batch_size < 1:
        raise ValueError(f"batch_size must be >= 1 or None, got {batch_size!r}")
    optimizers = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}
    if optimizer not in optimizers:
        raise ValueError(f"optimizer must be one of {sorted(optimizers)}, got {optimizer!r}")
    opt = optimizers[optimizer](model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    size = batch_size or len(x)
    history = []
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(len(x), generator=gen) if batch_size else torch.arange(len(x))
        losses = []
        for start in range(0, len(x), size):
            rows = order[start:start + size]
            opt.zero_grad()
            loss = loss_fn(model(x[rows]), y[rows])
            loss.backward()
            opt.step()
            losses.append(loss.item())
        row = {"epoch": epoch, "loss": sum(losses) / len(losses)}
        if validation is not None:
            row["val_loss"] = evaluate(model, loss_fn, *validation)
        history.append(row)
    return pd.DataFrame(history)


@torch.no_grad()
def evaluate(model: nn.Module, loss_fn: LossFn, x: torch.Tensor, y: torch.Tensor) -> float:
    """``loss_fn(model(x), y)`` in evaluation mode, without gradients, as a float."""
    model.eval()
    return loss_fn(model(x), y).item()


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``model(x)`` in evaluation mode, without gradients."""
    model.eval()
    return model(x)
