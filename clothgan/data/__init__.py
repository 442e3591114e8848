"""Stage 1, the data: find or download a dataset, list its labelled photos, decode them into
training arrays (cached), and read labelled image folders.

    registry   the datasets known by name          download  fetch, verify, extract safely
    source     where a dataset is on this machine   inventory labelled records and splits
    images     one file -> one array                prepare   many files -> cached arrays
    report     what `clothgan prepare` prints       folder    DIR/<class>/<file> as arrays
    foreground the garment cut out of its photo     explore   measurements for notebook 01
"""
from .images import SkippedImageWarning, UnusableImage, classic_preprocess, load_image
from .inventory import SPLITS, Inventory, Record, scan
from .arrays import Arrays, load_split, load_splits, make_tf_dataset, prepare, select
from .report import PrepareReport, prepare_report

__all__ = ["SPLITS", "Arrays", "Inventory", "PrepareReport", "Record", "SkippedImageWarning",
           "UnusableImage", "classic_preprocess", "load_image", "load_split", "load_splits",
           "make_tf_dataset", "prepare", "prepare_report", "scan", "select"]
