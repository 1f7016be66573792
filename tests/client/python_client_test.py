#!/usr/bin/env python3
"""End-to-end tests of the Python client (client/python, package tristage_client) against a real
tristage-server, each test class with a daemon of its own.

Registered with ctest by client/python/CMakeLists.txt as client.python.<TestClass>, which runs
    python3 tests/client/python_client_test.py <TestClass>
with PYTHONPATH=build/client/python (the package with its generated stubs) and the binaries in
TRISTAGE_SERVER_BINARY and TRISTAGE_CLI_BINARY. The model is trained by the CLI on a small
synthetic dataset (or, in JobsTest, by the daemon as a job), so predictions can be compared with
what `tristage predict` writes for the same rows.
"""

import csv
import ctypes
import hashlib
import json
import math
import os
import pathlib
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import grpc
import numpy as np
import pandas as pd

import tristage_client
from tristage_client import Client

SERVER = os.environ.get("TRISTAGE_SERVER_BINARY", "")
CLI = os.environ.get("TRISTAGE_CLI_BINARY", "")
TOKEN = "python-client-token"
MODEL = "m"

# Every input and output type the tristage.v1 columns carry differently.
CONFIG = """\
input_features:
  - {name: age, type: number}
  - {name: plan, type: category}
  - {name: autopay, type: binary}
  - {name: notes, type: text}
  - {name: emb, type: vector}
output_features:
  - {name: churned, type: binary}
  - {name: tier, type: category}
  - {name: spend, type: number}
  - {name: tags, type: set}
  - {name: profile, type: vector}
trainer: {epochs: 2, batch_size: 32}
"""
INPUTS = ["age", "plan", "autopay", "notes", "emb"]
DATASET_ROWS = 300
# Rows of the predicted file whose cells are blanked (missing values the model fills).
BLANKS = {2: "age", 5: "plan", 7: "notes", 11: "autopay", 13: "age"}


def run_cli(*args, cwd):
    """Runs the tristage CLI; fails the test with its output when it fails."""
    done = subprocess.run([CLI, *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=120)
    if done.returncode != 0:
        raise AssertionError("tristage %s exited with %d:\n%s"
                             % (" ".join(args), done.returncode, done.stdout.decode()))
    return done.stdout.decode()


def _die_with_parent():
    # The daemon gets SIGKILL if this test process dies without stopping it (a ctest timeout).
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class Daemon:
    """A tristage-server process on free ports (gRPC, metrics and HTTP all port 0)."""

    def __init__(self, root, flags):
        self.log_path = pathlib.Path(root) / "daemon.log"
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [SERVER, "--bind", "127.0.0.1", "--grpc-port", "0", "--metrics-port", "0",
             "--http-port", "0", *flags],
            stdout=subprocess.PIPE, stderr=self._log, preexec_fn=_die_with_parent)
        self._lines = queue.Queue()
        threading.Thread(target=self._read_stdout, daemon=True).start()
        self.address = None
        # "listening on HOST:PORT", then the metrics line, then the HTTP line.
        deadline = time.monotonic() + 60
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.stop()
                raise AssertionError("tristage-server printed no address in 60 s:\n" + self.log())
            if line is None:
                code = self.process.wait()
                raise AssertionError("tristage-server exited with %s at start:\n%s"
                                     % (code, self.log()))
            if line.startswith("listening on "):
                self.address = line[len("listening on "):].strip()
            if line.startswith("http "):
                break
        if not self.address:
            self.stop()
            raise AssertionError("no 'listening on' line before the http line:\n" + self.log())

    def _read_stdout(self):
        # Read to the end so that the daemon never blocks on a full pipe.
        for raw in self.process.stdout:
            self._lines.put(raw.decode("utf-8", "replace"))
        self._lines.put(None)

    def log(self):
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self):
        """SIGTERM, then SIGKILL if it is not gone in 20 s; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process.stdout.close()
        self._log.close()
        return self.process.returncode


class socket_port:
    """A port on 127.0.0.1 that nothing listens on (bound, not listening, while in use)."""

    def __enter__(self):
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        return self._socket.getsockname()[1]

    def __exit__(self, *exc):
        self._socket.close()


def write_blanked_rows(source, target, rows):
    """The first `rows` rows of the CSV `source`, with the cells in BLANKS emptied, as text (no
    number is reformatted)."""
    with open(source, newline="") as file:
        reader = csv.reader(file)
        header = next(reader)
        lines = [next(reader) for _ in range(rows)]
    for row, column in BLANKS.items():
        lines[row][header.index(column)] = ""
    with open(target, "w", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(lines)


def read_frame(path):
    """A CSV as the client's users read it; round_trip: the same doubles as the CLI's parser."""
    return pd.read_csv(path, float_precision="round_trip")


def read_cli_predictions(directory):
    """predictions.csv of `tristage predict`, every cell as the text the CLI wrote."""
    return pd.read_csv(pathlib.Path(directory) / "predictions.csv", dtype=str,
                       keep_default_na=False)


def f32(value):
    return np.float32(float(value))


class FixtureTestCase(unittest.TestCase):
    """A temporary directory per class, removed with everything the class started."""

    daemon = None

    @classmethod
    def setUpClass(cls):
        if not SERVER or not CLI:
            raise AssertionError("TRISTAGE_SERVER_BINARY and TRISTAGE_CLI_BINARY are not set "
                                 "(run through ctest: ctest -R client.python)")
        cls.root = pathlib.Path(tempfile.mkdtemp(prefix="tristage_python_client_"))
        cls.clients = []
        try:
            cls.prepare()
        except BaseException:
            try:
                cls.tearDownClass()
            except AssertionError as error:  # the start-up failure is the one to report
                print(error, file=sys.stderr)
            raise

    @classmethod
    def tearDownClass(cls):
        for client in cls.clients:
            client.close()
        code, log = 0, ""
        if cls.daemon is not None:
            daemon, cls.daemon = cls.daemon, None
            code = daemon.stop()
            log = daemon.log_path.read_text(errors="replace")[-4000:]
        shutil.rmtree(cls.root, ignore_errors=True)
        # SIGTERM is a clean shutdown: exit 0 (README, tristage-server).
        if code != 0:
            raise AssertionError("tristage-server exited with %s on SIGTERM:\n%s" % (code, log))

    @classmethod
    def client(cls, **kwargs):
        client = Client(cls.daemon.address, **kwargs)
        cls.clients.append(client)
        return client

    @classmethod
    def write_data(cls):
        (cls.root / "config.yaml").write_text(CONFIG)
        run_cli("synthesize_dataset", "-c", "config.yaml", "--dataset_size", str(DATASET_ROWS),
                "--output_path", "data.csv", cwd=cls.root)
        write_blanked_rows(cls.root / "data.csv", cls.root / "rows.csv", 40)

    def assert_equals_cli(self, frame, cli):
        """`frame` (the client's DataFrame) holds the CLI's predictions.csv `cli` cell for
        cell: the same columns in the same order, labels equal, numbers the same float32, lists
        equal to the CLI's space-joined cells."""
        self.assertEqual(list(frame.columns), list(cli.columns))
        self.assertEqual(len(frame), len(cli))
        for column in cli.columns:
            for row, (ours, theirs) in enumerate(zip(frame[column], cli[column])):
                where = "%s row %d: %r vs the CLI's %r" % (column, row, ours, theirs)
                if isinstance(ours, list):
                    parts = theirs.split(" ") if theirs else []
                    self.assertEqual(len(ours), len(parts), where)
                    for item, part in zip(ours, parts):
                        if isinstance(item, str):
                            self.assertEqual(item, part, where)
                        else:
                            self.assertEqual(f32(item), f32(part), where)
                elif isinstance(ours, str):
                    self.assertEqual(ours, theirs, where)
                else:
                    self.assertEqual(f32(ours), f32(theirs), where)


def assert_frames_close(test, frame, want, what):
    """Equal columns, index and labels; numbers (also in lists) within float32 rounding. Rows
    batched with different batch-mates differ in the last bits of some outputs (BLAS picks
    other kernels for a few rows than for many), so a stream's answers are compared this way."""
    test.assertEqual(list(frame.columns), list(want.columns), what)
    test.assertEqual(list(frame.index), list(want.index), what)
    for column in want.columns:
        for ours, theirs in zip(frame[column], want[column]):
            where = "%s, %s: %r vs %r" % (what, column, ours, theirs)
            if isinstance(theirs, str):
                test.assertEqual(ours, theirs, where)
            elif isinstance(theirs, list):
                test.assertEqual(len(ours), len(theirs), where)
                if theirs and isinstance(theirs[0], str):
                    test.assertEqual(ours, theirs, where)
                else:
                    test.assertTrue(np.allclose(ours, theirs, rtol=1e-5, atol=1e-6), where)
            else:
                test.assertTrue(math.isclose(ours, theirs, rel_tol=1e-5, abs_tol=1e-6), where)


class ServedModelTestCase(FixtureTestCase):
    """A model trained by the CLI and exported into a repository served with
    --model-control-mode explicit (loaded through the client) and a bearer token."""

    @classmethod
    def prepare(cls):
        cls.write_data()
        run_cli("train", "-c", "config.yaml", "--dataset", "data.csv", "-od", "results",
                "--random_seed", "7", cwd=cls.root)
        cls.model_dir = cls.root / "results" / "experiment_run"
        run_cli("export_torchscript", "-m", str(cls.model_dir), "-op", "repo/%s/1" % MODEL,
                cwd=cls.root)
        (cls.root / "token").write_text(TOKEN + "\n")
        cls.daemon = Daemon(cls.root, [
            "--model-repository", str(cls.root / "repo"), "--model-control-mode", "explicit",
            "--auth-token-file", str(cls.root / "token")])
        cls.tristage = cls.client(token=TOKEN)
        cls.tristage.load_model(MODEL)


class ServingTest(ServedModelTestCase):
    """predict with each input shape, equal to the CLI's predictions; metadata; health."""

    @classmethod
    def prepare(cls):
        super().prepare()
        run_cli("predict", "-m", str(cls.model_dir), "--dataset", "rows.csv", "-od", "cli",
                cwd=cls.root)
        run_cli("predict", "--server", cls.daemon.address, "--model", MODEL, "--dataset",
                "rows.csv", "-od", "served", cwd=cls.root)
        run_cli("predict", "-m", str(cls.model_dir), "--dataset", "data.csv", "-od", "cli_all",
                cwd=cls.root)

    def test_records_columns_and_dataframe_give_the_same_frame_as_the_cli(self):
        frame = read_frame(self.root / "rows.csv")
        self.assertTrue(frame["age"].isna().any())  # the blanks are there: missing values
        from_frame = self.tristage.predict(frame, MODEL)
        from_records = self.tristage.predict(frame.to_dict("records"), MODEL)
        from_columns = self.tristage.predict(frame.to_dict("list"), MODEL)
        pd.testing.assert_frame_equal(from_records, from_frame)
        pd.testing.assert_frame_equal(from_columns, from_frame)
        self.assert_equals_cli(from_frame, read_cli_predictions(self.root / "cli"))
        self.assert_equals_cli(from_frame, read_cli_predictions(self.root / "served"))

    def test_prediction_columns_and_values(self):
        frame = self.tristage.predict(read_frame(self.root / "rows.csv"), MODEL)
        churned = ["churned_predictions", "churned_probabilities_false",
                   "churned_probabilities_true", "churned_probability"]
        self.assertEqual(list(frame.columns[:4]), churned)
        self.assertIn("tier_probability", frame.columns)
        self.assertEqual(list(frame.columns[-4:]), ["spend_predictions", "tags_predictions",
                                                    "tags_probabilities", "profile_predictions"])
        self.assertEqual(len(frame), 40)
        for _, row in frame.iterrows():
            self.assertIn(row["churned_predictions"], ("false", "true"))
            p = row["churned_probabilities_" + row["churned_predictions"]]
            self.assertEqual(row["churned_probability"], p)
            self.assertAlmostEqual(row["churned_probabilities_false"]
                                   + row["churned_probabilities_true"], 1.0, places=5)
            self.assertIsInstance(row["spend_predictions"], float)
            self.assertTrue(all(isinstance(t, str) and t.startswith("item_")
                                for t in row["tags_predictions"]))
            self.assertEqual(len(row["tags_predictions"]), len(row["tags_probabilities"]))
            self.assertEqual(len(row["profile_predictions"]), 3)

    def test_more_rows_than_max_batch_size_are_answered_whole_and_in_order(self):
        self.assertLess(self.tristage.metadata(MODEL).max_batch_size, DATASET_ROWS)
        frame = self.tristage.predict(read_frame(self.root / "data.csv"), MODEL)
        self.assertEqual(len(frame), DATASET_ROWS)
        self.assert_equals_cli(frame, read_cli_predictions(self.root / "cli_all"))

    def test_numbers_bools_and_vectors_sent_as_numbers_predict_as_their_text(self):
        typed = read_frame(self.root / "data.csv").head(50)
        self.assertEqual(typed["autopay"].dtype, bool)
        typed["emb"] = [[float(x) for x in cell.split()] for cell in typed["emb"]]
        typed["age_int"] = 0  # a column the model does not take is ignored
        text = pd.read_csv(self.root / "data.csv", dtype=str, keep_default_na=False).head(50)
        pd.testing.assert_frame_equal(self.tristage.predict(typed, MODEL),
                                      self.tristage.predict(text, MODEL))
        # int64s for a number feature
        ints = typed.assign(age=typed["age"].round().astype("int64"))
        as_text = text.assign(age=[str(v) for v in ints["age"]])
        pd.testing.assert_frame_equal(self.tristage.predict(ints, MODEL),
                                      self.tristage.predict(as_text, MODEL))

    def test_a_missing_value_is_filled_whatever_its_spelling(self):
        row = read_frame(self.root / "data.csv").iloc[0].to_dict()
        spellings = [None, float("nan"), "", pd.NA]
        frames = [self.tristage.predict([dict(row, age=v, plan=v)], MODEL) for v in spellings]
        for frame in frames[1:]:
            pd.testing.assert_frame_equal(frame, frames[0])
        # and it is not the value the row had
        self.assertNotEqual(frames[0]["spend_predictions"][0],
                            self.tristage.predict([row], MODEL)["spend_predictions"][0])

    def test_dataframe_index_is_kept_and_outputs_select_features(self):
        frame = read_frame(self.root / "rows.csv").head(5)
        frame.index = [10, 20, 30, 40, 50]
        answer = self.tristage.predict(frame, MODEL, version=1, outputs=["spend", "churned"])
        self.assertEqual(list(answer.index), [10, 20, 30, 40, 50])
        self.assertEqual(list(answer.columns),
                         ["churned_predictions", "churned_probabilities_false",
                          "churned_probabilities_true", "churned_probability",
                          "spend_predictions"])

    def test_no_rows_give_an_empty_frame_with_the_columns(self):
        full = self.tristage.predict(read_frame(self.root / "rows.csv").head(2), MODEL)
        for empty in (read_frame(self.root / "rows.csv").head(0), [], {"age": []}):
            frame = self.tristage.predict(empty, MODEL)
            self.assertEqual(len(frame), 0)
            self.assertEqual(list(frame.columns), list(full.columns))

    def test_metadata(self):
        metadata = self.tristage.metadata(MODEL)
        self.assertEqual(metadata.model_name, MODEL)
        self.assertEqual(metadata.model_version, "1")
        self.assertEqual([i.name for i in metadata.inputs], INPUTS)
        self.assertEqual([i.column for i in metadata.inputs], INPUTS)
        self.assertEqual([i.type for i in metadata.inputs],
                         ["number", "category", "binary", "text", "vector"])
        self.assertTrue(metadata.inputs[0].takes_numbers)
        self.assertFalse(metadata.inputs[1].takes_numbers)
        outputs = {o.name: o for o in metadata.outputs}
        self.assertEqual([o.name for o in metadata.outputs],
                         ["churned", "tier", "spend", "tags", "profile"])
        self.assertEqual(outputs["churned"].type, "binary")
        self.assertEqual(outputs["churned"].class_names, ["false", "true"])
        self.assertIn("class_alpha", outputs["tier"].class_names)
        self.assertEqual(metadata.max_batch_size, 64)
        self.assertEqual(self.tristage.metadata(MODEL, version="1"), metadata)

    def test_health_server_info_and_repository(self):
        self.assertEqual(self.tristage.health(), "SERVING")
        self.assertEqual(self.tristage.health(MODEL), "SERVING")
        self.assertEqual(self.tristage.health("tristage.v1.Inference"), "SERVING")
        with self.assertRaises(tristage_client.NotFoundError) as raised:
            self.tristage.health("no-such-service")
        self.assertEqual(raised.exception.code, grpc.StatusCode.NOT_FOUND)
        info = self.tristage.server_info()
        self.assertEqual(info.version, run_cli("version", cwd=self.root).split()[-1])
        self.assertEqual(pathlib.Path(info.model_repository).resolve(),
                         (self.root / "repo").resolve())
        self.assertGreater(info.system.hardware_threads, 0)
        self.assertLessEqual(abs(info.start_time_unix_s - time.time()), 600)
        index = self.tristage.repository_index()
        self.assertIn((MODEL, "1", "READY"), [(m.name, m.version, m.state) for m in index])


class StreamTest(ServedModelTestCase):
    """predict_stream: many inputs on one tristage.v1 PredictStream, answered in order."""

    def test_a_thousand_requests_are_answered_in_order(self):
        data = read_frame(self.root / "data.csv")
        expected = self.tristage.predict(data, MODEL)  # checked against the CLI in ServingTest
        shapes = [
            lambda rows: rows.to_dict("records"),
            lambda rows: rows.to_dict("list"),
            lambda rows: rows,
        ]
        # Request k asks for 1-3 rows starting at row (7k mod 300), in one of the shapes.
        plan = []
        for k in range(1000):
            start, count = (7 * k) % (DATASET_ROWS - 3), 1 + k % 3
            plan.append((start, count))

        def batches():
            for k, (start, count) in enumerate(plan):
                rows = data.iloc[start:start + count].reset_index(drop=True)
                yield shapes[k % 3](rows)

        answered = 0
        for k, frame in enumerate(self.tristage.predict_stream(batches(), MODEL)):
            start, count = plan[k]
            want = expected.iloc[start:start + count].reset_index(drop=True)
            assert_frames_close(self, frame, want, "request %d (rows %d-%d)"
                                % (k, start, start + count - 1))
            answered += 1
        self.assertEqual(answered, 1000)

    def test_an_input_over_max_batch_size_is_one_answer(self):
        data = read_frame(self.root / "data.csv")
        frames = list(self.tristage.predict_stream([data.head(3), data, data.tail(2)], MODEL))
        self.assertEqual([len(f) for f in frames], [3, DATASET_ROWS, 2])
        assert_frames_close(self, frames[1], self.tristage.predict(data, MODEL), "all rows")
        self.assertEqual(list(frames[2].index), [DATASET_ROWS - 2, DATASET_ROWS - 1])

    def test_inputs_without_rows_are_answered_in_their_turn(self):
        data = read_frame(self.root / "data.csv")
        inputs = [[], data.head(2), data.head(0), data.tail(1), [], {"age": []}]
        frames = list(self.tristage.predict_stream(inputs, MODEL))
        self.assertEqual([len(f) for f in frames], [0, 2, 0, 1, 0, 0])
        self.assertTrue(all(list(f.columns) == list(frames[1].columns) for f in frames))

    def test_a_failing_request_ends_the_stream_after_the_answers_before_it(self):
        data = read_frame(self.root / "data.csv")
        good = data.head(2)
        bad = data.head(2).drop(columns=["plan"])
        got = []
        with self.assertRaises(tristage_client.InvalidArgumentError) as raised:
            for frame in self.tristage.predict_stream([good, good, bad, good], MODEL):
                got.append(frame)
        self.assertEqual(len(got), 2)
        self.assertEqual(raised.exception.code, grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("plan", raised.exception.message)

    def test_an_exception_from_the_inputs_is_raised_to_the_caller(self):
        data = read_frame(self.root / "data.csv")

        def batches():
            yield data.head(1)
            raise RuntimeError("the input source broke")

        with self.assertRaisesRegex(RuntimeError, "the input source broke"):
            list(self.tristage.predict_stream(batches(), MODEL))

    def test_leaving_the_loop_early_ends_an_endless_stream(self):
        data = read_frame(self.root / "data.csv").head(1)

        def endless():
            while True:
                yield data

        for n, frame in enumerate(self.tristage.predict_stream(endless(), MODEL)):
            self.assertEqual(len(frame), 1)
            if n == 4:
                break
        self.assertEqual(self.tristage.health(MODEL), "SERVING")


class ErrorTest(ServedModelTestCase):
    """Failures are TristageError subclasses carrying the gRPC code and the daemon's message."""

    def test_unknown_model_is_not_found(self):
        row = read_frame(self.root / "data.csv").head(1)
        for call in (lambda: self.tristage.predict(row, "no_such_model"),
                     lambda: self.tristage.metadata("no_such_model"),
                     lambda: list(self.tristage.predict_stream([row], "no_such_model"))):
            with self.assertRaises(tristage_client.NotFoundError) as raised:
                call()
            self.assertIsInstance(raised.exception, tristage_client.TristageError)
            self.assertEqual(raised.exception.code, grpc.StatusCode.NOT_FOUND)
            self.assertIn("no_such_model", raised.exception.message)
        with self.assertRaises(tristage_client.TristageError) as raised:
            self.tristage.predict(row, MODEL, version=9)
        self.assertEqual(raised.exception.code, grpc.StatusCode.NOT_FOUND)

    def test_missing_feature_is_invalid_argument(self):
        rows = read_frame(self.root / "data.csv").head(3).drop(columns=["notes"])
        with self.assertRaises(tristage_client.InvalidArgumentError) as raised:
            self.tristage.predict(rows, MODEL)
        self.assertEqual(raised.exception.code, grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("missing input feature 'notes'", raised.exception.message)
        self.assertIsInstance(raised.exception, ValueError)

    def test_a_value_that_does_not_parse_is_invalid_argument(self):
        row = read_frame(self.root / "data.csv").iloc[0].to_dict()
        with self.assertRaises(tristage_client.InvalidArgumentError) as raised:
            self.tristage.predict([dict(row, age="twelve")], MODEL)
        self.assertIn("age", raised.exception.message)

    def test_bad_or_missing_token_is_unauthenticated(self):
        for client in (self.client(token="not-the-token"), self.client()):
            for call in (client.server_info, client.list_jobs, lambda: client.load_model(MODEL),
                         lambda: client.submit("train", config=CONFIG, dataset="data.csv")):
                with self.assertRaises(tristage_client.UnauthenticatedError) as raised:
                    call()
                self.assertEqual(raised.exception.code, grpc.StatusCode.UNAUTHENTICATED)
        # inference needs no token
        anonymous = self.client()
        self.assertEqual(len(anonymous.predict(read_frame(self.root / "data.csv").head(2),
                                               MODEL)), 2)

    def test_jobs_on_a_daemon_without_state_dir_fail_precondition(self):
        with self.assertRaises(tristage_client.FailedPreconditionError) as raised:
            self.tristage.list_jobs()
        self.assertIn("--state-dir", raised.exception.message)

    def test_unreachable_daemon_is_unavailable(self):
        with socket_port() as port:
            client = Client("127.0.0.1:%d" % port, timeout=5)
            self.clients.append(client)
            with self.assertRaises(tristage_client.UnavailableError) as raised:
                client.health()
        self.assertEqual(raised.exception.code, grpc.StatusCode.UNAVAILABLE)

    def test_data_the_client_cannot_read_is_invalid_argument_before_sending(self):
        for data in (42, "age,plan", [1, 2], {"age": [1, 2], "plan": ["a"]}, {"age": 3}):
            with self.assertRaises(tristage_client.InvalidArgumentError):
                self.tristage.predict(data, MODEL)
        with self.assertRaises(tristage_client.InvalidArgumentError):
            self.tristage.submit("retrain", config=CONFIG)
        with self.assertRaises(tristage_client.InvalidArgumentError):
            Client("127.0.0.1:1", tls={"ca": "x"})


class TlsTest(FixtureTestCase):
    """A daemon serving gRPC over TLS that requires client certificates (mTLS)."""

    @classmethod
    def prepare(cls):
        pki = cls.root / "pki"
        pki.mkdir()
        (pki / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        # A CA, a server certificate for localhost/127.0.0.1 and a client certificate from it.
        for command in (
                "req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 1 "
                "-subj /CN=tristage-test-ca",
                "req -newkey rsa:2048 -nodes -keyout server.key -out server.csr "
                "-subj /CN=localhost",
                "x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
                "-out server.pem -days 1 -extfile san.ext",
                "req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj /CN=client",
                "x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem "
                "-days 1"):
            done = subprocess.run(["openssl", *command.split()], cwd=pki, capture_output=True)
            if done.returncode != 0:
                raise AssertionError("openssl %s: %s" % (command, done.stderr.decode()))
        (cls.root / "repo").mkdir()
        cls.daemon = Daemon(cls.root, [
            "--model-repository", str(cls.root / "repo"), "--tls-cert", str(pki / "server.pem"),
            "--tls-key", str(pki / "server.key"), "--tls-client-ca", str(pki / "ca.pem")])
        cls.pki = pki

    def test_client_certificate_and_ca_from_files(self):
        tls = tristage_client.Tls.from_files(root_certificates=self.pki / "ca.pem",
                                             certificate_chain=self.pki / "client.pem",
                                             private_key=self.pki / "client.key")
        client = self.client(tls=tls, timeout=10)
        self.assertEqual(client.health(), "SERVING")
        self.assertEqual(client.server_info().model_repository, str(self.root / "repo"))

    def test_tls_settings_as_a_dict_of_pem_text(self):
        client = self.client(timeout=10, tls={
            "root_certificates": (self.pki / "ca.pem").read_text(),
            "certificate_chain": (self.pki / "client.pem").read_text(),
            "private_key": (self.pki / "client.key").read_text(),
            "target_name_override": "localhost"})
        self.assertEqual(client.health(), "SERVING")

    def test_without_client_certificate_or_tls_the_daemon_is_unavailable(self):
        without_certificate = self.client(timeout=5, tls=tristage_client.Tls(
            root_certificates=(self.pki / "ca.pem").read_bytes()))
        for client in (without_certificate, self.client(timeout=5)):
            with self.assertRaises(tristage_client.UnavailableError) as raised:
                client.health()
            self.assertEqual(raised.exception.code, grpc.StatusCode.UNAVAILABLE)


class JobsTest(FixtureTestCase):
    """Jobs on the daemon: upload, submit, watch, download, publish, then predict with it."""

    @classmethod
    def prepare(cls):
        cls.write_data()
        for directory in ("data_root", "repo", "state"):
            (cls.root / directory).mkdir()
        shutil.copy(cls.root / "data.csv", cls.root / "data_root" / "data.csv")
        (cls.root / "token").write_text(TOKEN + "\n")
        cls.daemon = Daemon(cls.root, [
            "--model-repository", str(cls.root / "repo"), "--model-control-mode", "none",
            "--state-dir", str(cls.root / "state"), "--data-root", str(cls.root / "data_root"),
            "--cli-binary", CLI, "--auth-token-file", str(cls.root / "token"),
            "--max-concurrent-jobs", "1"])
        cls.tristage = cls.client(token=TOKEN)

    def test_train_job_uploaded_watched_downloaded_published_and_served(self):
        data = self.root / "data.csv"
        upload = self.tristage.upload_dataset(data)
        self.assertTrue(upload.dataset.startswith("upload:"), upload.dataset)
        self.assertEqual(upload.size_bytes, data.stat().st_size)
        self.assertEqual(upload.sha256, hashlib.sha256(data.read_bytes()).hexdigest())

        job_id = self.tristage.submit("train", config=CONFIG, dataset=upload, publish="served",
                                      options={"random_seed": 7})
        events = list(self.tristage.watch(job_id))
        states = [e.state for e in events if e.type == "state"]
        self.assertEqual(states[-1], "SUCCEEDED", self.tristage.get_job(job_id).reason)
        self.assertIn("RUNNING", states)
        self.assertIs(events[-1].type, "state")
        self.assertEqual([e.sequence for e in events], sorted(set(e.sequence for e in events)))
        epochs = [e.progress.epoch for e in events if e.type == "progress"]
        self.assertEqual(epochs, [1, 2])
        progress = [e.progress for e in events if e.type == "progress"][-1]
        self.assertTrue(math.isfinite(progress.metrics["validation_loss"]))
        self.assertTrue(any(e.type == "log" and e.log_line for e in events))

        job = self.tristage.get_job(job_id)
        self.assertEqual((job.id, job.kind, job.state, job.done), (job_id, "train", "SUCCEEDED",
                                                                   True))
        self.assertEqual((job.publish_model, job.published_version, job.epoch), ("served", 1, 2))
        self.assertGreaterEqual(job.finished_unix_ms, job.started_unix_ms)
        self.assertIn("experiment_run/model.tar", job.artifacts)
        self.assertIn("experiment_run/training_statistics.json", job.artifacts)
        self.assertIn(job_id, [j.id for j in self.tristage.list_jobs()])
        self.assertIn(job_id, [j.id for j in self.tristage.list_jobs(state="succeeded")])
        self.assertNotIn(job_id, [j.id for j in self.tristage.list_jobs(state="RUNNING")])

        # A file of the job's output, byte for byte, into a directory and to a file name.
        statistics = self.tristage.download(job_id, "experiment_run/training_statistics.json",
                                            self.root)
        on_server = (self.root / "state" / "jobs" / job_id / "output" / "experiment_run"
                     / "training_statistics.json")
        self.assertEqual(statistics, self.root / "training_statistics.json")
        self.assertEqual(statistics.read_bytes(), on_server.read_bytes())
        self.assertIn("training", json.loads(statistics.read_text()))
        renamed = self.tristage.download(job_id, "experiment_run/training_statistics.json",
                                         self.root / "sub" / "stats.json")
        self.assertEqual(renamed.read_bytes(), on_server.read_bytes())

        # The trained model, unpacked: the CLI predicts with it what the published one serves.
        model = self.tristage.download(job_id, "experiment_run/model.tar", self.root / "job",
                                       extract=True)
        self.assertEqual(model, self.root / "job" / "model")
        self.assertTrue((model / "model_hyperparameters.json").is_file())
        run_cli("predict", "-m", str(model), "--dataset", "rows.csv", "-od", "job_cli",
                cwd=self.root)
        self.assertEqual(self.tristage.health("served"), "SERVING")
        self.assertEqual(self.tristage.metadata("served").model_version, "1")
        frame = self.tristage.predict(read_frame(self.root / "rows.csv"), "served")
        self.assert_equals_cli(frame, read_cli_predictions(self.root / "job_cli"))
        self.assertTrue((self.root / "repo" / "served" / "1" / "manifest.json").is_file())

    def test_a_running_job_is_cancelled(self):
        job_id = self.tristage.submit("train", config=CONFIG.replace("epochs: 2", "epochs: 5000"),
                                      dataset="data.csv")
        for event in self.tristage.watch(job_id):
            if event.type == "progress":  # it trains: cancel it
                cancelled = self.tristage.cancel(job_id)
                self.assertEqual(cancelled.id, job_id)
                break
        job = self.tristage.wait(job_id)
        self.assertEqual(job.state, "CANCELLED", job.reason)
        self.assertTrue(job.done)
        self.assertEqual(job.world_size, 1)
        self.assertLess(job.epoch, 5000)

    def test_a_failing_job_ends_failed_with_the_cli_error(self):
        seen = []
        job = self.tristage.wait(
            self.tristage.submit("train", config=CONFIG.replace("epochs: 2", "epochs: -3"),
                                 dataset="data.csv"),
            on_event=seen.append)
        self.assertEqual(job.state, "FAILED")
        self.assertIn("epochs", job.reason)
        self.assertEqual(seen[-1].state, "FAILED")

    def test_job_errors_carry_their_codes(self):
        with self.assertRaises(tristage_client.NotFoundError):
            self.tristage.get_job("j999999")
        with self.assertRaises(tristage_client.NotFoundError):
            list(self.tristage.watch("j999999"))
        # Paths that leave the data root: absolute elsewhere, or a symlink out.
        (self.root / "data_root" / "out.csv").symlink_to(self.root / "data.csv")
        for outside in (str(self.root / "data.csv"), "out.csv"):
            with self.assertRaises(tristage_client.PermissionDeniedError) as raised:
                self.tristage.submit("train", config=CONFIG, dataset=outside)
            self.assertEqual(raised.exception.code, grpc.StatusCode.PERMISSION_DENIED)
        uploaded = self.tristage.upload_dataset(b"age,plan\n1,a\n", name="tiny.csv")
        self.assertEqual(uploaded.size_bytes, 13)
        with self.assertRaises(tristage_client.InvalidArgumentError):
            self.tristage.upload_dataset(b"age\n1\n")  # bytes need a name
        with self.assertRaises(tristage_client.NotFoundError):
            self.tristage.upload_dataset(self.root / "no_such_file.csv")
        # world_size reaches the daemon, whose job CPU budget (--job-threads 1) holds one worker.
        with self.assertRaises(tristage_client.InvalidArgumentError) as raised:
            self.tristage.submit("train", config=CONFIG, dataset="data.csv", world_size=2)
        self.assertRegex(raised.exception.message, r"world_size: 2 exceeds .*--job-threads 1")
        with self.assertRaises(tristage_client.InvalidArgumentError):
            self.tristage.submit("train", config=CONFIG, dataset="data.csv", world_size="2")


if __name__ == "__main__":
    unittest.main()
