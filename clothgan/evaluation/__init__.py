"""Judging synthetic images against real held-out ones (notebook 09; training's kept generator
uses the same judge and distances).

    judge      the small CNN trained on real photos: features, consistency, train-on-synthetic
    distances  FID, KID, nearest neighbours and memorisation, Inception-v3 features
    evaluate   `clothgan evaluate`: every number beside its reference
    report     the result as a table, Markdown or JSON
"""
from .evaluate import EvalConfig, evaluate
from .judge import ClassifierConfig, domain_classifier, train_classifier
from .report import Comparison, EvaluationResult

__all__ = ["ClassifierConfig", "Comparison", "EvalConfig", "EvaluationResult", "domain_classifier",
           "evaluate", "train_classifier"]
