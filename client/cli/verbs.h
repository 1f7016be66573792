// The `tristage` CLI's verb table: Ludwig's verbs with Ludwig's flags, plus `health`.
//
// A verb with no handler is declared (so its --help and flag checking already work) but not built
// yet: running it prints that on stderr and exits kExitNotBuilt.
#ifndef TRISTAGE_CLIENT_CLI_VERBS_H_
#define TRISTAGE_CLIENT_CLI_VERBS_H_

#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "core/util/flags.h"

namespace tristage::cli {

// Process exit codes, stable for scripts.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;   // the command ran and failed (bad data, server down).
inline constexpr int kExitUsage = 2;     // unknown verb or flag, missing or invalid value.
inline constexpr int kExitNotBuilt = 3;  // the verb exists but is not implemented yet.

struct VerbContext {
  const ParsedFlags& flags;
  std::ostream& out;
  std::ostream& err;
};

using VerbHandler = std::function<int(const VerbContext&)>;

struct Verb {
  std::string name;
  std::string summary;
  std::vector<FlagSpec> flags;  // includes -h/--help.
  VerbHandler handler;          // empty: not built yet.
  bool positional = false;      // takes bare words (ParsedFlags::positional), e.g. `jobs list`
};

// Every verb, in the order `tristage --help` lists them.
const std::vector<Verb>& Verbs();

const Verb* FindVerb(const std::string& name);

// Runs the CLI on argv without the program name; writes to out/err and returns the exit code.
int RunCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

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
int RunSynthesizeDataset(const VerbContext& context);
int RunCollectSummary(const VerbContext& context);
int RunCollectWeights(const VerbContext& context);
int RunPreprocess(const VerbContext& context);
int RunInitConfig(const VerbContext& context);
int RunCollectActivations(const VerbContext& context);
// job_verbs.cc: `train|experiment|evaluate --server` as daemon jobs; `jobs list|get|watch|cancel`.
int RunRemoteJob(const VerbContext& context, const std::string& verb);
int RunJobs(const VerbContext& context);

}  // namespace tristage::cli

#endif  // TRISTAGE_CLIENT_CLI_VERBS_H_
