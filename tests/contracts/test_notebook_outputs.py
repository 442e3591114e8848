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


def test_a_kernel_started_by_the_check_shows_what_its_process_writes_to_stderr():
    """C++ logging goes to file descriptor 2; ipykernel sends it to the cell unless it runs
    under pytest, so the check starts its kernels as a learner's JupyterLab does."""
    from nbclient import NotebookClient

    from notebook_outputs import learner_environment

    line = "E0000 00:00:1796 cuda_platform.cc:52] failed call to cuInit: INTERNAL"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        f"import os, time\nos.write(2, b'{line}\\n')\ntime.sleep(0.5)")])
    with learner_environment():
        NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    assert problems(nb) and "cuInit" in problems(nb)[0]


def test_no_tensorflow_noise_when_a_library_function_imports_it_after_setup(tmp_path):
    """A notebook that starts without TensorFlow (setup(tensorflow=False)) and later calls a
    library function that imports it, in a process without TF_CPP_MIN_LOG_LEVEL."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from notebook_outputs import NOISE

    code = ("from clothgan.course.notebook import setup\n"
            "setup(seed=0, tensorflow=False)\n"
            "import numpy as np\n"
            "from clothgan.data import make_tf_dataset\n"
            "ds = make_tf_dataset(np.zeros((4, 28, 28, 1), np.float32), np.zeros(4, np.int64), batch_size=2)\n"
            "print(tuple(next(iter(ds))[0].shape))\n")
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    env["CLOTHGAN_HOME"] = str(tmp_path)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert "(2, 28, 28, 1)" in done.stdout
    assert not NOISE.search(done.stderr), done.stderr[:500]
