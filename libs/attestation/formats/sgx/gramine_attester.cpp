#include "formats/sgx/gramine_attester.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <string>

#include "cloister/attestation/claims.h"
#include "formats/dcap/quote.h"
#include "formats/sgx/sgx_verifier.h"
#include "safe_text.h"

namespace cloister::attestation::sgx {
namespace {

constexpr std::size_t kMaxAttestationTypeSize = 64;

std::filesystem::path attestation_dir(const std::filesystem::path& root) { return root / "dev" / "attestation"; }

std::mutex& device_mutex() {
  static std::mutex mutex;
  return mutex;
}

std::string errno_text() { return std::strerror(errno); }

// A file descriptor closed on scope exit.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Writes all of `data` with one open (no O_CREAT, no O_TRUNC: Gramine's pseudo-file takes exactly 64
// bytes at offset 0).
Status write_pseudo_file(const std::filesystem::path& path, crypto::BytesView data) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (fd.get() < 0) return fail(ErrorCode::io_error, "cannot open " + path.string() + ": " + errno_text());
  std::size_t written = 0;
  while (written < data.size()) {
    const ssize_t count = ::write(fd.get(), data.data() + written, data.size() - written);
    if (count < 0 && errno == EINTR) continue;
    if (count <= 0) return fail(ErrorCode::io_error, "cannot write " + path.string() + ": " + errno_text());
    written += static_cast<std::size_t>(count);
  }
  return {};
}

Result<crypto::Bytes> read_pseudo_file(const std::filesystem::path& path, std::size_t max_size) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return fail(ErrorCode::io_error, "cannot open " + path.string() + ": " + errno_text());
  crypto::Bytes out;
  std::uint8_t buffer[4096];
  while (true) {
    const ssize_t count = ::read(fd.get(), buffer, sizeof buffer);
    if (count < 0 && errno == EINTR) continue;
    if (count < 0) return fail(ErrorCode::io_error, "cannot read " + path.string() + ": " + errno_text());
    if (count == 0) break;
    out.insert(out.end(), buffer, buffer + count);
    if (out.size() > max_size) return fail(ErrorCode::io_error, path.string() + " is larger than expected");
  }
  return out;
}

}  // namespace

Result<GramineAttester> GramineAttester::create(const GramineAttesterOptions& options) {
  const auto path = attestation_dir(options.root) / "attestation_type";
  auto type = read_pseudo_file(path, kMaxAttestationTypeSize);
  if (!type) {
    return fail(ErrorCode::io_error, "not running under Gramine with attestation (" + type.error().detail + ")");
  }
  std::string text(type->begin(), type->end());
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ' || text.back() == '\0')) {
    text.pop_back();
  }
  if (text != "dcap") {
    return fail(ErrorCode::config_invalid, "Gramine attestation type is \"" + attestation::detail::safe_text(text, 16) +
                                               "\", the sgx format needs \"dcap\" (sgx.remote_attestation)");
  }
  return GramineAttester(options.root);
}

std::string_view GramineAttester::format_id() const { return kFormatId; }

Result<crypto::Bytes> GramineAttester::evidence(crypto::BytesView report_data) {
  if (report_data.size() != kReportDataSize) return fail(ErrorCode::invalid_argument, "report data must be 64 bytes");
  std::lock_guard lock(device_mutex());
  const auto directory = attestation_dir(root_);
  if (auto written = write_pseudo_file(directory / "user_report_data", report_data); !written) {
    return std::unexpected(written.error());
  }
  auto quote = read_pseudo_file(directory / "quote", dcap::kMaxQuoteSize);
  if (!quote) return std::unexpected(quote.error());
  auto parsed = dcap::parse_quote(*quote);
  if (!parsed) return fail(ErrorCode::evidence_malformed, "Gramine returned no DCAP quote: " + parsed.error().detail);
  if (parsed->is_tdx()) return fail(ErrorCode::evidence_malformed, "Gramine returned a TDX quote");
  if (!std::equal(report_data.begin(), report_data.end(), parsed->report_data().begin())) {
    return fail(ErrorCode::internal, "the quote Gramine returned does not carry the report data just written");
  }
  return std::move(*quote);
}

}  // namespace cloister::attestation::sgx
