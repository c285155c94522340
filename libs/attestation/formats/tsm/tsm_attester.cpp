#include "formats/tsm/tsm_attester.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "cloister/crypto/random.h"
#include "cloister/crypto/hash.h"
#include "formats/snp/snp_report.h"

namespace cloister::attestation::tsm {
namespace {

constexpr std::size_t kInblobSize = 64;
constexpr std::size_t kMaxTextAttributeSize = 256;
// Report data inside a TDX quote: v4 body at 48, v5 body at 54; REPORTDATA at body offset 520.
constexpr std::size_t kTdxReportDataInBody = 520;

std::string errno_text(int error) { return std::strerror(error); }

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
  // Closes now and reports close()'s result (configfs commits a written attribute on release).
  int close() {
    const int result = ::close(fd_);
    fd_ = -1;
    return result;
  }

 private:
  int fd_;
};

// Reads the whole attribute. nullopt content with errno ENOENT when `missing_ok` and it is absent.
Result<std::optional<crypto::Bytes>> read_attribute(const std::filesystem::path& path, std::size_t max_size,
                                                    bool missing_ok = false) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    const int error = errno;
    if (missing_ok && error == ENOENT) return std::optional<crypto::Bytes>{};
    return fail(ErrorCode::io_error, "cannot open " + path.string() + ": " + errno_text(error));
  }
  crypto::Bytes content;
  std::uint8_t buffer[4096];
  for (;;) {
    const ssize_t count = ::read(fd.get(), buffer, sizeof buffer);
    if (count < 0) {
      if (errno == EINTR) continue;
      return fail(ErrorCode::io_error, "cannot read " + path.string() + ": " + errno_text(errno));
    }
    if (count == 0) break;
    content.insert(content.end(), buffer, buffer + count);
    if (content.size() > max_size) return fail(ErrorCode::io_error, path.string() + " is larger than expected");
  }
  return std::optional<crypto::Bytes>(std::move(content));
}

Result<std::string> read_text_attribute(const std::filesystem::path& path) {
  auto content = read_attribute(path, kMaxTextAttributeSize);
  if (!content) return std::unexpected(content.error());
  std::string text((*content)->begin(), (*content)->end());
  while (!text.empty() && (text.back() == '\n' || text.back() == '\0')) text.pop_back();
  return text;
}

Result<std::uint64_t> read_generation(const std::filesystem::path& directory) {
  auto text = read_text_attribute(directory / "generation");
  if (!text) return std::unexpected(text.error());
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (error != std::errc() || end != text->data() + text->size() || text->empty()) {
    return fail(ErrorCode::io_error, (directory / "generation").string() + " is not a decimal number");
  }
  return value;
}

// One write() of the whole buffer (configfs takes an attribute in one write), then close().
Status write_attribute(const std::filesystem::path& path, crypto::BytesView data) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (fd.get() < 0) return fail(ErrorCode::io_error, "cannot open " + path.string() + ": " + errno_text(errno));
  std::size_t written = 0;
  while (written < data.size()) {
    const ssize_t count = ::write(fd.get(), data.data() + written, data.size() - written);
    if (count < 0) {
      if (errno == EINTR) continue;
      return fail(ErrorCode::io_error, "cannot write " + path.string() + ": " + errno_text(errno));
    }
    written += static_cast<std::size_t>(count);
  }
  if (fd.close() != 0) return fail(ErrorCode::io_error, "cannot write " + path.string() + ": " + errno_text(errno));
  return {};
}

// The report data inside an outblob, or an error naming why there is none.
Result<crypto::BytesView> report_data_in(std::string_view format, crypto::BytesView outblob) {
  if (format == snp::kFormatId) {
    if (outblob.size() != snp::kReportSize) {
      return fail(ErrorCode::evidence_malformed, "the sev_guest outblob is " + std::to_string(outblob.size()) +
                                                     " bytes, not an SNP report");
    }
    return outblob.subspan(snp::kReportDataOffset, snp::kReportDataSize);
  }
  // tdx: a DCAP quote v4 (body at 48) or v5 (body type u16 at 48, size u32 at 50, body at 54).
  if (outblob.size() < 2) return fail(ErrorCode::evidence_malformed, "the tdx_guest outblob is too short");
  const unsigned version = outblob[0] | (outblob[1] << 8);
  std::size_t body = 0;
  if (version == 4) {
    body = 48;
  } else if (version == 5) {
    if (outblob.size() < 54) return fail(ErrorCode::evidence_malformed, "the tdx_guest outblob is too short");
    const unsigned body_type = outblob[48] | (outblob[49] << 8);
    if (body_type != 2 && body_type != 3) {
      return fail(ErrorCode::evidence_malformed, "the tdx_guest quote v5 has body type " + std::to_string(body_type));
    }
    body = 54;
  } else {
    return fail(ErrorCode::evidence_malformed, "the tdx_guest outblob is not a quote v4/v5 (version " +
                                                   std::to_string(version) + ")");
  }
  const std::size_t offset = body + kTdxReportDataInBody;
  if (outblob.size() < offset + kInblobSize) return fail(ErrorCode::evidence_malformed, "the tdx_guest quote is truncated");
  return outblob.subspan(offset, kInblobSize);
}

std::string fresh_report_name() {
  static std::atomic<std::uint64_t> counter{0};
  const auto suffix = crypto::hex_encode(crypto::random_bytes(4));
  return "cloister-" + std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1)) + "-" + suffix;
}

}  // namespace

Result<TsmReport> request_report(const std::filesystem::path& directory, crypto::BytesView inblob,
                                 std::string_view expected_provider, std::optional<std::uint32_t> privlevel,
                                 bool read_auxblob) {
  if (inblob.size() > kInblobSize) return fail(ErrorCode::invalid_argument, "inblob is at most 64 bytes");
  if (privlevel && *privlevel > 3) return fail(ErrorCode::invalid_argument, "privlevel is 0..3");
  TsmReport report;
  auto provider = read_text_attribute(directory / "provider");
  if (!provider) return std::unexpected(provider.error());
  report.provider = std::move(*provider);
  if (!expected_provider.empty() && report.provider != expected_provider) {
    return fail(ErrorCode::unsupported_format, "configfs-tsm provider is \"" + report.provider.substr(0, 32) +
                                                   "\", not " + std::string(expected_provider));
  }
  auto before = read_generation(directory);
  if (!before) return std::unexpected(before.error());
  report.generation_before = *before;

  std::uint64_t writes = 0;
  if (privlevel) {
    const std::string text = std::to_string(*privlevel) + "\n";
    if (auto written = write_attribute(directory / "privlevel", crypto::as_bytes(text)); !written) {
      return std::unexpected(written.error());
    }
    ++writes;
  }
  if (auto written = write_attribute(directory / "inblob", inblob); !written) return std::unexpected(written.error());
  ++writes;

  auto outblob = read_attribute(directory / "outblob", kMaxBlobSize);
  if (!outblob) return std::unexpected(outblob.error());
  report.outblob = std::move(**outblob);
  if (read_auxblob) {
    auto auxblob = read_attribute(directory / "auxblob", kMaxBlobSize, /*missing_ok=*/true);
    if (!auxblob) return std::unexpected(auxblob.error());
    if (*auxblob) report.auxblob = std::move(**auxblob);
  }

  auto after = read_generation(directory);
  if (!after) return std::unexpected(after.error());
  report.generation_after = *after;
  if (report.generation_after != report.generation_before + writes) {
    return fail(ErrorCode::conflict, "configfs-tsm generation went from " + std::to_string(report.generation_before) +
                                         " to " + std::to_string(report.generation_after) + " over our " +
                                         std::to_string(writes) + " write(s): another writer raced this request");
  }
  return report;
}

Result<TsmAttester> TsmAttester::create(std::string_view format, TsmAttesterOptions options) {
  std::string provider;
  if (format == snp::kFormatId) {
    provider = std::string(kProviderSev);
  } else if (format == "tdx") {
    provider = std::string(kProviderTdx);
    if (options.privlevel) return fail(ErrorCode::invalid_argument, "privlevel applies to snp only");
  } else {
    return fail(ErrorCode::unsupported_format, "configfs-tsm produces tdx or snp evidence, not " + std::string(format));
  }
  if (options.max_attempts < 1 || options.max_attempts > 10) {
    return fail(ErrorCode::invalid_argument, "max_attempts is 1..10");
  }
  if (options.privlevel && *options.privlevel > 3) return fail(ErrorCode::invalid_argument, "privlevel is 0..3");
  if (options.report_name.find('/') != std::string::npos || options.report_name == "." || options.report_name == "..") {
    return fail(ErrorCode::invalid_argument, "report_name must be a plain directory name");
  }
  std::error_code error;
  if (!std::filesystem::is_directory(options.root, error)) {
    return fail(ErrorCode::unavailable, "configfs-tsm is not available at " + options.root.string());
  }
  return TsmAttester(std::string(format), std::move(provider), std::move(options));
}

std::string_view TsmAttester::format_id() const { return format_; }

Result<crypto::Bytes> TsmAttester::evidence(crypto::BytesView report_data) {
  if (report_data.size() != kInblobSize) return fail(ErrorCode::invalid_argument, "report data must be 64 bytes");
  Result<crypto::Bytes> result = fail(ErrorCode::internal, "no attempt");
  for (int attempt_number = 0; attempt_number < options_.max_attempts; ++attempt_number) {
    result = attempt(report_data);
    if (result || result.error().code != ErrorCode::conflict) return result;
  }
  return result;
}

Result<crypto::Bytes> TsmAttester::attempt(crypto::BytesView report_data) {
  const bool own_directory = options_.report_name.empty();
  const auto directory = options_.root / (own_directory ? fresh_report_name() : options_.report_name);
  if (own_directory && ::mkdir(directory.c_str(), 0700) != 0) {
    return fail(ErrorCode::io_error, "cannot create " + directory.string() + ": " + errno_text(errno));
  }
  struct Remove {
    const std::filesystem::path& path;
    bool active;
    ~Remove() {
      if (active) ::rmdir(path.c_str());  // best effort: configfs removes the attributes with it
    }
  } remove{directory, own_directory};

  const bool snp = format_ == snp::kFormatId;
  auto report = request_report(directory, report_data, provider_, snp ? options_.privlevel : std::nullopt,
                               snp && options_.include_auxblob);
  if (!report) return std::unexpected(report.error());
  auto carried = report_data_in(format_, report->outblob);
  if (!carried) return std::unexpected(carried.error());
  if (!std::equal(carried->begin(), carried->end(), report_data.begin(), report_data.end())) {
    return fail(ErrorCode::evidence_malformed, "the " + provider_ + " outblob does not carry the report data written");
  }
  crypto::Bytes evidence = std::move(report->outblob);
  if (snp && options_.include_auxblob && !report->auxblob.empty()) {
    auto table = snp::parse_cert_table(report->auxblob);
    if (!table) return fail(ErrorCode::evidence_malformed, "the sev_guest auxblob: " + table.error().detail);
    // A table without certificates adds nothing but (page-sized) zero padding.
    if (!table->empty()) evidence.insert(evidence.end(), report->auxblob.begin(), report->auxblob.end());
  }
  return evidence;
}

}  // namespace cloister::attestation::tsm
