"""Rows in, rows out: Python data -> tristage.v1 PredictRequest columns, and PredictResponse ->
a pandas DataFrame with the columns `tristage predict` writes.

Inputs are a list of records (dicts), a dict of columns (name -> list, array or Series), or a
DataFrame. A column is looked up by the feature's dataset column, then by its name; columns the
model does not take are ignored, and a feature with no column is left out of the request, so
the daemon answers INVALID_ARGUMENT naming it.

How a column goes on the wire (the daemon parses strings exactly as `tristage predict` parses
a CSV file's cells, so sending strings never changes a prediction):

* for features that take numbers (number, binary, vector: ModelInput.accepts has "Tensor"), a
  column of only bools is sent as bools, only ints as int64s, only real numbers as doubles,
  only number sequences of one length (vector) as doubles with ``width``;
* everything else, and any column with a missing value, is sent as strings: a missing value
  (None, NaN, pandas NA/NaT) is the empty string, which the model's preprocessing fills as its
  ``missing_value_strategy`` says; bools are "true"/"false"; a float with an integral value is
  written without ".0" (pandas turns an int column with a gap into floats; "3" is what the
  CSV said); other numbers in the shortest form that reads back the same; sequences (set
  items, vectors) are joined by spaces.

Outputs, per output feature in the model's order (as core/export/values.h PredictionsTable):

* binary, category: ``<f>_predictions`` (class name), ``<f>_probabilities_<class>`` per class,
  ``<f>_probability`` (the predicted class's);
* number: ``<f>_predictions`` (float);
* vector: ``<f>_predictions`` (list of floats per row);
* set: ``<f>_predictions`` (list of items per row), ``<f>_probabilities`` (list of those items'
  probabilities).

Numbers are the daemon's float32 values as Python floats (exactly; ``numpy.float32(x)`` gives
back the bits the CLI formats). Where the CLI's CSV joins a list with spaces, the DataFrame
holds the list.
"""

import math
import numbers

import grpc

import numpy as np
import pandas as pd

from tristage_client._proto.tristage.v1 import inference_pb2
from tristage_client.errors import invalid_argument, make_error

__all__ = ["Rows", "encode_inputs", "decode_outputs"]


class Rows:
    """Input data as named columns of Python values, with the DataFrame index to answer with."""

    def __init__(self, columns, count, index=None):
        self.columns = columns  # name -> list of values, each `count` long
        self.count = count
        self.index = index  # the input DataFrame's index, or None for 0..count-1

    @classmethod
    def from_data(cls, data):
        """Accepts a DataFrame, a dict of columns or a list of records."""
        if isinstance(data, pd.DataFrame):
            if not data.columns.is_unique:
                raise invalid_argument("the DataFrame has duplicate column names")
            columns = {str(name): data[name].tolist() for name in data.columns}
            return cls(columns, len(data.index), data.index)
        if isinstance(data, dict):
            columns, count = {}, None
            for name, values in data.items():
                if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
                    raise invalid_argument(
                        "column '%s' is not a list of values (a dict of columns maps each "
                        "name to a list, array or Series)" % name
                    )
                values = values.tolist() if hasattr(values, "tolist") else list(values)
                if count is not None and len(values) != count:
                    raise invalid_argument(
                        "column '%s' has %d rows but the columns before it have %d"
                        % (name, len(values), count)
                    )
                count = len(values)
                columns[str(name)] = values
            return cls(columns, count or 0)
        if isinstance(data, (list, tuple)):
            names = {}
            for row, record in enumerate(data):
                if not isinstance(record, dict):
                    raise invalid_argument(
                        "row %d is a %s, not a dict (a list of records holds one dict per row)"
                        % (row, type(record).__name__)
                    )
                for name in record:
                    names.setdefault(str(name), name)
            columns = {
                name: [record.get(key) for record in data] for name, key in names.items()
            }
            return cls(columns, len(data))
        raise invalid_argument(
            "predict takes a list of records, a dict of columns or a pandas DataFrame, not %s"
            % type(data).__name__
        )

    def slice(self, begin, end):
        columns = {name: values[begin:end] for name, values in self.columns.items()}
        index = None if self.index is None else self.index[begin:end]
        return Rows(columns, end - begin, index)


def _is_missing(value):
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, np.floating):
        return bool(np.isnan(value))
    return False


def _is_bool(value):
    return isinstance(value, (bool, np.bool_))


def _is_int(value):
    return isinstance(value, numbers.Integral) and not _is_bool(value)


def _is_real(value):
    return isinstance(value, numbers.Real) and not _is_bool(value)


def _is_sequence(value):
    return isinstance(value, (list, tuple, np.ndarray, pd.Series))


def _number_text(value):
    if _is_bool(value):
        return "true" if value else "false"
    if _is_int(value):
        return str(int(value))
    value = float(value)
    if value.is_integer() and abs(value) < 2.0**53:
        return str(int(value))
    return repr(value)


def _cell_text(value):
    if _is_missing(value):
        return b""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, numbers.Number) or _is_bool(value):
        return _number_text(value).encode("utf-8")
    if _is_sequence(value):
        return " ".join(
            item if isinstance(item, str) else _cell_text(item).decode("utf-8") for item in value
        ).encode("utf-8")
    return str(value).encode("utf-8")


def _encode_column(values, model_input):
    """One input column: numbers where the feature takes them and none is missing, else
    strings (see the module's docstring)."""
    column = inference_pb2.InputColumn()
    if model_input.takes_numbers and values:
        if model_input.type == "vector":
            if all(_is_sequence(v) for v in values):
                width = len(values[0])
                rows = [np.asarray(v, dtype=object).ravel().tolist() for v in values]
                if width > 0 and all(
                    len(r) == width and all(_is_real(x) and not _is_missing(x) for x in r)
                    for r in rows
                ):
                    column.doubles.values.extend(float(x) for r in rows for x in r)
                    column.width = width
                    return column
        elif all(_is_bool(v) for v in values):
            column.bools.values.extend(bool(v) for v in values)
            return column
        elif all(_is_int(v) for v in values):
            column.int64s.values.extend(int(v) for v in values)
            return column
        elif all(_is_real(v) and not _is_missing(v) for v in values):
            column.doubles.values.extend(float(v) for v in values)
            return column
    column.strings.values.extend(_cell_text(v) for v in values)
    return column


def encode_inputs(rows, metadata, request):
    """Fills ``request.inputs`` from ``rows`` (a Rows) for the model in ``metadata``."""
    for model_input in metadata.inputs:
        values = rows.columns.get(model_input.column)
        if values is None:
            values = rows.columns.get(model_input.name)
        if values is None:
            continue  # the daemon names the missing feature (INVALID_ARGUMENT)
        request.inputs[model_input.name].CopyFrom(_encode_column(values, model_input))


def _feature_columns(name, out):
    """The prediction columns of one output feature, in `tristage predict`'s order."""
    if out.type in ("binary", "category"):
        columns = [(name + "_predictions", list(out.labels))]
        width = len(out.class_names)
        if width:
            p = list(out.probabilities)
            for c, class_name in enumerate(out.class_names):
                columns.append((name + "_probabilities_" + class_name, p[c::width]))
            columns.append((name + "_probability", list(out.probability)))
        return columns
    if out.type == "number":
        return [(name + "_predictions", list(out.numbers))]
    if out.type == "vector":
        return [(name + "_predictions", [list(row.values) for row in out.vectors])]
    if out.type == "set":
        return [
            (name + "_predictions", [list(row.values) for row in out.items]),
            (name + "_probabilities", [list(row.values) for row in out.item_probabilities]),
        ]
    # A type this client does not know (a newer daemon): its labels, as the CLI does.
    return [(name + "_predictions", list(out.labels))]


def decode_outputs(responses, metadata, index, rows, wanted=None):
    """The DataFrame of ``responses`` (PredictResponses of consecutive row ranges, together
    ``rows`` rows) with ``index``; columns per output feature in ``metadata``'s order, then any
    output the metadata did not list, by name; only the features in ``wanted`` when it is not
    empty (whatever else the daemon sent). Raises DataLossError when the row counts disagree."""
    if not responses:
        responses = [inference_pb2.PredictResponse()]
        for output in metadata.outputs:
            empty = responses[0].outputs[output.name]
            empty.type = output.type
            empty.class_names.extend(output.class_names)
    names = [o.name for o in metadata.outputs if o.name in responses[0].outputs]
    names += sorted(set(responses[0].outputs) - set(names))
    if wanted:
        names = [name for name in names if name in set(wanted)]
    merged = {}
    for response in responses:
        for name in names:
            if name not in response.outputs:
                raise make_error(
                    grpc.StatusCode.DATA_LOSS,
                    "the daemon's answers disagree: output '%s' is missing from one" % name,
                )
            for column, values in _feature_columns(name, response.outputs[name]):
                merged.setdefault(column, []).extend(values)
    for column, values in merged.items():
        if len(values) != rows:
            raise make_error(
                grpc.StatusCode.DATA_LOSS,
                "column '%s' has %d rows for %d input rows" % (column, len(values), rows),
            )
    frame = pd.DataFrame(merged, columns=list(merged))
    if index is not None:
        frame.index = index
    return frame
