"""The download_models stage's work: fetch the released models of :mod:`sg2im.released`, check that each is a
working sg2im checkpoint, convert it once to the weights-only format (:mod:`sg2im.convert`) and record what was
done. Each model is fetched, checked and converted on its own: one that fails is named with its error and the
others go on; the stage then exits non-zero. Nothing is downloaded when no model is asked (the default)."""
from __future__ import annotations

from pathlib import Path

from sg2im.atomic import atomic_write_json
from sg2im.config.download_models import DownloadModelsConfig
from sg2im.errors import DataError, ParamsError
from sg2im.progress import say
from sg2im.released import Released, select


def converted_entry(path: Path, name: str) -> dict | None:
    """The record of an already converted model file (its ``converted_from``), None when it is not one."""
    from sg2im.checkpoint import read_checkpoint

    if not path.is_file():
        return None
    try:
        origin = read_checkpoint(path).get("converted_from") or {}
    except DataError:
        return None
    return {"file": str(path), **origin} if origin.get("model") == name else None


def fetch_one(model: Released, cfg: DownloadModelsConfig, dest: Path) -> dict:
    """Download, check, convert one model; the original pickle is kept only with ``keep_original``."""
    from sg2im.convert import convert_file
    from sg2im.data.fetch.http import download_file

    url = model.url(cfg.base_url, cfg.full)
    original = Path(cfg.out_dir) / "original" / ("full" if cfg.full else "small") / model.file
    download_file(url, original, expected_size=model.size, retries=cfg.transfer.retries,
                  min_free_gb=cfg.transfer.min_free_gb)
    try:
        # trusted: it came from the table's URL (the official bucket, or a mirror the user vouched for)
        summary = convert_file(original, dest, trust=True,
                               origin={"model": model.name, "url": url, "row": model.row, "full": cfg.full})
    except DataError as exc:
        original.unlink(missing_ok=True)  # not a checkpoint: a rerun fetches it afresh
        raise DataError(f"{url} is not a working sg2im checkpoint ({exc}); the download was deleted.") from None
    if not cfg.keep_original:
        original.unlink()
    say(f"{model.name}: {url} -> {dest} ({summary['objects']} objects, {summary['predicates']} predicates, "
        f"{summary['image_size'][0]}x{summary['image_size'][1]})")
    return {"file": str(dest), "model": model.name, "url": url, "sha256": summary["sha256"],
            "row": model.row, "full": cfg.full}


def fetch_released(cfg: DownloadModelsConfig) -> dict:
    """Fetch and convert every model ``cfg`` asks for; write the record; raise naming each model that failed."""
    models = select(cfg.models, cfg.ablated)
    if models and not cfg.official and not cfg.trust_mirror:
        raise ParamsError(f"download_models.base_url {cfg.base_url} is not the original bucket; its files are pickles "
                          "(loading one runs code from it). Give --trust_mirror 1 if you trust this mirror.")
    entries, errors = [], []
    for model in models:
        dest = Path(cfg.out_dir) / ("full" if cfg.full else "") / model.file
        done = converted_entry(dest, model.name)
        if done is not None:
            say(f"{model.name}: {dest} is converted already")
            entries.append(done)
            continue
        try:
            entries.append(fetch_one(model, cfg, dest))
        except DataError as exc:
            errors.append(f"{model.name}: {exc}")
    record = {"models": entries, "failed": errors}
    atomic_write_json(cfg.record, record, indent=2)
    if not models:
        say("download_models: no model asked (download_models.models is empty): nothing fetched. Ask with "
            "--models coco64,vg64,vg128 (and --ablated 1 for the ablations of Table 1).")
    if errors:
        raise DataError(f"download_models: {len(errors)} of {len(models)} models failed:\n  " + "\n  ".join(errors))
    return record
