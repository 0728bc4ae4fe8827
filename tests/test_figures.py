"""The figure rules (helpers/figures.py): legible at phone width, never colour alone."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from helpers import figures  # noqa: E402


@pytest.fixture(autouse=True)
def book_style():
    with plt.rc_context():
        figures.apply()
        yield
    plt.close("all")


def test_red_and_green_in_one_style_are_refused():
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1], color="#d62728", ls="-", label="red")
    ax.plot([0, 1], [1, 0], color="#2ca02c", ls="-", label="green")
    assert not figures.distinguishable((0.84, 0.15, 0.16), (0.17, 0.63, 0.17))
    assert any("differ only by colour" in p for p in figures.problems(fig))


def test_the_same_colours_pass_with_distinct_line_styles_or_markers():
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1], color="#d62728", ls="-", label="red")
    ax.plot([0, 1], [1, 0], color="#2ca02c", ls="--", label="green")
    ax.scatter([0.5], [0.5], color="#d62728", marker="o", label="a")
    ax.scatter([0.6], [0.6], color="#2ca02c", marker="s", label="b")
    assert figures.problems(fig) == []


def test_the_book_series_are_distinct_even_without_style():
    for i in range(len(figures.PALETTE) - 1):
        for j in range(i + 1, len(figures.PALETTE) - 1):
            a, b = figures.series(i), figures.series(j)
            assert a["marker"] != b["marker"] and a["linestyle"] != b["linestyle"]


def test_text_too_small_on_a_phone_is_refused():
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.plot([0, 1], [0, 1])
    ax.set_title("tiny", fontsize=7)
    with pytest.raises(ValueError, match="px on a phone"):
        figures.check(fig)


def test_direct_labels_do_not_overlap():
    fig, ax = plt.subplots()
    lines = [ax.plot([0, 1], [0, 1 + 0.001 * i], **figures.series(i))[0] for i in range(4)]
    texts = figures.label_ends(ax, [(ln, f"part {i}") for i, ln in enumerate(lines)])
    fig.canvas.draw()
    boxes = [t.get_window_extent() for t in texts]
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            assert not boxes[i].overlaps(boxes[j])
    assert figures.problems(fig) == []
