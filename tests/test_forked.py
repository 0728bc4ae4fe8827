"""The forked engine (``rerun``'s default) writes what a Jupyter kernel writes: a notebook that
exercises every kind of output the chapters make (SymPy's LaTeX, ``display`` of Markdown, a
glued result with its metadata, a Matplotlib figure, print and stderr, a trailing semicolon,
a magic, the injected parameters) is executed both ways and compared output by output, PNG
bytes included. (The book's seven chapters, compared the same way for the B200 when this
engine was written, matched in every output.)"""
from __future__ import annotations

import json

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from helpers import execute, forked

CELLS = [
    'accelerator = "h100"\noverrides = {}',
    "import sympy as sp\nfrom helpers.chapter import Chapter\nch = Chapter(accelerator, "
    "overrides)\nx = sp.Symbol('x')",
    "sp.Integral(sp.exp(-x**2), (x, -sp.oo, sp.oo))",
    "ch.publish('forked_f_over_w', ch.acc.bf16_dense_flops / ch.acc.hbm_bandwidth, "
    "'FLOP/byte', 'F/W', part=ch.acc.key)\nch.table(['a', 'b'], [[ch.acc.name, '1']])",
    "import sys\nprint('out', 1)\nprint('err', file=sys.stderr)\nprint('out again')",
    "import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.plot([1, 2, 3], [3, 1, 2],"
    " label='$x^2$')\nax.legend()\nplt.show()",
    "1 + 1;",
    "%precision 3\n3.14159265",
    "from IPython.display import Markdown, display\ndisplay(Markdown('**bold**'))\n"
    "sp.Matrix([[1, x], [x, 1]])",
]


def _notebook(path):
    cells = [new_markdown_cell("# forked")] + [new_code_cell(c) for c in CELLS]
    cells[1].metadata["tags"] = ["parameters"]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)


def test_forked_outputs_equal_a_kernels(tmp_path):
    src = tmp_path / "src" / "nb.ipynb"
    src.parent.mkdir()
    _notebook(src)
    params = {"accelerator": "b200"}
    execute.execute_one(src, tmp_path / "kernel.ipynb", params)
    assert forked.run_many([(src, tmp_path / "forked.ipynb")], params, 1) == 0
    kernel = nbformat.read(tmp_path / "kernel.ipynb", as_version=4)
    mine = nbformat.read(tmp_path / "forked.ipynb", as_version=4)
    assert [c.source for c in mine.cells] == [c.source for c in kernel.cells]
    for a, b in zip(mine.cells, kernel.cells):
        assert a.metadata == b.metadata
        if a.cell_type == "code":
            assert a.execution_count == b.execution_count, a.source
            assert json.dumps(a.outputs, sort_keys=True) == json.dumps(b.outputs, sort_keys=True),\
                a.source
    kinds = {o["output_type"] for c in mine.cells if c.cell_type == "code" for o in c.outputs}
    assert kinds == {"execute_result", "display_data", "stream"}
    pngs = [o for c in mine.cells if c.cell_type == "code" for o in c.outputs
            if "image/png" in o.get("data", {})]
    assert len(pngs) == 1


def test_a_failing_cell_is_one_line_and_writes_nothing(tmp_path):
    src = tmp_path / "bad.ipynb"
    nb = new_notebook(cells=[new_code_cell("x = 1"), new_code_cell("raise ValueError('no')")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, src)
    errors = []
    assert forked.run_many([(src, tmp_path / "out.ipynb")], {}, 1,
                           on_end=lambda s, sec, err, i, n: errors.append(err)) == 1
    assert errors == ["cell 2: ValueError: no"]
    assert not (tmp_path / "out.ipynb").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["bad.ipynb"]
