#include "server/rpc/wire.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "core/util/log.h"
#include "google/protobuf/stubs/logging.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "grpcpp/support/proto_buffer_reader.h"
#include "grpcpp/support/proto_buffer_writer.h"

namespace tristage::server {
namespace {

// Set by ParseRequest on its thread for the length of one parse: where protobuf's complaint goes.
thread_local std::string* parse_complaint = nullptr;

void ProtobufLog(google::protobuf::LogLevel level, const char* file, int line,
                 const std::string& message) {
  if (message.find("invalid UTF-8") != std::string::npos) {
    if (parse_complaint != nullptr && parse_complaint->empty()) *parse_complaint = message;
    TRISTAGE_LOG(Debug) << "protobuf: " << message;
    return;
  }
  switch (level) {
    case google::protobuf::LOGLEVEL_INFO:
      TRISTAGE_LOG(Info) << "protobuf " << file << ":" << line << ": " << message;
      break;
    case google::protobuf::LOGLEVEL_WARNING:
      TRISTAGE_LOG(Warning) << "protobuf " << file << ":" << line << ": " << message;
      break;
    default:
      TRISTAGE_LOG(Error) << "protobuf " << file << ":" << line << ": " << message;
      break;
  }
}

// "String field 'a.b.C.name' contains invalid UTF-8 data when parsing ..." -> "a.b.C.name".
std::string FieldOf(const std::string& complaint) {
  const size_t open = complaint.find('\'');
  const size_t close = open == std::string::npos ? open : complaint.find('\'', open + 1);
  if (close == std::string::npos) return "";
  return complaint.substr(open + 1, close - open - 1);
}

// "/pkg.Service/Method" -> the full name of Method's input message, or "" if unknown.
std::string InputTypeOf(const char* method_path) {
  std::string path = method_path == nullptr ? "" : method_path;
  const size_t slash = path.rfind('/');
  if (path.size() < 2 || path[0] != '/' || slash == 0 || slash == std::string::npos) return "";
  const std::string full = absl::StrCat(path.substr(1, slash - 1), ".", path.substr(slash + 1));
  const google::protobuf::MethodDescriptor* method =
      google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(full);
  return method == nullptr ? "" : method->input_type()->full_name();
}

class BadBodyInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit BadBodyInterceptor(std::string input_type) : input_type_(std::move(input_type)) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      const grpc::Status status = methods->GetSendStatus();
      if (status.error_code() == grpc::StatusCode::INTERNAL && status.error_message().empty()) {
        methods->ModifySendStatus(grpc::Status(
            grpc::StatusCode::INVALID_ARGUMENT,
            absl::StrCat("the request body is not a valid ", input_type_,
                         " (unparsable bytes, or a string field that is not UTF-8)")));
      }
    }
    methods->Proceed();
  }

 private:
  const std::string input_type_;
};

class BadBodyFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit BadBodyFactory(std::string prefix) : prefix_(std::move(prefix)) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    const char* method = info->method();
    if (method == nullptr || !absl::StartsWith(method, prefix_)) return nullptr;
    std::string input_type = InputTypeOf(method);
    if (input_type.empty()) return nullptr;
    return new BadBodyInterceptor(std::move(input_type));
  }

 private:
  const std::string prefix_;
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> BadBodyInterceptorFactory(
    std::string method_prefix) {
  return std::make_unique<BadBodyFactory>(std::move(method_prefix));
}

void InstallProtobufLogHandler() {
  google::protobuf::SetLogHandler(&ProtobufLog);
}

absl::Status ParseRequest(const grpc::ByteBuffer& bytes, google::protobuf::Message& message) {
  message.Clear();
  grpc::ByteBuffer copy(bytes);  // shares the slices; the reader needs a mutable buffer
  grpc::ProtoBufferReader reader(&copy);
  if (!reader.status().ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the request body cannot be read: ", reader.status().error_message()));
  }
  std::string complaint;
  parse_complaint = &complaint;
  const bool parsed = message.ParseFromZeroCopyStream(&reader);
  parse_complaint = nullptr;
  if (parsed) return absl::OkStatus();
  const std::string type = message.GetDescriptor()->full_name();
  const std::string field = FieldOf(complaint);
  if (!field.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": not valid UTF-8 (string fields must be UTF-8)"));
  }
  return absl::InvalidArgumentError(absl::StrCat("the request body is not a valid ", type,
                                                 " (", bytes.Length(), " bytes)"));
}

absl::Status SerializeResponse(const google::protobuf::Message& message, grpc::ByteBuffer& bytes) {
  bool own_buffer = false;
  const grpc::Status status =
      grpc::GenericSerialize<grpc::ProtoBufferWriter, google::protobuf::Message>(message, &bytes,
                                                                               &own_buffer);
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat("serializing the ", message.GetDescriptor()->full_name(),
                                            ": ", status.error_message()));
  }
  return absl::OkStatus();
}

}  // namespace tristage::server
