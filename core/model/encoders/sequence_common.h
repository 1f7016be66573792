// Pieces shared by the text and sequence encoders (embed, parallel_cnn, rnn, stacked_cnn,
// stacked_parallel_cnn, cnnrnn, transformer, passthrough): token embedding, the recurrent stack,
// and the one place that applies `reduce_output` and the encoder's fully connected stack.
//
// Generated forward sources use these variables: `x` the int64 [batch, length] token ids (0 is
// padding), `mask` float [batch, length, 1] (1 for a token, 0 for padding), `h` the float
// [batch, length, width] hidden sequence. A stage that changes the length (a strided convolution,
// pooling) must recompute `mask` for the new length.
// Internal to core/model; includes torch.
#ifndef TRISTAGE_CORE_MODEL_ENCODERS_SEQUENCE_COMMON_H_
#define TRISTAGE_CORE_MODEL_ENCODERS_SEQUENCE_COMMON_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/model/registry.h"
#include "nlohmann/json.hpp"

namespace tristage::model {

// Refuses a weight tensor of more than 2^26 values (256 MB of float32) before it is allocated, so
// a hostile or mistyped size (num_filters 16384 with filter_size 1024, hidden_size 16384, ...)
// fails as InvalidArgument naming `key` instead of exhausting memory. `dims` are the tensor's.
absl::Status CheckWeightCount(const std::string& key, const std::vector<int64_t>& dims);

// Registers the vocabulary table "embeddings" (embedding_size defaulting to 256, capped at the
// vocabulary; `weights_initializer`) and returns source setting x, mask and h = the embedded tokens
// with the encoder's `dropout`. Sets *dim to the embedding width. InvalidArgument for a
// representation other than dense.
absl::StatusOr<std::string> EmbedTokens(const EncoderArgs& args, torch::jit::Module& module,
                                        int64_t* dim);

// The sequence length the encoder's input has: the metadata's max_sequence_length (>= 1).
absl::StatusOr<int64_t> SequenceLength(const EncoderArgs& args);

// Source reducing h [batch, length, width] (padding marked by `mask`) to [batch, width'] as
// `how` says: sum, mean/avg, sqrtn, max, last, concat, or "none" (Ludwig's null: no reduction; the
// ECD needs one vector per row, so the sequence is flattened as Ludwig's concat combiner flattens
// an unreduced encoder output). Sets *width to width'. InvalidArgument naming reduce_output for
// other values.
absl::StatusOr<std::string> ReduceSequence(const std::string& how, int64_t length, int64_t* width);

// The encoder's reduce_output: "none" when it is explicitly null, `default_reduce` when absent.
absl::StatusOr<std::string> ReduceOutputOf(const nlohmann::json& params,
                                           const std::string& default_reduce);

struct FinishOptions {
  std::string default_reduce = "sum";
  int64_t default_fc_layers = 0;
  // Replaces the encoder's params for the fully connected stack (e.g. fc_activation as
  // activation, Ludwig's default fc_layers); merged over the encoder's params.
  nlohmann::json fc_overrides = nlohmann::json::object();
};

// Finishes an encoder whose `source` leaves h [batch, length, width] and mask: the reduction, the
// fully connected stack, and compiling forward(self, x). `what` names the encoder in errors.
// Unreduced (reduce_output: null), there is no fully connected stack, as in Ludwig: the defaults'
// stack is dropped, one the params ask for is InvalidArgument naming num_fc_layers.
absl::StatusOr<Built> FinishSequenceEncoder(const EncoderArgs& args, Built built,
                                            std::string source, int64_t width, int64_t length,
                                            const FinishOptions& options, const char* what);

// Ludwig's RecurrentStack: rnn (tanh or relu), lstm or gru cells, stacked and optionally
// bidirectional, on h [batch, length, input]. Appends its source to *source and returns the output
// width (state_size, doubled when bidirectional).
struct RecurrentSpec {
  std::string cell_type = "rnn";
  int64_t num_layers = 1;
  int64_t state_size = 256;
  bool bidirectional = false;
  std::string activation = "tanh";
  double recurrent_dropout = 0.0;
  bool use_bias = true;
  bool unit_forget_bias = true;
  std::string weights_initializer = "xavier_uniform";
  std::string recurrent_initializer = "orthogonal";
};
// Reads the spec from encoder params; `layers_key` is num_layers (rnn) or num_rec_layers (cnnrnn).
absl::StatusOr<RecurrentSpec> RecurrentSpecFromParams(const nlohmann::json& params,
                                                      const std::string& layers_key);
absl::StatusOr<int64_t> AddRecurrentStack(torch::jit::Module& module, const RecurrentSpec& spec,
                                          int64_t input_size, std::string* source);

}  // namespace tristage::model

#endif  // TRISTAGE_CORE_MODEL_ENCODERS_SEQUENCE_COMMON_H_
