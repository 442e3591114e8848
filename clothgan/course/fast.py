"""What a fast-mode result is: one framed banner, printed only under CLOTHGAN_FAST=1, so that a
number from a tiny workload is never read as the lesson's result."""
from __future__ import annotations

import textwrap

from ..config import ENV_FAST

WIDTH = 88


def fast_banner(session, text: str) -> str | None:
    """Print `text` framed as a fast-mode caveat (and return it) when the session is fast."""
    if not session.fast:
        return None
    rule = "=" * WIDTH
    body = textwrap.fill(f"FAST MODE ({ENV_FAST}=1): {text}", WIDTH)
    banner = f"{rule}\n{body}\n{rule}"
    print(banner)
    return banner


def evaluation_caveat(result) -> str:
    """Which numbers of a quick evaluation (EvalConfig.quick) can be trusted, and which not."""
    from ..evaluation.judge import ClassifierConfig

    judge = result.judge
    trained = [name for name, value in (("train on synthetic", result.cas_accuracy),
                                        ("real + synthetic", result.augmented_accuracy))
               if value is not None]
    rough = (f"the {' and '.join(trained)} classifier{'s' if len(trained) > 1 else ''} trained "
             "for 3 epochs only: those numbers are rough, not evidence." if trained else "")
    if judge.shipped or judge.epochs >= ClassifierConfig().epochs:
        where = "shipped with clothgan" if judge.shipped else "cached"
        return (f"the judge is the full one ({where}, {judge.test_accuracy:.0%} accurate on the "
                "real test photos), so FID, KID and class consistency rank images as a full run "
                f"does, on fewer images; {rough}").rstrip("; ")
    return (f"the judge trained for {judge.epochs or 'a few'} epochs only ({judge.test_accuracy:.0%} "
            "accurate on the real test photos): every number here is rough and may rank images "
            "wrongly. Run without it for the real ones.")
