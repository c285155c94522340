#include "cloister/core/error.h"

#include <array>

namespace cloister {
namespace {

constexpr std::array kTable{
#define CLOISTER_ERROR(name, status, description) ErrorInfo{ErrorCode::name, #name, status, description},
#include "cloister/core/error_codes.inc"
#undef CLOISTER_ERROR
};

}  // namespace

std::span<const ErrorInfo> all_error_codes() { return kTable; }

const ErrorInfo& error_info(ErrorCode code) {
  auto index = static_cast<std::size_t>(code);
  return index < kTable.size() ? kTable[index] : kTable[0];
}

std::string_view error_name(ErrorCode code) { return error_info(code).name; }
int http_status(ErrorCode code) { return error_info(code).http_status; }

const ErrorInfo* find_error_code(std::string_view name) {
  for (const auto& info : kTable) {
    if (info.name == name) return &info;
  }
  return nullptr;
}

std::string Error::to_string() const {
  std::string out(name());
  if (!detail.empty()) {
    out += ": ";
    out += detail;
  }
  return out;
}

}  // namespace cloister
