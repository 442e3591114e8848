"""Writing a cut-and-paste dataset: many images in parallel, deterministic, all-or-nothing.

Image i is made from its own generator seeded by (seed, i), so the output is byte-identical for
any number of workers; everything is written into a hidden temporary folder beside the target
and renamed into place at the end, so an interrupted run leaves no partial dataset.

Scene mode writes::

    DIR/images/000000.jpg            DIR/labels/000000.txt   (YOLO: class cx cy w h)
    DIR/masks/000000_00.png          (one visible-instance mask per garment, 0/255)
    DIR/annotations.json             (COCO instances: boxes, RLE or polygons, ten categories)
    DIR/data.yaml  DIR/dataset.json  (what made it: settings, seed, source data)

Classification mode writes the labelled folder of `clothgan generate` (clothgan.labelled)::

    DIR/<class>/<class>_000000.png   DIR/manifest.csv   DIR/metadata.jsonl   DIR/README.md
    DIR/dataset.json   (its `run_config.data` tells `clothgan evaluate` which real data to compare with)
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ..config import VERSION, check_bool, check_choice, check_int, check_seed
from ..errors import ClothganError
from ..core.cache import cache_root
from ..core.files import check_out_dir, output_lock, staged_dir, write_json_atomic
from ..core.parallel import parallel_map
from ..labelled import DATASET_FILE, KINDS, image_file, is_labelled_dataset, manifest_row, write_labelled_files
from .annotations import COCO_FILE, YOLO_YAML, coco_annotation, write_coco, write_data_yaml, yolo_lines
from .backgrounds import Backgrounds
from .compose import BankReport, GarmentBank, compose_scene, compose_single, render_size
from .config import ComposeConfig, ExtractConfig

_STATE: dict = {}   # per process: bank, backgrounds, config, seed, output folder


def item_rng(seed: int, index: int) -> np.random.Generator:
    """The generator of image `index`: independent of every other image and of the worker."""
    return np.random.default_rng([int(seed), int(index)])


def _init(bank: GarmentBank, cfg: ComposeConfig, seed: int, out: str,
          backgrounds: Backgrounds) -> None:
    """What every worker composes from (threads share it; forked processes inherit it)."""
    _STATE.clear()
    _STATE.update(bank=bank, cfg=cfg, seed=seed, out=Path(out), backgrounds=backgrounds)


def _backgrounds(cfg: ComposeConfig, seed: int) -> Backgrounds:
    size = render_size(cfg) if cfg.mode == "classification" else cfg.size
    return Backgrounds(size, cfg.backgrounds, seed, cfg.procedural_pool).prepare()


def _write_image(path: Path, img: np.ndarray, params: list[int]) -> None:
    bgr = img if img.ndim == 2 else img[:, :, ::-1]
    if not cv2.imwrite(str(path), bgr, params):
        raise ClothganError(f"{path}: could not write the image; check the disk and the folder")


def make_item(index: int) -> dict:
    """Compose and write image `index`; return what the dataset-level files need about it."""
    s = _STATE
    cfg, out, rng = s["cfg"], s["out"], item_rng(s["seed"], index)
    if cfg.mode == "classification":
        present = [c for c in range(len(s["bank"].classes)) if s["bank"].of_class(c).size]
        label = present[index % len(present)]   # round robin: balanced classes
        img, label, src = compose_single(rng, s["bank"], s["backgrounds"], cfg, label)
        name = s["bank"].classes[label]
        rel = image_file("cutpaste", name, s["seed"], index)
        _write_image(out / rel, img, [cv2.IMWRITE_PNG_COMPRESSION, 3])
        return {"index": index, "file": rel, "class": name, "source": Path(src).name}
    scene = compose_scene(rng, s["bank"], s["backgrounds"], cfg)
    if cfg.channels == 1:
        scene.image = cv2.cvtColor(scene.image, cv2.COLOR_RGB2GRAY)
    stem = f"{index:06d}"
    fname = f"{stem}.{cfg.image_format}"
    params = ([cv2.IMWRITE_JPEG_QUALITY, 95] if cfg.image_format == "jpg"
              else [cv2.IMWRITE_PNG_COMPRESSION, 3])
    _write_image(out / "images" / fname, scene.image, params)
    h, w = scene.image.shape[:2]
    anns = []
    for k, inst in enumerate(scene.instances):
        mask_file = f"masks/{stem}_{k:02d}.png"
        _write_image(out / mask_file, inst.mask.astype(np.uint8) * 255, [cv2.IMWRITE_PNG_BILEVEL, 1])
        ann = coco_annotation(inst, cfg.segmentation)
        ann.update(image_id=index + 1, mask_file=mask_file, source=Path(inst.source).name)
        anns.append(ann)
    (out / "labels" / f"{stem}.txt").write_text(yolo_lines(scene.instances, w, h))
    return {"index": index, "image": {"id": index + 1, "file_name": fname, "width": w, "height": h},
            "annotations": anns, "dropped": scene.dropped}


@dataclass
class ComposeResult:
    out: Path
    images: int
    instances: int
    per_class: dict[str, int]     # garments (scene) or images (classification) per class
    seconds: float
    bank: BankReport | None = None
    backgrounds_skipped: list = field(default_factory=list)   # [(file, reason)]: unreadable
    dropped: int = 0              # garments drawn for a scene that found no room in it

    @property
    def images_per_second(self) -> float:
        return self.images / self.seconds if self.seconds > 0 else float("inf")

    def summary(self) -> dict:
        d = {"out": str(self.out), "images": self.images, "instances": self.instances,
             "per_class": self.per_class, "seconds": round(self.seconds, 3),
             "images_per_second": round(self.images_per_second, 2), "garments_dropped": self.dropped}
        if self.bank is not None:
            d["sources_kept"] = sum(self.bank.kept.values())
            d["sources_failed"] = len(self.bank.failed)
            d["sources_left_out"] = [list(item) for item in self.bank.failed]
        d["backgrounds_skipped"] = [f for f, _ in self.backgrounds_skipped]
        return d


def compose_dataset(out: str | os.PathLike, count: int, bank: GarmentBank, cfg: ComposeConfig,
                    seed: int = 0, workers: int | None = 1, overwrite: bool = False,
                    progress: bool = True, bank_report: BankReport | None = None,
                    extra_meta: dict | None = None, inputs=()) -> ComposeResult:
    """Write `count` images (scenes or single garments) to `out`, atomically.

    `inputs`: folders this run reads (source photos, backgrounds), which `out` must not touch.
    """
    count, seed = check_int("count", count, 1), check_seed("seed", seed)
    if workers is not None:
        check_int("workers", workers, 1)
    out = check_out_dir(out, overwrite, inputs=(*inputs, cfg.backgrounds, cache_root()),
                        is_output=is_composed_dataset)
    start = time.perf_counter()
    try:
        with staged_dir(out, overwrite, is_composed_dataset) as tmp:
            if cfg.mode == "scene":
                for sub in ("images", "labels", "masks"):
                    (tmp / sub).mkdir()
            else:
                for c in bank.classes:
                    if bank.of_class(bank.classes.index(c)).size:
                        (tmp / c).mkdir()
            backgrounds = _backgrounds(cfg, seed)   # checks a --backgrounds folder before any work
            results = parallel_map(make_item, list(range(count)), workers,
                                   desc=f"composing {cfg.mode}s", progress=progress,
                                   initializer=_init, initargs=(bank, cfg, seed, str(tmp), backgrounds))
            result = _finish(tmp, out.name, results, bank, cfg, seed, extra_meta or {})
    finally:
        _STATE.clear()
    images, instances, per_class = result
    return ComposeResult(out, images, instances, per_class, time.perf_counter() - start, bank_report,
                         backgrounds.skipped, sum(r.get("dropped", 0) for r in results))


def is_composed_dataset(folder: Path) -> bool:
    """Whether `folder` holds a dataset written by compose (what --overwrite may replace)."""
    return is_labelled_dataset(folder, "cutpaste")


def _finish(tmp: Path, name: str, results: list[dict], bank: GarmentBank, cfg: ComposeConfig,
            seed: int, extra_meta: dict) -> tuple[int, int, dict[str, int]]:
    """The dataset-level files: COCO + data.yaml + dataset.json (scenes), or those of the
    labelled folder (classification)."""
    per_class = {c: 0 for c in bank.classes}
    meta = {"tool": f"clothgan {VERSION}", "seed": seed, "count": len(results),
            "config": cfg.to_dict(), "classes": list(bank.classes), "sources": len(bank),
            **extra_meta}
    if cfg.mode == "scene":
        images, anns = [], []
        for r in results:
            images.append(r["image"])
            anns.extend(r["annotations"])
        for a in anns:
            per_class[bank.classes[a["category_id"] - 1]] += 1
        write_coco(tmp / COCO_FILE, images, anns, bank.classes,
                   info={"description": "clothgan cut-and-paste scenes", "version": VERSION})
        write_data_yaml(tmp / YOLO_YAML, bank.classes)
        write_json_atomic(tmp / DATASET_FILE, {"kind": KINDS["cutpaste"], **meta})
        return len(results), len(anns), per_class
    rows = [manifest_row(r["file"], r["class"], bank.classes.index(r["class"]), "cutpaste", seed,
                         r["index"], source=r["source"]) for r in results]
    for r in results:
        per_class[r["class"]] += 1
    write_labelled_files(
        tmp, name, "cutpaste", rows, title="cut-and-paste clothing images",
        made_by="Written by `clothgan compose --mode classification`: garments cut out of real "
                "photos with GrabCut, transformed and pasted over backgrounds.",
        provenance={"source photos": extra_meta.get("dataset"), "split": extra_meta.get("split"),
                    "garments": len(bank), "seed": seed,
                    "backgrounds": cfg.backgrounds or "procedural", "blend": cfg.blend},
        image_size=cfg.size, channels=cfg.channels, meta=meta)
    return len(results), len(results), per_class


def compose(out: str | os.PathLike, count: int, cfg: ComposeConfig = ComposeConfig(),
            dataset: str = "clothing-full", per_class: int | None = 25,
            split: str | None = "train", extract_cfg: ExtractConfig = ExtractConfig(),
            seed: int = 0, workers: int | None = None, overwrite: bool = False,
            progress: bool = True) -> ComposeResult:
    """`clothgan compose`, the whole method: pick source photos, extract their garments (cached),
    compose, write.

    Sources come from one split of the dataset (`train` by default, so the held-out photos that
    evaluation compares against are never pasted).
    """
    from ..config import DataConfig
    from ..data.inventory import scan
    from .backgrounds import PLAIN, list_images

    check_int("count", count, 1), check_seed("seed", seed), check_bool("overwrite", overwrite)
    if per_class is not None:
        check_int("per_class", per_class, 1)
    if split is not None:
        check_choice("split", split, ("train", "val", "test"))
    if workers is not None:
        check_int("workers", workers, 1)
    if cfg.backgrounds not in (None, PLAIN):
        list_images(cfg.backgrounds)   # a wrong folder fails now, not after the extraction
    inv = scan(DataConfig(dataset=dataset))
    out = check_out_dir(out, overwrite, inputs=(inv.root, cfg.backgrounds, cache_root()),
                        is_output=is_composed_dataset)   # before the extraction, too
    with output_lock(out):   # held through the extraction: a second writer is refused at once
        return _compose(out, count, cfg, dataset, inv, per_class, split, extract_cfg, seed,
                        workers, overwrite, progress)


def _compose(out, count, cfg, dataset, inv, per_class, split, extract_cfg, seed, workers,
             overwrite, progress) -> ComposeResult:
    """`compose` once the output folder is checked and locked."""
    from ..config import DataConfig
    from ..data.registry import REGISTRY
    from .compose import build_bank, select_sources

    records = select_sources(inv, per_class, split, seed)
    bank, report = build_bank(records, extract_cfg, cfg.source_size, workers=workers,
                              progress=progress)
    source = dataset if dataset in REGISTRY else str(Path(dataset).expanduser().resolve())
    meta = {"dataset": source, "split": split, "per_class": per_class,
            "extract": extract_cfg.to_dict(), "sources_failed": len(report.failed),
            "image_size": cfg.size, "channels": cfg.channels,
            # Same key as `clothgan generate`: evaluation compares with this real data.
            "run_config": {"data": DataConfig(dataset=source, image_size=cfg.size,
                                              channels=cfg.channels).to_dict()}}
    return compose_dataset(out, count, bank, cfg, seed, workers, overwrite, progress, report, meta,
                           inputs=(inv.root,))
