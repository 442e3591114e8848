"""The augmentation study: does adding synthetic images to a few real photos make a classifier
better, and by how much? One cell per fraction of the photos, seed and method (clothgan.study.run)."""
from .classifier import StudyClassifierConfig, test_scores, train_study_classifier
from .config import CONTROLS, METHODS, StudyConfig
from .report import format_summary, measured_summary, summarize
from .recipes import BEST, Recipe, augment_fit, split_method, train_by_recipe
from .run import Study
from .sources import class_counts

__all__ = ["BEST", "CONTROLS", "METHODS", "Recipe", "Study", "augment_fit", "split_method",
           "train_by_recipe", "StudyClassifierConfig", "StudyConfig", "class_counts",
           "format_summary", "measured_summary", "summarize", "test_scores", "train_study_classifier"]
