"""lossbook.train: fit() lowers the loss deterministically, one history row per epoch;
predict() and evaluate() track no gradients."""

import pytest
import torch
from torch import nn

import lossbook as lb


def _model(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 1), nn.Flatten(0))


def _blobs():
    gen = torch.Generator().manual_seed(0)
    y = (torch.rand(200, generator=gen) < 0.5).float()
    x = torch.randn(200, 2, generator=gen) + 2 * (y[:, None] - 0.5)
    return x, y


def test_fit_lowers_the_loss_and_returns_one_row_per_epoch():
    x, y = _blobs()
    history = lb.train.fit(_model(), nn.BCEWithLogitsLoss(), x, y, epochs=30, lr=0.5,
                           validation=(x[:50], y[:50]))
    assert list(history.columns) == ["epoch", "loss", "val_loss"]
    assert history["epoch"].tolist() == list(range(1, 31))
    assert history["loss"].iloc[-1] < 0.5 * history["loss"].iloc[0]
    assert history["val_loss"].iloc[-1] < history["val_loss"].iloc[0]


@pytest.mark.parametrize("optimizer, batch_size", [("sgd", None), ("adam", 32)])
def test_fit_is_deterministic(optimizer, batch_size):
    x, y = _blobs()
    runs = [lb.train.fit(_model(), nn.BCEWithLogitsLoss(), x, y, epochs=5, lr=0.05,
                         optimizer=optimizer, batch_size=batch_size, seed=1) for _ in range(2)]
    assert runs[0].equals(runs[1])


def test_minibatches_follow_the_seed():
    x, y = _blobs()
    a, b = (lb.train.fit(_model(), nn.BCEWithLogitsLoss(), x, y, epochs=3, batch_size=16,
                         seed=s) for s in (1, 2))
    assert not a["loss"].equals(b["loss"])


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(epochs=0), "epochs must be >= 1"),
    (dict(lr=0.0), "lr must be > 0"),
    (dict(batch_size=0), "batch_size must be >= 1"),
    (dict(optimizer="rmsprop"), "optimizer must be one of"),
])
def test_fit_rejects_bad_arguments(kwargs, fragment):
    x, y = _blobs()
    with pytest.raises(ValueError, match=fragment):
        lb.train.fit(_model(), nn.BCEWithLogitsLoss(), x, y, **kwargs)


def test_fit_rejects_mismatched_lengths():
    x, y = _blobs()
    with pytest.raises(ValueError, match="same length, got 200 and 199"):
        lb.train.fit(_model(), nn.BCEWithLogitsLoss(), x, y[:-1])


def test_predict_and_evaluate_do_not_track_gradients():
    x, y = _blobs()
    model = _model()
    assert not lb.train.predict(model, x).requires_grad
    loss = lb.train.evaluate(model, nn.BCEWithLogitsLoss(), x, y)
    assert isinstance(loss, float) and loss > 0
