"""The main demo, as the README runs it: 100% training accuracy on two moons, and its pictures."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from autograd.names import format_number
from nn import demo


@pytest.mark.slow
def test_demo_reaches_full_training_accuracy_and_writes_its_pictures(tmp_path, capsys):
    assert demo.main(["--out", str(tmp_path), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "training accuracy 100%" in printed
    assert (tmp_path / "moons.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "loss.png").read_bytes()[:4] == b"\x89PNG"
    svg = ET.parse(tmp_path / "neuron.svg").getroot()
    text = " ".join(t.text or "" for t in svg.iter("{http://www.w3.org/2000/svg}text"))
    assert "w.0" in text and "relu" in text


def test_the_demo_writes_the_neurons_walkthrough_page(tmp_path):
    model, X, y, history = demo.train_moons(steps=3, seed=1337, optimizer="sgd", progress=False)
    grads = [p.grad for p in model.parameters()]
    written = demo.write_pictures(model, X, y, history, tmp_path)
    assert tmp_path / "backprop.html" in written
    page = (tmp_path / "backprop.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page
    assert 'class="wt-data"' in page and ">w.0<" in page and ">sum<" in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "").replace(
        'xmlns:xlink="http://www.w3.org/1999/xlink"', ""
    )  # nothing fetched: the only URLs are SVG's namespace names
    assert [p.grad for p in model.parameters()] == grads  # training's gradients untouched
    neuron, out = demo.neuron_on(model, X[0])
    neuron.zero_grad()
    out.backward()
    for name, p in neuron.named_parameters():  # the page's last gradients are the engine's
        assert f"grad {format_number(p.grad)}" in page, name


def test_demo_rejects_bad_arguments():
    with pytest.raises(SystemExit):
        demo.parse_args(["--steps", "0"])
    with pytest.raises(SystemExit):
        demo.parse_args(["--optimizer", "newton"])


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(demo.OPTIMIZERS))
def test_every_demo_optimizer_learns_the_moons(name):
    _, _, _, history = demo.train_moons(steps=60, seed=1337, optimizer=name, progress=False)
    assert history["accuracy"][-1] >= 0.95, history["accuracy"][-5:]
