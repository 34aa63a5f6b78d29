"""python -m sg2im.data.validate DIR --format coco|vg [--params params.yaml] [--report FILE]"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sg2im.data.validate import FORMATS, check_dataset


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sg2im.data.validate",
                                     description="Check a dataset in the COCO or Visual Genome format before "
                                     "training on it: errors name the file, the record and the field.")
    parser.add_argument("dir", help="the dataset's folder")
    parser.add_argument("--format", required=True, choices=FORMATS)
    parser.add_argument("--params", default="params.yaml" if Path("params.yaml").exists() else None,
                        help="count the images the settings of this params file keep (default: ./params.yaml)")
    parser.add_argument("--report", default=None, help="also write the report here (JSON)")
    parser.add_argument("--no_pixels", action="store_true", help="skip opening every image (faster)")
    args = parser.parse_args(argv)
    from sg2im.errors import Sg2imError

    try:
        report = check_dataset(args.dir, args.format, check_pixels=not args.no_pixels)
        if args.params:
            from sg2im.data.validate.survivors import count_survivors

            count_survivors(report, args.format, args.params)
    except Sg2imError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("\n".join(report.lines()))
    if args.report:
        print(f"report: {report.write(args.report)}")
    return 2 if report.errors else 0


if __name__ == "__main__":
    sys.exit(main())
