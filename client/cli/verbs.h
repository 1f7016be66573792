// The `tristage` CLI's verb table: Ludwig's verbs with Ludwig's flags, plus `health`, `jobs` and
// the internal `hyperopt_trial`.
#ifndef TRISTAGE_CLIENT_CLI_VERBS_H_
#define TRISTAGE_CLIENT_CLI_VERBS_H_

#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/api/distributed.h"
#include "core/util/flags.h"
#include "core/util/job_protocol.h"

namespace tristage::cli {

// Process exit codes, stable for scripts.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the command ran and failed (bad data, server down).
inline constexpr int kExitUsage = 2;    // unknown verb or flag, missing or invalid value.

struct VerbContext {
  const ParsedFlags& flags;
  std::ostream& out;
  std::ostream& err;
  // The verb's raw arguments (after the verb name), for a verb that starts copies of itself.
  const std::vector<std::string>* args = nullptr;
};

using VerbHandler = std::function<int(const VerbContext&)>;

struct Verb {
  std::string name;
  std::string summary;
  std::vector<FlagSpec> flags;  // includes -h/--help.
  VerbHandler handler;
  bool positional = false;  // takes bare words (ParsedFlags::positional), e.g. `jobs list`
  bool hidden = false;      // internal: not listed by `tristage --help`
};

// Every verb, in the order `tristage --help` lists them.
const std::vector<Verb>& Verbs();

const Verb* FindVerb(const std::string& name);

// Runs the CLI on argv without the program name; writes to out/err and returns the exit code.
int RunCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// "tristage <verb>: <message>" on err (and an error event with --job_events_fd); returns
// kExitFailure.
int Fail(const VerbContext& context, const std::string& verb, const absl::Status& status);
// The same plus a pointer to the verb's --help; returns kExitUsage.
int Usage(const VerbContext& context, const std::string& verb, const std::string& message);

// The job protocol writer of this run (`--job_events_fd N`, given by the daemon to its jobs and by
// hyperopt to its trials: docs/jobs.md), or null. Set by RunCli for the verb it runs.
job_protocol::EventWriter* JobEvents();
// A verb that succeeded reports what it made with a result event (no-op without a writer): the
// trained model's directory (empty: none) and where it wrote its files, made absolute. Returns
// kExitOk.
int Succeed(const std::string& model_dir, const std::string& output_dir);

// Handlers, one file each.
int RunCheckInstall(const VerbContext& context);
int RunVersion(const VerbContext& context);
int RunHealth(const VerbContext& context);
int RunRenderConfig(const VerbContext& context);
int RunTrain(const VerbContext& context);
int RunExperiment(const VerbContext& context);
int RunEvaluate(const VerbContext& context);
int RunPredict(const VerbContext& context);
int RunExportTorchscript(const VerbContext& context);
int RunExportTriton(const VerbContext& context);
int RunSynthesizeDataset(const VerbContext& context);
int RunCollectSummary(const VerbContext& context);
int RunCollectWeights(const VerbContext& context);
int RunPreprocess(const VerbContext& context);
int RunInitConfig(const VerbContext& context);
int RunCollectActivations(const VerbContext& context);
int RunHyperopt(const VerbContext& context);
int RunHyperoptTrial(const VerbContext& context);
// distributed_launch.cc: with --nproc_per_node N (or a config whose backend asks for N workers)
// and no WORLD_SIZE in the environment, starts the N workers of `verb` and returns the exit code;
// nullopt when this process should train itself (alone, or as one worker of a run).
std::optional<int> LaunchDistributed(const VerbContext& context, const std::string& verb);
// The worker's place in a run from the environment and --dist_timeout.
absl::StatusOr<WorldInfo> WorkerWorld(const ParsedFlags& flags);
// A worker of a distributed run that failed because another rank did (Unavailable: a collective
// or the store broke; Aborted: rank 0 reported a failure) exits with platform::kExitPeerLost, so
// the launcher blames the others.
int FailWorker(const VerbContext& context, const std::string& verb, const WorldInfo& world,
               const absl::Status& status);

// job_verbs.cc: `train|experiment|evaluate|hyperopt --server` as daemon jobs; `jobs list|get|watch|cancel`.
int RunRemoteJob(const VerbContext& context, const std::string& verb);
int RunJobs(const VerbContext& context);

}  // namespace tristage::cli

#endif  // TRISTAGE_CLIENT_CLI_VERBS_H_
