"""Install clothgan into a Colab runtime: the one place the notebooks' install is defined.

Every notebook's first cell downloads and runs this file on Colab (elsewhere it does nothing).
It installs the package without the developer extras (the notebooks need no pytest or
JupyterLab), and keeps Colab's own TensorFlow and Keras whenever they satisfy clothgan's
requirements, so the runtime usually needs no restart; when pip did change a package the
runtime may already have loaded, it says so.
"""
import importlib.metadata as metadata
import os
import subprocess
import sys

#: What the notebooks install (a release tag of the repository); CLOTHGAN_INSTALL_SOURCE
#: overrides it, e.g. to try a branch or a local checkout.
SOURCE = os.environ.get("CLOTHGAN_INSTALL_SOURCE",
                        "clothgan @ git+https://github.com/clothgan/clothgan@v0.1.0")
WATCHED = ("tensorflow", "keras", "numpy", "ipywidgets", "matplotlib")


def versions() -> dict:
    out = {}
    for name in WATCHED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def main() -> int:
    before = versions()
    done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", SOURCE])
    if done.returncode:
        print(f"clothgan: `pip install {SOURCE}` failed (see above)")
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
