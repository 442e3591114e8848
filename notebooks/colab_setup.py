"""Install clothgan into a Colab runtime: the one place the notebooks' install is defined.

Every notebook's first cell downloads this file from SETUP_URL and runs it with the kernel's
own Python on Colab (elsewhere the cell skips it). It installs the package without the
developer extras (the notebooks need no pytest or JupyterLab), and keeps Colab's own
TensorFlow and Keras whenever they satisfy clothgan's requirements, so the runtime usually
needs no restart; when pip did change a package the runtime may already have loaded, it says
so. When the install fails it prints one line saying why.

REPOSITORY and RELEASE say where the course is published. The notebooks' first cells and the
README's "Open in Colab" links are written from them by `python .ci/write_colab_setup.py`, and
tests/contracts/test_colab.py checks that they agree.
"""
import importlib.metadata as metadata
import os
import subprocess
import sys
import tempfile

#: Where the course is published (GitHub owner/name) and the release the notebooks install.
REPOSITORY = "clothgan/clothgan"
RELEASE = "v0.1.0"
SETUP_URL = f"https://raw.githubusercontent.com/{REPOSITORY}/{RELEASE}/notebooks/colab_setup.py"
#: What pip installs; CLOTHGAN_INSTALL_SOURCE overrides it, e.g. to try a branch or a checkout.
SOURCE = os.environ.get("CLOTHGAN_INSTALL_SOURCE",
                        f"clothgan @ git+https://github.com/{REPOSITORY}@{RELEASE}")
WATCHED = ("tensorflow", "keras", "numpy", "ipywidgets", "matplotlib")


def colab_link(notebook: str) -> str:
    """The address that opens NOTEBOOK (a path in the repository) in Colab."""
    return f"https://colab.research.google.com/github/{REPOSITORY}/blob/{RELEASE}/{notebook}"


def install_lines() -> list:
    """The lines that open every notebook's first cell: on Colab, fetch this file and run it
    with the kernel's Python (curl names the reason when the download fails)."""
    return ["import sys",
            'if "google.colab" in sys.modules:  # Colab: install clothgan (README, "Running on Colab")',
            f"    !curl -fsSO {SETUP_URL} && {{sys.executable}} colab_setup.py"]


def versions() -> dict:
    out = {}
    for name in WATCHED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def reason(log: str) -> str:
    """The line of pip's output that says why it failed: git's own complaint when the download
    failed, else pip's last error line."""
    lines = [x.strip() for x in log.splitlines() if x.strip()]
    fatal = [x for x in lines if x.startswith("fatal:")]
    errors = [x for x in lines if x.startswith(("ERROR", "error"))]
    line = (fatal or errors or lines or ["pip printed nothing"])[-1]
    if "could not read Username" in line:     # what GitHub answers for a missing repository
        line += " (no public repository there)"
    return line


def main() -> int:
    before = versions()
    done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", SOURCE],
                          capture_output=True, text=True)
    if done.returncode:
        log = os.path.join(tempfile.gettempdir(), "clothgan-install.log")
        with open(log, "w") as f:
            f.write(done.stdout + done.stderr)
        print(f"clothgan is not installed: `pip install {SOURCE}` failed: "
              f"{reason(done.stdout + done.stderr)} (pip's whole output: {log})")
        return done.returncode
    after = versions()
    changed = [f"{n} {before[n]} -> {after[n]}" for n in WATCHED
               if before[n] is not None and before[n] != after[n]]
    if changed:
        print("clothgan installed; pip changed " + ", ".join(changed) + ". Restart the runtime "
              "(Runtime > Restart session), then run the notebook from the top.")
    else:
        print(f"clothgan installed; the runtime's TensorFlow {after['tensorflow']} and Keras "
              f"{after['keras']} were kept: no restart needed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
