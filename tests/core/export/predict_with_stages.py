"""Runs an export's three stages from Python, as docs/export.md shows, and writes the prediction
columns `tristage predict` writes. Used by tests/core/export/export_test.cc.

usage: predict_with_stages.py EXPORT_DIR DATA.csv OUT.csv
"""
import csv
import json
import os
import sys

import torch


def main(export_dir, data_path, out_path):
    with open(os.path.join(export_dir, "manifest.json")) as f:
        manifest = json.load(f)
    with open(data_path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))

    # The documented snippet: raw columns in, user-facing predictions out.
    preprocessor = torch.jit.load(os.path.join(export_dir, "inference_preprocessor.pt"))
    predictor = torch.jit.load(os.path.join(export_dir, "inference_predictor_cpu.pt"))
    postprocessor = torch.jit.load(os.path.join(export_dir, "inference_postprocessor.pt"))
    raw = {spec["name"]: [row[spec["column"]] for row in rows] for spec in manifest["inputs"]}
    with torch.no_grad():
        result = postprocessor(predictor(preprocessor(raw)))

    columns = []  # (name, list of cell texts)

    def text(value):
        if isinstance(value, torch.Tensor):
            value = value.tolist()
        cells = []
        for cell in value:
            if isinstance(cell, list):
                cells.append(" ".join(c if isinstance(c, str) else repr(float(c)) for c in cell))
            elif isinstance(cell, str):
                cells.append(cell)
            else:
                cells.append(repr(float(cell)))  # float32 values, exact in a double
        return cells

    for spec in manifest["outputs"]:
        name = spec["name"]
        columns.append((name + "_predictions", text(result[name + "::predictions"])))
        probabilities = result.get(name + "::probabilities")
        if isinstance(probabilities, torch.Tensor) and spec.get("class_names"):
            for c, class_name in enumerate(spec["class_names"]):
                columns.append((name + "_probabilities_" + class_name,
                                text(probabilities[:, c])))
        elif probabilities is not None:
            columns.append((name + "_probabilities", text(probabilities)))
        if name + "::probability" in result:
            columns.append((name + "_probability", text(result[name + "::probability"])))

    with open(out_path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow([name for name, _ in columns])
        for i in range(len(rows)):
            writer.writerow([cells[i] for _, cells in columns])


if __name__ == "__main__":
    main(*sys.argv[1:4])
