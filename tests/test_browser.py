"""The walkthrough page in a real browser: headless Chromium (Debian's), driven by Selenium.

Nothing is downloaded: Selenium drives the system's ``/usr/bin/chromedriver``
and ``/usr/bin/chromium`` (Debian packages ``chromium`` and
``chromium-driver``; ``make test`` installs them). On a machine without them
the test is skipped, except in CI (``CI`` set), where it fails.

The screenshots of the last step are kept as test artifacts:
``out/test-artifacts/backprop-expression.png`` and ``backprop-model.png``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from autograd import Value, topological_order, walkthrough
from autograd.names import format_number
from nn import MLP

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).resolve().parents[1] / "out" / "test-artifacts"
FLAGS = (
    "--headless",
    "--no-sandbox",  # we run as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1400",
)

pytestmark = pytest.mark.browser


def missing_browser() -> str | None:
    """Why the browser test cannot run here, or None."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            return f"{path} is missing (apt-get install chromium chromium-driver, or `make test`)"
    return None


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    reason = missing_browser()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"the browser test must run in CI: {reason}")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    with pytest.MonkeyPatch.context() as patch:
        # Both paths given: Selenium Manager has nothing to find, and offline it could not download.
        patch.setenv("SE_OFFLINE", "true")
        driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
        try:
            yield driver
        finally:
            driver.quit()


def graph() -> tuple[Value, dict[str, Value]]:
    """L = sigmoid(h·h + x), h = x·w + b: h is used twice by one operation, x by two."""
    x, w, b = Value(0.5, label="x"), Value(-2.0, label="w"), Value(1.5, label="b")
    h = x * w + b
    h.label = "h"
    L = (h * h + x).sigmoid()
    L.label = "L"
    return L, {"x": x, "w": w, "b": b, "h": h}


def model_graph() -> tuple[Value, dict]:
    """A 2-2-1 MLP's squared error, drawn top to bottom with its modules: x0 feeds both hidden neurons."""
    model = MLP(2, [2, 1], activation="tanh", seed=0)
    x0 = Value(0.5, label="x0")
    loss = (model([x0, Value(-1.0, label="x1")]) - 1.0) ** 2
    loss.label = "loss"
    return loss, {"model": model, "rankdir": "TB", "twice": x0}


def cells(driver, column: str) -> dict[str, str]:
    """Node name -> the text of its row's cell in ``column`` (value, grad, contributions)."""
    return driver.execute_script(
        """
        const out = {};
        for (const row of document.querySelectorAll("tr[data-node]")) {
          const name = row.querySelector(".wt-name").textContent;
          out[name] = row.querySelector(".wt-" + arguments[0]).textContent;
        }
        return out;
        """,
        column,
    )


def box_texts(driver) -> dict[str, list[str]]:
    """Graphviz name (n0, n1...) -> the texts drawn in that node's box of the picture."""
    return driver.execute_script(
        """
        const out = {};
        for (const g of document.querySelectorAll(".wt-picture g.node")) {
          out[g.querySelector("title").textContent] = [...g.querySelectorAll("text")].map(t => t.textContent);
        }
        return out;
        """
    )


def counter(driver) -> str:
    return driver.find_element("css selector", ".wt-counter").text


@pytest.mark.parametrize("example", ["expression", "model"])
def test_the_page_steps_forward_and_back_and_ends_with_the_engines_gradients(browser, tmp_path, example):
    from selenium.webdriver.common.keys import Keys

    if example == "expression":
        L, nodes = graph()
        page = walkthrough(L)
        twice = nodes["h"]  # h * h
    else:
        L, kwargs = model_graph()
        twice = kwargs.pop("twice")  # x0, into both hidden neurons
        page = walkthrough(L, **kwargs)
    path = page.save(tmp_path / "backprop.html")
    browser.get(path.as_uri())
    widget = browser.find_element("css selector", ".wt")
    last = len(page.steps) - 1
    order = topological_order(L)
    names = page.names

    # the page opens at step 0: nothing known yet
    assert counter(browser) == f"step 0 of {last}"
    assert set(cells(browser, "value").values()) == {""}
    assert set(cells(browser, "grad").values()) == {""}

    # arrow keys: one step forward computes the first node, one back forgets it
    widget.send_keys(Keys.ARROW_RIGHT)
    assert counter(browser) == f"step 1 of {last}"
    assert cells(browser, "value")[names[order[0]]] == format_number(order[0].data, 6)
    widget.send_keys(Keys.ARROW_LEFT)
    assert counter(browser) == f"step 0 of {last}"
    assert set(cells(browser, "value").values()) == {""}

    # End: every gradient, as displayed, is the engine's own
    widget.send_keys(Keys.END)
    assert counter(browser) == f"step {last} of {last}"
    L.backward()
    grads = cells(browser, "grad")
    assert grads == {names[v]: format_number(v.grad, 6) for v in order}
    boxes = box_texts(browser)
    for i, v in enumerate(order):
        assert boxes[f"n{i}"][-2:] == [f"data {format_number(v.data)}", f"grad {format_number(v.grad)}"]

    # a node used twice shows two contributions adding up to its gradient
    parts = cells(browser, "contributions")[names[twice]].split(" + ")
    expected = [s.contribution for s in page.explanation.steps_for(twice)]
    assert [part.strip("()") for part in parts] == [format_number(c, 6) for c in expected]
    assert len(parts) == 2 and expected[0] + expected[1] == twice.grad
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screenshot = ARTIFACTS / f"backprop-{example}.png"
    browser.save_screenshot(str(screenshot))
    assert screenshot.read_bytes()[:4] == b"\x89PNG"

    # stepping back undoes exactly: step k reached backwards shows what it showed forwards
    k = last - 3
    widget.send_keys(*[Keys.ARROW_LEFT] * 3)
    assert counter(browser) == f"step {k} of {last}"
    backwards = [cells(browser, c) for c in ("value", "grad", "contributions")], box_texts(browser)
    widget.send_keys(Keys.HOME)
    assert counter(browser) == f"step 0 of {last}"
    assert set(cells(browser, "grad").values()) == {""}  # Home clears every gradient
    assert all(texts[-2:] == ["data", "grad"] for name, texts in box_texts(browser).items() if name[0] == "n")
    browser.execute_script(f"const s = document.querySelector('.wt-slider'); s.value = {k};"
                           "s.dispatchEvent(new Event('input'));")
    assert counter(browser) == f"step {k} of {last}"
    assert ([cells(browser, c) for c in ("value", "grad", "contributions")], box_texts(browser)) == backwards

    # the buttons: next, then last
    browser.find_element("css selector", '[data-go="next"]').click()
    assert counter(browser) == f"step {k + 1} of {last}"
    browser.find_element("css selector", '[data-go="first"]').click()
    assert counter(browser) == f"step 0 of {last}"

    # no JavaScript error, and the console check itself works
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []
    browser.execute_script("console.error('probe')")
    assert any("probe" in entry["message"] for entry in browser.get_log("browser"))


def test_two_pages_on_one_page_step_independently(browser, tmp_path):
    """A notebook shows several walkthroughs on one page: each has its own ids and its own state."""
    from selenium.webdriver.common.keys import Keys

    first, _ = graph()
    second = Value(2.0, label="a") * Value(3.0, label="c")
    fragments = [walkthrough(first)._repr_html_(), walkthrough(second)._repr_html_()]
    path = tmp_path / "two.html"
    path.write_text("<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>"
                    + "".join(fragments) + "</body></html>", encoding="utf-8")
    browser.get(path.as_uri())
    widgets = browser.find_elements("css selector", ".wt")
    assert len(widgets) == 2
    ids = browser.execute_script("return [...document.querySelectorAll('[id]')].map(e => e.id)")
    assert len(ids) == len(set(ids))
    widgets[1].send_keys(Keys.END)
    counters = [w.find_element("css selector", ".wt-counter").text for w in widgets]
    assert counters[0].startswith("step 0 of") and counters[1] == "step 6 of 6"
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
