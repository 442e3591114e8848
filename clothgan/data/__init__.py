"""Stage 1, the data: find or download a dataset, list its labelled photos, decode them into
training arrays (cached), and read labelled image folders.

    registry   the datasets known by name          download  fetch, verify, extract safely
    source     where a dataset is on this machine   inventory labelled records and splits
    images     one file -> one array                arrays    many files -> cached arrays
    report     prepare(): `clothgan prepare`        folder    DIR/<class>/<file> as arrays
    foreground the garment cut out of its photo     explore   measurements for notebook 01
    photos     which photos a run trains on (train_images.json)
"""
from .images import SkippedImageWarning, UnusableImage, classic_preprocess, load_image
from .inventory import SPLITS, Inventory, Record, scan
from .arrays import Arrays, build_arrays, load_split, load_splits, make_tf_dataset, select
from .report import PrepareReport, prepare

__all__ = ["SPLITS", "Arrays", "Inventory", "PrepareReport", "Record", "SkippedImageWarning",
           "UnusableImage", "build_arrays", "classic_preprocess", "load_image", "load_split",
           "load_splits", "make_tf_dataset", "prepare", "scan", "select"]
