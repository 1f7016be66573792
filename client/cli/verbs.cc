#include "client/cli/verbs.h"

#include <filesystem>
#include <memory>
#include <optional>
#include <ostream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/platform/system_info.h"
#include "core/util/log.h"
#include "core/util/strings.h"
#include "core/version.h"

namespace tristage::cli {
namespace {

FlagSpec Value(std::string name, std::string short_name, std::string help,
               std::string default_value = "", std::vector<std::string> choices = {}) {
  return {std::move(name), std::move(short_name),    FlagKind::kValue,
          std::move(help), std::move(default_value), std::move(choices)};
}
FlagSpec Bool(std::string name, std::string short_name, std::string help) {
  return {std::move(name), std::move(short_name), FlagKind::kBool, std::move(help), "", {}};
}
FlagSpec List(std::string name, std::string short_name, std::string help) {
  return {std::move(name), std::move(short_name), FlagKind::kList, std::move(help), "", {}};
}

const std::vector<std::string> kDataFormats = {"auto", "csv", "tsv", "json", "jsonl"};
const std::vector<std::string> kLogLevels = {"critical", "error", "warning",
                                             "info",     "debug", "notset"};
const std::vector<std::string> kSplits = {"full", "training", "validation", "test"};

void Add(std::vector<FlagSpec>& to, std::vector<FlagSpec> more) {
  to.insert(to.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
}

std::vector<FlagSpec> Common() {
  return {Value("logging_level", "l", "the level of logging to use", "info", kLogLevels),
          Bool("help", "h", "show this help message and exit")};
}

std::vector<FlagSpec> ConfigFlags() {
  return {Value("config", "c", "path to the YAML or JSON model configuration"),
          Value("config_str", "cs", "the model configuration as a JSON or YAML string")};
}

std::vector<FlagSpec> DatasetFlags() {
  return {Value("dataset", "", "input data file for training, split into train/validation/test"),
          Value("training_set", "", "input data file for training"),
          Value("validation_set", "", "input data file for validation"),
          Value("test_set", "", "input data file for test"),
          Value("training_set_metadata", "", "training set metadata JSON file"),
          Value("data_format", "", "format of the input data", "auto", kDataFormats)};
}

std::vector<FlagSpec> OutputFlags(const std::string& experiment_name = "experiment") {
  return {Value("output_directory", "od", "directory that contains the results", "results"),
          Value("experiment_name", "", "experiment name", experiment_name),
          Value("model_name", "", "name for the model", "run")};
}

std::vector<FlagSpec> TrainSkipFlags() {
  return {Value("model_load_path", "mlp", "path of a pretrained model to load as initialization"),
          Value("model_resume_path", "mrp", "path of the model directory to resume training of"),
          Bool("skip_save_training_description", "sstd", "do not save description.json"),
          Bool("skip_save_training_statistics", "ssts", "do not save training_statistics.json"),
          Bool("skip_save_model", "ssm", "do not save the model weights"),
          Bool("skip_save_progress", "ssp", "do not save progress after each epoch"),
          Bool("skip_save_log", "ssl",
               "Ludwig's switch for TensorBoard logs; tristage writes none, so there is nothing "
               "to skip"),
          Bool("skip_save_processed_input", "sspi", "do not save the preprocessed input cache"),
          Value("random_seed", "rs", "seed for random number generators", "42"),
          List("gpus", "g", "list of GPUs to use"),
          Value("backend", "b", "backend to run on", "local", {"local"})};
}

std::vector<FlagSpec> EvalSkipFlags() {
  return {Bool("skip_save_unprocessed_output", "ssuo", "do not save the raw output tensors"),
          Bool("skip_save_predictions", "sstp", "do not save the predictions CSV files"),
          Bool("skip_save_eval_stats", "sstes", "do not save test_statistics.json"),
          Bool("skip_collect_predictions", "scp", "do not collect per-row predictions"),
          Bool("skip_collect_overall_stats", "scos", "do not collect overall statistics")};
}

// Data-parallel training (docs/distributed.md), with torchrun's flag names.
std::vector<FlagSpec> DistributedFlags() {
  return {Value("nproc_per_node", "",
                "worker processes to train on, on this machine (data parallel, torch.distributed)",
                "1"),
          Value("nnodes", "", "machines in the run (each runs this command)", "1"),
          Value("node_rank", "", "this machine's index among --nnodes", "0"),
          Value("master_addr", "", "host of the run's rank 0 (with --nnodes above 1)", "127.0.0.1"),
          Value("master_port", "", "port of rank 0's rendezvous (default: a free one)", ""),
          Value("dist_timeout", "",
                "seconds a worker waits for the others in a collective before failing the run",
                "300")};
}

// Flags of the verbs that can run as jobs on a daemon.
std::vector<FlagSpec> ServerJobFlags() {
  return {Value("server", "", "address (host:port) of a tristage-server to run this on, as a job"),
          Value("auth_token_file", "", "with --server: file holding the daemon's bearer token"),
          Value("publish", "", "with --server: serve the trained model under this name")};
}

// The verbs a parent process (the daemon's jobs, hyperopt's trials) runs and follows.
std::vector<FlagSpec> JobEventsFlags() {
  return {Value(job_protocol::kEventsFdFlag, "",
                "(for a parent process) descriptor to write job protocol events to (docs/jobs.md)")};
}

std::vector<FlagSpec> Join(std::initializer_list<std::vector<FlagSpec>> groups) {
  std::vector<FlagSpec> all;
  for (const auto& group : groups) Add(all, group);
  return all;
}

std::vector<Verb> BuildVerbs() {
  std::vector<Verb> verbs;
  verbs.push_back({"train", "trains a model",
                   Join({ConfigFlags(), DatasetFlags(), OutputFlags(), TrainSkipFlags(),
                         DistributedFlags(), ServerJobFlags(), JobEventsFlags(), Common()}),
                   RunTrain});
  verbs.push_back(
      {"predict", "predicts using a pretrained model",
       Join({{Value("dataset", "", "input data file to predict on"),
              Value("data_format", "", "format of the input data", "auto", kDataFormats),
              Value("split", "s", "the split to predict on", "full", kSplits),
              Value("model_path", "m", "model directory to load"),
              Value("torchscript", "", "directory of exported TorchScript stages to predict with"),
              Value("server", "", "address (host:port) of a tristage-server to predict with"),
              Value("model", "", "with --server: the served model's name"),
              Value("model_version", "", "with --server: the version (default: the latest)"),
              Value("output_directory", "od", "directory that contains the results", "results"),
              Bool("skip_save_unprocessed_output", "ssuo", "do not save the raw output tensors"),
              Bool("skip_save_predictions", "sstp", "do not save the predictions CSV files"),
              Value("batch_size", "bs", "size of batches", "128"), List("gpus", "g", "GPUs")},
             JobEventsFlags(),
             Common()}),
       RunPredict});
  verbs.push_back(
      {"evaluate", "evaluates a pretrained model's performance",
       Join({{Value("dataset", "", "input data file to evaluate on"),
              Value("data_format", "", "format of the input data", "auto", kDataFormats),
              Value("split", "s", "the split to evaluate on", "full", kSplits),
              Value("model_path", "m", "model directory to load"),
              Value("output_directory", "od", "directory that contains the results", "results"),
              Value("batch_size", "bs", "size of batches", "128"), List("gpus", "g", "GPUs")},
             EvalSkipFlags(),
             {Value("server", "", "address (host:port) of a tristage-server to run this on"),
              Value("auth_token_file", "", "with --server: file holding the daemon's token")},
             JobEventsFlags(),
             Common()}),
       RunEvaluate});
  verbs.push_back({"experiment", "runs a full experiment training a model and evaluating it",
                   Join({ConfigFlags(),
                         DatasetFlags(),
                         OutputFlags(),
                         TrainSkipFlags(),
                         EvalSkipFlags(),
                         {Value("eval_split", "es", "the split to evaluate on", "test", kSplits),
                          Value("k_fold", "kf", "number of folds for k-fold cross validation"),
                          Bool("skip_save_k_fold_split_indices", "skfsi",
                               "with --k_fold: do not save kfold_split_indices.json")},
                         DistributedFlags(),
                         ServerJobFlags(),
                         JobEventsFlags(),
                         Common()}),
                   RunExperiment});
  verbs.push_back(
      {"hyperopt", "performs hyperparameter optimization",
       Join({ConfigFlags(),
             DatasetFlags(),
             OutputFlags("hyperopt"),
             TrainSkipFlags(),
             EvalSkipFlags(),
             {Bool("skip_save_hyperopt_statistics", "sshs", "do not save hyperopt_statistics.json"),
              Value("hyperopt_log_verbosity", "hlv", "verbosity of the hyperopt log", "3"),
              Value("resume", "", "continue the hyperopt run found in the output directory", "auto",
                    {"auto", "true", "false"})},
             ServerJobFlags(),
             JobEventsFlags(),
             Common()}),
       RunHyperopt});
  verbs.push_back(
      {"hyperopt_trial", "(internal) runs one trial for `tristage hyperopt`",
       Join({{Value("trial_spec", "", "the trial_spec.json written by hyperopt")}, JobEventsFlags(),
             Common()}),
       RunHyperoptTrial, /*positional=*/false, /*hidden=*/true});
  verbs.push_back(
      {"export_torchscript",
       "exports the model as preprocessor, predictor and postprocessor stages",
       Join({{Value("model_path", "m", "model directory to export"),
              Bool("model_only", "mo", "export the predictor stage alone"),
              Value("stage", "",
                    "all: the three stages; predictor: the predictor alone (as --model_only), "
                    "which another tristage-server serves as a remote predictor",
                    "all", {"all", "predictor"}),
              Value("output_path", "op", "directory to write the stages to"),
              Value("device", "d", "device the predictor is placed on", "cpu", {"cpu", "cuda"})},
             JobEventsFlags(),
             Common()}),
       RunExportTorchscript});
  verbs.push_back(
      {"export_triton", "writes a Triton model repository serving the predictor (pytorch_libtorch)",
       Join({{Value("model_path", "m", "model directory to export"),
              Value("output_path", "op", "the Triton model repository to write into"),
              Value("model_name", "mn", "the model's name in the repository", "ludwig_model"),
              Value("model_version", "mv", "the version to write (a positive integer)", "1"),
              Value("device", "d", "where Triton runs the predictor (instance_group kind)", "cpu",
                    {"cpu", "cuda"}),
              Value("max_batch_size", "",
                    "rows Triton may batch into one call; 0: no batching, the predictor's shapes",
                    "64"),
              Value("max_queue_delay_microseconds", "",
                    "how long Triton's dynamic batcher waits for more rows", "0")},
             JobEventsFlags(),
             Common()}),
       RunExportTriton});
  verbs.push_back(
      {"preprocess", "preprocesses data and saves it as the training cache",
       Join({{Value("preprocessing_config", "pc", "preprocessing configuration file"),
              Value("preprocessing_config_str", "pcs", "preprocessing configuration string")},
             DatasetFlags(),
             {Value("random_seed", "rs", "seed for the split", "42")},
             Common()}),
       RunPreprocess});
  verbs.push_back({"collect_summary", "prints the model's layers and parameter counts",
                   Join({{Value("model_path", "m", "model directory to load")}, Common()}),
                   RunCollectSummary});
  verbs.push_back(
      {"collect_weights", "saves the model's tensors as files",
       Join({{Value("model_path", "m", "model directory to load"),
              List("tensors", "t", "names of the tensors to collect"),
              Value("output_directory", "od", "directory to write the tensors to", "results")},
             Common()}),
       RunCollectWeights});
  verbs.push_back(
      {"collect_activations", "saves the activations of chosen layers for a dataset",
       Join({{Value("dataset", "", "input data file"),
              Value("data_format", "", "format of the input data", "auto", kDataFormats),
              Value("split", "s", "the split to use", "full", kSplits),
              Value("model_path", "m", "model directory to load"),
              List("layers", "lyr", "names of the layers to collect"),
              Value("output_directory", "od", "directory to write the activations to", "results"),
              Value("batch_size", "bs", "size of batches", "128"), List("gpus", "g", "GPUs")},
             Common()}),
       RunCollectActivations});
  verbs.push_back({"synthesize_dataset", "creates synthetic data for a set of features",
                   Join({{Value("output_path", "od", "output CSV file"),
                          Value("dataset_size", "d", "number of rows", "100"),
                          Value("features", "f", "list of features to generate, as YAML or JSON"),
                          Value("config", "c", "model configuration whose features to generate")},
                         Common()}),
                   RunSynthesizeDataset});
  verbs.push_back(
      {"render_config", "prints the fully resolved configuration with every default",
       Join({ConfigFlags(), {Value("output", "o", "output file (default: stdout)")}, Common()}),
       RunRenderConfig});
  verbs.push_back(
      {"init_config", "writes a starting configuration inferred from a dataset",
       Join({{Value("dataset", "", "input data file"),
              Value("data_format", "", "format of the input data", "auto", kDataFormats),
              List("target", "", "name(s) of the output column(s)"),
              Value("output", "o", "output file (default: stdout)")},
             Common()}),
       RunInitConfig});
  verbs.push_back({"check_install",
                   "reports BLAS, threads, CUDA and library versions, and times a matmul", Common(),
                   RunCheckInstall});
  verbs.push_back({"health", "checks a daemon's gRPC health (exit 0 when SERVING)",
                   Join({{Value("server", "", "daemon address host:port", "127.0.0.1:8001"),
                          Value("service", "", "service to check; empty for the whole server"),
                          Value("timeout_s", "", "seconds to wait for the answer", "5")},
                         Common()}),
                   RunHealth});
  verbs.push_back(
      {"jobs",
       "lists, shows, follows or cancels jobs on a daemon: jobs list|get ID|watch ID|cancel ID",
       Join({{Value("server", "", "daemon address host:port", "127.0.0.1:8001"),
              Value("auth_token_file", "", "file holding the daemon's bearer token"),
              Value("state", "", "list: only jobs in this state", "",
                    {"QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"})},
             Common()}),
       RunJobs, /*positional=*/true});
  verbs.push_back({"version", "prints the tristage version", Common(), RunVersion});
  return verbs;
}

std::vector<std::string> VerbNames() {
  std::vector<std::string> names;
  for (const Verb& verb : Verbs()) names.push_back(verb.name);
  return names;
}

void PrintUsage(std::ostream& os) {
  os << "usage: tristage <verb> [flags]\n\nverbs:\n";
  for (const Verb& verb : Verbs()) {
    if (verb.hidden) continue;
    os << "  " << verb.name << std::string(22 - std::min<size_t>(verb.name.size(), 20), ' ')
       << verb.summary << "\n";
  }
  os << "\nrun 'tristage <verb> --help' for a verb's flags\n";
}

// The writer RunCli opened for the running verb. The CLI runs one verb per process (tests run
// several in turn, each RunCli replacing it), so a plain global suffices.
std::unique_ptr<job_protocol::EventWriter>& CurrentJobEvents() {
  static auto* writer = new std::unique_ptr<job_protocol::EventWriter>();
  return *writer;
}

// The descriptor of `--job_events_fd N` (or `=N`) among the raw arguments, looked up before the
// flags are parsed so that a flag mistake is reported on the channel too. -1 when absent.
absl::StatusOr<int> JobEventsFd(const std::vector<std::string>& args) {
  const std::string flag = absl::StrCat("--", job_protocol::kEventsFdFlag);
  for (size_t i = 0; i < args.size(); ++i) {
    std::string value;
    if (args[i] == flag && i + 1 < args.size()) {
      value = args[i + 1];
    } else if (absl::StartsWith(args[i], flag + "=")) {
      value = args[i].substr(flag.size() + 1);
    } else {
      continue;
    }
    int fd = -1;
    if (!absl::SimpleAtoi(value, &fd)) {
      return absl::InvalidArgumentError(
          absl::StrCat(flag, ": '", value, "' is not a descriptor number"));
    }
    return fd;
  }
  return -1;
}

void WriteError(const absl::Status& status) {
  if (JobEvents() != nullptr) JobEvents()->Write(job_protocol::MakeError(status)).IgnoreError();
}

// -l/--logging_level (Ludwig's levels) and -g/--gpus, for every verb that takes them.
absl::Status ApplyCommonFlags(const std::string& verb, const ParsedFlags& flags, std::ostream& err) {
  // Ludwig's names onto ours: critical is error, notset shows everything from info up. Set on
  // every run (tests run several verbs in one process).
  const std::string level = flags.GetOr("logging_level", "info");
  const std::string name = level == "critical" ? "error" : level == "notset" ? "info" : level;
  absl::StatusOr<LogLevel> parsed = ParseLogLevel(name);
  if (!parsed.ok()) return absl::InvalidArgumentError("--logging_level: " + level);
  SetMinLogLevel(*parsed);
  if (flags.Has("gpus")) {
    for (const std::string& gpu : flags.GetList("gpus")) {
      int index = 0;
      if (!absl::SimpleAtoi(gpu, &index) || index < 0 || index > 1023) {
        return absl::InvalidArgumentError(
            absl::StrCat("--gpus: '", gpu.substr(0, 32), "' is not a GPU index"));
      }
    }
    // Ludwig falls back to the CPU when it has no GPU; the engine computes on the CPU always
    // (exported predictors can run on CUDA: export_torchscript --device, serving.yaml).
    const bool cuda = CollectSystemInfo().cuda_available;
    if (MinLogLevel() <= LogLevel::kWarning) {
      err << "tristage " << verb << ": --gpus: "
          << (cuda ? "the engine trains and predicts on the CPU; running on the CPU"
                   : "no CUDA device is available (this libtorch has no CUDA, or the machine "
                     "no GPU); running on the CPU")
          << "\n";
    }
  }
  return absl::OkStatus();
}

}  // namespace

int Fail(const VerbContext& context, const std::string& verb, const absl::Status& status) {
  context.err << "tristage " << verb << ": " << status.message() << "\n";
  WriteError(status);
  return kExitFailure;
}

int Usage(const VerbContext& context, const std::string& verb, const std::string& message) {
  context.err << "tristage " << verb << ": " << message << "\nrun 'tristage " << verb
              << " --help' for its flags\n";
  WriteError(absl::InvalidArgumentError(message));
  return kExitUsage;
}

job_protocol::EventWriter* JobEvents() {
  return CurrentJobEvents().get();
}

int Succeed(const std::string& model_dir, const std::string& output_dir) {
  if (JobEvents() == nullptr) return kExitOk;
  job_protocol::Result result;
  result.model_dir = model_dir;
  result.output_dir = output_dir;
  for (std::string* path : {&result.model_dir, &result.output_dir}) {
    std::error_code ec;
    if (!path->empty()) *path = std::filesystem::absolute(*path, ec).lexically_normal().string();
  }
  JobEvents()->Write(job_protocol::MakeResult(std::move(result))).IgnoreError();
  return kExitOk;
}

const std::vector<Verb>& Verbs() {
  static const auto* verbs = new std::vector<Verb>(BuildVerbs());
  return *verbs;
}

const Verb* FindVerb(const std::string& name) {
  for (const Verb& verb : Verbs()) {
    if (verb.name == name) return &verb;
  }
  return nullptr;
}

int RunCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty()) {
    PrintUsage(err);
    return kExitUsage;
  }
  const std::string& name = args.front();
  if (name == "-h" || name == "--help" || name == "help") {
    PrintUsage(out);
    return kExitOk;
  }
  if (name == "--version") return RunVersion({ParsedFlags(), out, err});
  const Verb* verb = FindVerb(name);
  if (verb == nullptr) {
    err << "tristage: unknown verb '" << name << "'" << DidYouMean(name, VerbNames())
        << "\nrun 'tristage --help' for the list of verbs\n";
    return kExitUsage;
  }
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  CurrentJobEvents().reset();
  absl::StatusOr<int> events_fd = JobEventsFd(rest);
  if (events_fd.ok() && *events_fd >= 0) {
    auto writer = job_protocol::EventWriter::ForFd(*events_fd);
    if (writer.ok()) {
      CurrentJobEvents() = *std::move(writer);
    } else {
      events_fd = writer.status();
    }
  }
  if (!events_fd.ok()) {
    err << "tristage " << verb->name << ": " << events_fd.status().message() << "\n";
    return kExitUsage;
  }
  auto flags = ParseFlags(verb->flags, rest, verb->positional);
  if (!flags.ok()) {
    return Usage({ParsedFlags(), out, err}, verb->name, std::string(flags.status().message()));
  }
  if (absl::Status applied = ApplyCommonFlags(verb->name, *flags, err); !applied.ok()) {
    return Usage({*flags, out, err}, verb->name, std::string(applied.message()));
  }
  if (flags->GetBool("help")) {
    out << "usage: tristage " << verb->name << " [flags]\n\n"
        << verb->summary << "\n\nflags:\n"
        << FormatFlagsHelp(verb->flags);
    return kExitOk;
  }
  return verb->handler({*flags, out, err, &rest});
}

}  // namespace tristage::cli
