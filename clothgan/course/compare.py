"""Checking code written in a notebook against the library's: the library is the code the
learner just wrote, kept. For a network: the same layers, and, with the learner's weights copied
across, the same outputs for the same inputs. For a training class: the same weights after the
same steps from the same start."""
from __future__ import annotations

import numpy as np


def keras_type(layer) -> str:
    """The Keras layer class a layer is (a clothgan subclass, such as the fast output
    convolution, counts as the Keras class it specialises)."""
    for cls in type(layer).__mro__:
        if cls.__module__.startswith("keras"):
            return cls.__name__
    return type(layer).__name__


def layer_key(layer) -> tuple[str, tuple, int]:
    """(Keras type, output shape, parameters): what makes two layers interchangeable."""
    shape = layer.output.shape if hasattr(layer, "output") else ()
    return keras_type(layer), tuple(shape), int(layer.count_params())


def pair_layers(mine, theirs) -> list[tuple[object, object | None]]:
    """Each of `mine`'s layers (graph order, inputs left out) with its match in `theirs`:
    the first not yet taken with the same layer_key, or None."""
    pool: dict[tuple, list] = {}
    for layer in theirs.layers:
        if keras_type(layer) != "InputLayer":
            pool.setdefault(layer_key(layer), []).append(layer)
    pairs = []
    for layer in mine.layers:
        if keras_type(layer) != "InputLayer":
            match = pool.get(layer_key(layer), [])
            pairs.append((layer, match.pop(0) if match else None))
    return pairs


def _sample_inputs(model, n: int = 4, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for tensor in model.inputs:
        shape = (n, *tensor.shape[1:])
        if "int" in str(tensor.dtype):
            out.append(rng.integers(0, 10, shape).astype("int32"))
        else:
            out.append(rng.standard_normal(shape).astype("float32").clip(-1, 1))
    return out


def same_outputs(mine, theirs, atol: float = 1e-4) -> tuple[bool, float]:
    """Copy mine's weights into theirs (paired by `pair_layers`) and run both on the same
    random inputs: (outputs equal within atol, largest difference)."""
    for a, b in pair_layers(mine, theirs):
        if b is None:
            return False, float("inf")
        if a.weights:
            b.set_weights(a.get_weights())
    inputs = _sample_inputs(mine)
    inputs = inputs if len(inputs) > 1 else inputs[0]
    diff = float(np.max(np.abs(np.asarray(mine(inputs, training=False), np.float32)
                               - np.asarray(theirs(inputs, training=False), np.float32))))
    return diff <= atol, diff


def same_network(mine, theirs, names=("yours", "clothgan's")) -> bool:
    """Print your layers in the order data flows through them beside clothgan's matching ones,
    then copy your weights into clothgan's network and compare the two on the same inputs;
    returns whether both checks pass."""
    pairs = pair_layers(mine, theirs)
    width = max(len(f"{keras_type(a)} {tuple(a.output.shape)}") for a, _ in pairs) + 2
    print(f"{names[0]:<{width + 12}}{names[1]}")
    for a, b in pairs:
        t, s, p = layer_key(a)
        left = f"{t} {s}".ljust(width) + f"{p:>10,}"
        right = f"{b.name}" if b is not None else "nothing like it   <- differs"
        print(f"{left:<{width + 12}}{right}")
    layers_match = all(b is not None for _, b in pairs) and len(pairs) == sum(
        keras_type(x) != "InputLayer" for x in theirs.layers)
    print(f"\n{mine.count_params():,} and {theirs.count_params():,} parameters: "
          + ("the same layers." if layers_match else "not the same layers."))
    if not layers_match:
        return False
    ok, diff = same_outputs(mine, theirs)
    print(f"with your weights in clothgan's network, the outputs differ by at most {diff:.1e}: "
          + ("the same network." if ok else "not the same wiring."))
    return ok


def same_training(mine, theirs, names=("yours", "clothgan's"), atol: float = 1e-6) -> bool:
    """After both models trained from the same start on the same batches: compare every weight
    of their generators and discriminators, print the largest difference, and return whether
    they agree within atol (the two classes did the same arithmetic)."""
    a = mine.generator.get_weights() + mine.discriminator.get_weights()
    b = theirs.generator.get_weights() + theirs.discriminator.get_weights()
    if [w.shape for w in a] != [w.shape for w in b]:
        print(f"{names[0]} and {names[1]} networks differ in shape: not the same models.")
        return False
    diff = max(float(np.max(np.abs(x - y))) for x, y in zip(a, b))
    same = diff <= atol
    print(f"{sum(w.size for w in a):,} weights each; the largest difference between {names[0]} and "
          f"{names[1]} is {diff:.1e}: " + ("the same training." if same else "they trained differently."))
    return same
