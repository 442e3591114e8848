"""The notebook output checker: a promised figure that is missing, and TensorFlow's noise, fail."""
import nbformat

from notebook_outputs import problems


def _nb(outputs, tags=("figure",)):
    cell = nbformat.v4.new_code_cell("plot()", metadata={"tags": list(tags)})
    cell.outputs = outputs
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# t"), cell])


def test_a_promised_figure_must_be_there():
    figure = nbformat.v4.new_output("display_data", data={"image/png": "iVBOR", "text/plain": "<Figure>"})
    text = nbformat.v4.new_output("stream", name="stdout", text="done\n")
    assert problems(_nb([text, figure])) == []
    assert problems(_nb([text])) == ["cell 1 promises a figure (tag 'figure') and shows none"]
    assert problems(_nb([text], tags=())) == []


def test_tensorflow_noise_fails_and_ordinary_text_does_not():
    for line in ["I0000 00:00:1796144822.324248    8201 port.cc:153] oneDNN custom operations are on",
                 "E0000 00:00:17961 cuda_platform.cc:52] failed call to cuInit: INTERNAL",
                 "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
                 "2026-12-01 W tensorflow/core/grappler/optimizers/meta_optimizer.cc remapper failed"]:
        out = nbformat.v4.new_output("stream", name="stderr", text=f"training\n{line}\n")
        assert problems(_nb([out], tags=()))[0].startswith("cell 1 prints TensorFlow noise"), line
    fine = nbformat.v4.new_output("stream", name="stdout",
                                  text="train on a CUDA GPU at 20:15:00; I0000 items\n")
    assert problems(_nb([fine], tags=())) == []
