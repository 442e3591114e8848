"""Checking a network written in a notebook against the library's: the library is the code the
learner just wrote, kept."""
from __future__ import annotations


def keras_type(layer) -> str:
    """The Keras layer class a layer is (a clothgan subclass, such as the fast output
    convolution, counts as the Keras class it specialises)."""
    for cls in type(layer).__mro__:
        if cls.__module__.startswith("keras"):
            return cls.__name__
    return type(layer).__name__


def signature(model) -> list[tuple[str, tuple, int]]:
    """(Keras type, output shape, parameters) of every layer but the inputs, sorted: two networks
    with the same signature are the same design, whatever the layers are named."""
    rows = []
    for layer in model.layers:
        if keras_type(layer) == "InputLayer":
            continue
        shape = layer.output.shape if hasattr(layer, "output") else ()
        rows.append((keras_type(layer), tuple(shape), int(layer.count_params())))
    return sorted(rows, key=lambda r: (r[0], str(r[1]), r[2]))


def same_network(mine, theirs, names=("yours", "clothgan's")) -> bool:
    """Print both networks' layers side by side and whether they are the same design (same layer
    types, output shapes and parameter counts); returns that verdict."""
    a, b = signature(mine), signature(theirs)
    width = max(len(f"{t} {s}") for t, s, _ in a + b) + 2
    print(f"{names[0]:<{width + 12}}{names[1]}")
    for i in range(max(len(a), len(b))):
        left = f"{a[i][0]} {a[i][1]}".ljust(width) + f"{a[i][2]:>10,}" if i < len(a) else ""
        right = f"{b[i][0]} {b[i][1]}".ljust(width) + f"{b[i][2]:>10,}" if i < len(b) else ""
        print(f"{left:<{width + 12}}{right}{'' if i < min(len(a), len(b)) and a[i] == b[i] else '   <- differs'}")
    same = a == b and mine.count_params() == theirs.count_params()
    print(f"\n{mine.count_params():,} and {theirs.count_params():,} parameters: "
          + ("the same network." if same else "not the same network."))
    return same
