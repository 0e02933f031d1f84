"""The unsupervised infomorphic layer's trainer: checkpoints that resume to the same state, bad input, the probe."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from pidlearn.backends.torch.train import standardise  # noqa: E402
from pidlearn.backends.torch.unsupervised import (  # noqa: E402
    UnsupervisedTrainer,
    linear_probe,
    random_projection_codes,
)
from pidlearn.idx import load_mnist_small  # noqa: E402


@pytest.fixture(scope="module")
def images():
    d = load_mnist_small()
    x, mean, std = standardise(d["x_train"][:1024])
    xt, _, _ = standardise(d["x_test"][:512], mean, std)
    as_long = lambda a: torch.as_tensor(a, dtype=torch.int64)  # noqa: E731
    return x, as_long(d["y_train"][:1024]), xt, as_long(d["y_test"][:512])


def _make():
    return UnsupervisedTrainer(784, 12, batch_size=256, seed=4, progress=False)


def test_checkpoint_resumes_to_the_same_state(images, tmp_path):
    x = images[0]
    straight = _make()
    straight.fit(x, 2)
    first = _make()
    first.fit(x, 1, checkpoint=tmp_path / "unsup.pt")
    state = torch.load(tmp_path / "unsup.pt", weights_only=True)  # plain tensors and numbers: no pickled code
    assert state["epoch"] == 1
    resumed = _make()
    resumed.load(tmp_path / "unsup.pt")
    assert resumed.epoch == 1 and torch.equal(resumed.generator.get_state(), first.generator.get_state())
    resumed.fit(x, 2)
    for k, v in straight.layer.state_dict().items():
        torch.testing.assert_close(resumed.layer.state_dict()[k], v, rtol=0, atol=0)
    assert [h["atoms"] for h in resumed.history] == [h["atoms"] for h in straight.history]


def test_a_checkpoint_of_another_size_is_refused(images, tmp_path):
    _make().save(tmp_path / "small.pt")
    other = UnsupervisedTrainer(784, 13, batch_size=256, progress=False)
    with pytest.raises(ValueError, match="does not match this UnsupervisedTrainer"):
        other.load(tmp_path / "small.pt")


def test_bad_input_is_refused(images):
    x = images[0]
    with pytest.raises(ValueError, match="expects"):
        _make().fit(x[:, :100], 1)
    with pytest.raises(ValueError, match="fewer than one batch"):
        _make().fit(x[:100], 1)
    with pytest.raises(ValueError, match="batch_size"):
        UnsupervisedTrainer(784, 12, batch_size=1)


def test_codes_are_binary_and_probe_beats_chance(images):
    x, y, xt, yt = images
    trainer = _make()
    trainer.fit(x, 2)
    codes = trainer.codes(x)
    assert codes.shape == (len(x), 12) and set(codes.unique().tolist()) <= {-1.0, 1.0}
    acc = linear_probe(codes, y, trainer.codes(xt), yt, epochs=100)
    base = linear_probe(random_projection_codes(x, 12), y, random_projection_codes(xt, 12), yt, epochs=100)
    assert acc > 0.3 and base > 0.3  # chance is 0.1 with ten balanced digits
