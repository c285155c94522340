// The configfs-tsm attester against a directory laid out like /sys/kernel/config/tsm/report/<name>,
// with a thread playing the kernel: `inblob` and `outblob` are FIFOs, so the "kernel" sees the
// write to inblob, bumps `generation` and only then serves outblob — the order a real kernel keeps.
// The outblobs are real evidence (../shared/vectors) whose report data the test writes as inblob.

#include <gtest/gtest.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <thread>

#include "cloister/attestation/format_registry.h"
#include "formats/snp/snp_report.h"
#include "formats/tsm/tsm_attester.h"
#include "snp_test_platform.h"
#include "test_support.h"

namespace cloister::attestation::tsm {
namespace {

namespace fs = std::filesystem;

void write_file(const fs::path& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}
std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The kernel side of one report directory.
class SimulatedKernel {
 public:
  struct Options {
    std::string provider = "sev_guest";
    crypto::Bytes outblob;
    std::optional<crypto::Bytes> auxblob;      // nullopt: no auxblob attribute
    std::vector<std::uint64_t> extra_writes;   // per request: writes by a racing writer
    int requests = 1;                          // how many requests to serve
    bool privlevel = false;                    // create a privlevel FIFO and serve it first
  };

  SimulatedKernel(fs::path directory, Options options) : directory_(std::move(directory)), options_(std::move(options)) {
    fs::create_directories(directory_);
    write_file(directory_ / "provider", options_.provider + "\n");
    write_file(directory_ / "generation", "0\n");
    if (options_.auxblob) write_file(directory_ / "auxblob", crypto::to_string(*options_.auxblob));
    if (::mkfifo((directory_ / "inblob").c_str(), 0600) != 0 || ::mkfifo((directory_ / "outblob").c_str(), 0600) != 0) {
      throw std::runtime_error("mkfifo failed");
    }
    if (options_.privlevel && ::mkfifo((directory_ / "privlevel").c_str(), 0600) != 0) {
      throw std::runtime_error("mkfifo failed");
    }
    thread_ = std::thread([this] { serve(); });
  }
  ~SimulatedKernel() { finish(); }
  // Waits for the kernel thread (it ends after options.requests requests or a 10 s timeout); the
  // accessors below are for after finish().
  void finish() {
    if (thread_.joinable()) thread_.join();
  }

  const std::vector<crypto::Bytes>& inblobs() const { return inblobs_; }
  const std::vector<std::string>& privlevels() const { return privlevels_; }
  std::uint64_t generation() const { return generation_; }

 private:
  // Reads a FIFO to EOF, waiting at most 10 s for a writer; nullopt on timeout.
  static std::optional<crypto::Bytes> read_fifo(const fs::path& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    crypto::Bytes data;
    bool done = false;
    for (int waited = 0; !done && waited < 1000;) {
      pollfd descriptor{fd, POLLIN, 0};
      const int ready = ::poll(&descriptor, 1, 10);
      if (ready == 0) {
        ++waited;
        continue;
      }
      std::uint8_t buffer[4096];
      const ssize_t count = ::read(fd, buffer, sizeof buffer);
      if (count > 0) {
        data.insert(data.end(), buffer, buffer + count);
      } else if (count == 0 && (descriptor.revents & POLLHUP)) {
        done = true;  // the writer connected, wrote and closed
      } else if (count < 0 && errno != EAGAIN) {
        break;
      }
    }
    ::close(fd);
    if (!done) return std::nullopt;
    return data;
  }

  // Waits (at most 10 s) for a reader, then writes everything.
  static bool write_fifo(const fs::path& path, const crypto::Bytes& data) {
    int fd = -1;
    for (int attempt = 0; attempt < 10000 && fd < 0; ++attempt) {
      fd = ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
      if (fd < 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (fd < 0) return false;
    ::fcntl(fd, F_SETFL, 0);  // blocking from now on
    std::size_t written = 0;
    while (written < data.size()) {
      const ssize_t count = ::write(fd, data.data() + written, data.size() - written);
      if (count <= 0) break;
      written += static_cast<std::size_t>(count);
    }
    ::close(fd);
    return written == data.size();
  }

  void bump(std::uint64_t by) {
    generation_ += by;
    write_file(directory_ / "generation.tmp", std::to_string(generation_) + "\n");
    fs::rename(directory_ / "generation.tmp", directory_ / "generation");
  }

  void serve() {
    for (int request = 0; request < options_.requests; ++request) {
      if (options_.privlevel) {
        auto level = read_fifo(directory_ / "privlevel");
        if (!level) return;
        privlevels_.push_back(crypto::to_string(*level));
        bump(1);
      }
      auto inblob = read_fifo(directory_ / "inblob");
      if (!inblob) return;
      inblobs_.push_back(*inblob);
      const std::size_t index = static_cast<std::size_t>(request);
      bump(1 + (index < options_.extra_writes.size() ? options_.extra_writes[index] : 0));
      if (!write_fifo(directory_ / "outblob", options_.outblob)) return;
    }
  }

  fs::path directory_;
  Options options_;
  std::vector<crypto::Bytes> inblobs_;
  std::vector<std::string> privlevels_;
  std::uint64_t generation_ = 0;
  std::thread thread_;
};

crypto::Bytes report_data_of_snp(const crypto::Bytes& report) {
  return crypto::Bytes(report.begin() + snp::kReportDataOffset, report.begin() + snp::kReportDataOffset + 64);
}

class TsmAttesterTest : public ::testing::Test {
 protected:
  void SetUp() override { std::signal(SIGPIPE, SIG_IGN); }
  test::TempDir root;
};

TEST_F(TsmAttesterTest, SnpReportWithTheRealMilanReport) {
  auto report = test::read_report_milan();
  if (!report) GTEST_SKIP() << "../shared/vectors not present";
  const auto directory = root.path() / "cloister";
  auto& platform = test::SnpTestPlatform::shared();
  const auto table = platform.cert_table();
  crypto::Bytes result_outblob;
  {
    SimulatedKernel kernel(directory, {.outblob = *report, .auxblob = table});
    auto result = request_report(directory, report_data_of_snp(*report), kProviderSev);
    ASSERT_TRUE(result) << result.error().to_string();
    EXPECT_EQ(result->provider, "sev_guest");
    EXPECT_EQ(result->outblob, *report);
    EXPECT_EQ(result->auxblob, table);
    EXPECT_EQ(result->generation_before, 0u);
    EXPECT_EQ(result->generation_after, 1u);
  }
  // Through the attester, on the same (pre-created) directory, with a privlevel.
  SimulatedKernel kernel(root.path() / "vmpl", {.outblob = *report, .auxblob = table, .privlevel = true});
  auto attester = TsmAttester::create("snp", {.root = root.path(), .report_name = "vmpl", .privlevel = 2});
  ASSERT_TRUE(attester) << attester.error().to_string();
  EXPECT_EQ(attester->format_id(), "snp");
  auto evidence = attester->evidence(report_data_of_snp(*report));
  ASSERT_TRUE(evidence) << evidence.error().to_string();
  EXPECT_EQ(*evidence, crypto::concat(*report, table));  // outblob ‖ auxblob
  auto parsed = snp::parse_evidence(*evidence);
  ASSERT_TRUE(parsed) << parsed.error().to_string();
  EXPECT_EQ(parsed->certificates.size(), 3u);
  EXPECT_TRUE(fs::is_directory(root.path() / "vmpl"));  // a named directory is left in place
  kernel.finish();
  ASSERT_EQ(kernel.privlevels().size(), 1u);
  EXPECT_EQ(kernel.privlevels()[0], "2\n");
  ASSERT_EQ(kernel.inblobs().size(), 1u);
  EXPECT_EQ(kernel.inblobs()[0], report_data_of_snp(*report));
}

TEST_F(TsmAttesterTest, TdxQuoteV4AndV5) {
  for (const char* name : {"coco-trustee/tdx_quote_4.dat", "coco-trustee/tdx_quote_5.dat"}) {
    auto quote = test::read_vector(name);
    if (!quote) GTEST_SKIP() << "../shared/vectors not present";
    const std::size_t offset = (*quote)[0] == 4 ? 568 : 574;
    const crypto::Bytes report_data(quote->begin() + offset, quote->begin() + offset + 64);
    const std::string report_name = (*quote)[0] == 4 ? "v4" : "v5";
    SimulatedKernel kernel(root.path() / report_name, {.provider = "tdx_guest", .outblob = *quote});
    auto attester = make_attester("tdx", AttesterConfig{.tsm = {.root = root.path(), .report_name = report_name}});
    ASSERT_TRUE(attester) << attester.error().to_string();
    EXPECT_EQ((*attester)->format_id(), "tdx");
    auto evidence = (*attester)->evidence(report_data);
    ASSERT_TRUE(evidence) << name << ": " << evidence.error().to_string();
    EXPECT_EQ(*evidence, *quote) << name;
    kernel.finish();
    ASSERT_EQ(kernel.inblobs().size(), 1u);
    EXPECT_EQ(kernel.inblobs()[0], report_data);
  }
}

TEST_F(TsmAttesterTest, RacingWriterIsDetectedAndRetried) {
  auto report = test::read_report_milan();
  if (!report) GTEST_SKIP() << "../shared/vectors not present";
  const auto directory = root.path() / "raced";
  {
    // Raced once: the attester's second request succeeds.
    SimulatedKernel kernel(directory, {.outblob = *report, .extra_writes = {1, 0}, .requests = 2});
    auto attester = TsmAttester::create("snp", {.root = root.path(), .report_name = "raced"});
    ASSERT_TRUE(attester);
    auto evidence = attester->evidence(report_data_of_snp(*report));
    ASSERT_TRUE(evidence) << evidence.error().to_string();
    EXPECT_EQ(*evidence, *report);  // no auxblob attribute: the report alone
  }
  fs::remove_all(directory);
  {
    // Raced every time: conflict after max_attempts.
    SimulatedKernel kernel(directory, {.outblob = *report, .extra_writes = {1, 2}, .requests = 2});
    auto attester = TsmAttester::create("snp", {.root = root.path(), .report_name = "raced", .max_attempts = 2});
    ASSERT_TRUE(attester);
    auto evidence = attester->evidence(report_data_of_snp(*report));
    ASSERT_FALSE(evidence);
    EXPECT_EQ(evidence.error().code, ErrorCode::conflict) << evidence.error().to_string();
  }
}

TEST_F(TsmAttesterTest, PreWrittenAttributesWithoutAKernelFailTheGenerationCheck) {
  // Regular files only: the write to inblob does not bump generation, as no kernel saw it.
  const auto directory = root.path() / "static";
  fs::create_directories(directory);
  const auto& platform = test::SnpTestPlatform::shared();
  const auto report = platform.report(crypto::Bytes(64, 0x33));
  write_file(directory / "provider", "sev_guest\n");
  write_file(directory / "generation", "5\n");
  write_file(directory / "inblob", "");
  write_file(directory / "outblob", crypto::to_string(report));
  auto result = request_report(directory, crypto::Bytes(64, 0x33), kProviderSev);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::conflict);
  EXPECT_EQ(read_file(directory / "inblob"), std::string(64, '\x33'));
  // A generation that is not a number.
  write_file(directory / "generation", "five\n");
  EXPECT_EQ(request_report(directory, crypto::Bytes(64, 0x33), kProviderSev).error().code, ErrorCode::io_error);
}

TEST_F(TsmAttesterTest, OutblobMustCarryTheReportData) {
  auto report = test::read_report_milan();
  if (!report) GTEST_SKIP() << "../shared/vectors not present";
  SimulatedKernel kernel(root.path() / "r", {.outblob = *report});
  auto attester = TsmAttester::create("snp", {.root = root.path(), .report_name = "r"});
  ASSERT_TRUE(attester);
  auto evidence = attester->evidence(crypto::Bytes(64, 0));  // not the report's report data
  ASSERT_FALSE(evidence);
  EXPECT_EQ(evidence.error().code, ErrorCode::evidence_malformed);
}

TEST_F(TsmAttesterTest, MalformedAuxblobIsRefusedAndAnEmptyOneDropped) {
  auto report = test::read_report_milan();
  if (!report) GTEST_SKIP() << "../shared/vectors not present";
  {
    SimulatedKernel kernel(root.path() / "bad", {.outblob = *report, .auxblob = crypto::Bytes(10, 0xee)});
    auto attester = TsmAttester::create("snp", {.root = root.path(), .report_name = "bad"});
    ASSERT_TRUE(attester);
    EXPECT_EQ(attester->evidence(report_data_of_snp(*report)).error().code, ErrorCode::evidence_malformed);
  }
  {
    SimulatedKernel kernel(root.path() / "empty", {.outblob = *report, .auxblob = crypto::Bytes(4096, 0)});
    auto attester = TsmAttester::create("snp", {.root = root.path(), .report_name = "empty"});
    ASSERT_TRUE(attester);
    auto evidence = attester->evidence(report_data_of_snp(*report));
    ASSERT_TRUE(evidence) << evidence.error().to_string();
    EXPECT_EQ(*evidence, *report);
  }
  {
    // include_auxblob false: the auxblob is not even read.
    SimulatedKernel kernel(root.path() / "off", {.outblob = *report, .auxblob = crypto::Bytes(10, 0xee)});
    auto attester = TsmAttester::create("snp", {.root = root.path(), .report_name = "off", .include_auxblob = false});
    ASSERT_TRUE(attester);
    auto evidence = attester->evidence(report_data_of_snp(*report));
    ASSERT_TRUE(evidence) << evidence.error().to_string();
    EXPECT_EQ(*evidence, *report);
  }
}

TEST_F(TsmAttesterTest, WrongProviderIsRefusedBeforeAnyWrite) {
  const auto directory = root.path() / "tdx";
  fs::create_directories(directory);
  write_file(directory / "provider", "tdx_guest\n");
  write_file(directory / "generation", "0\n");
  auto result = request_report(directory, crypto::Bytes(64, 1), kProviderSev);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::unsupported_format);
  EXPECT_FALSE(fs::exists(directory / "inblob"));
}

TEST_F(TsmAttesterTest, FreshDirectoriesAreRemovedAfterEachRequest) {
  // mkdir in a plain directory creates no attributes (only configfs does): the request fails, and
  // the directory it made is gone afterwards.
  auto attester = TsmAttester::create("snp", {.root = root.path()});
  ASSERT_TRUE(attester) << attester.error().to_string();
  auto evidence = attester->evidence(crypto::Bytes(64, 1));
  ASSERT_FALSE(evidence);
  EXPECT_EQ(evidence.error().code, ErrorCode::io_error);
  EXPECT_TRUE(fs::is_empty(root.path()));
}

TEST_F(TsmAttesterTest, CreateAndArgumentErrors) {
  EXPECT_EQ(TsmAttester::create("sgx", {.root = root.path()}).error().code, ErrorCode::unsupported_format);
  EXPECT_EQ(TsmAttester::create("snp", {.root = root.path() / "absent"}).error().code, ErrorCode::unavailable);
  EXPECT_EQ(TsmAttester::create("snp", {.root = root.path(), .privlevel = 4}).error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(TsmAttester::create("tdx", {.root = root.path(), .privlevel = 0}).error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(TsmAttester::create("snp", {.root = root.path(), .report_name = "../x"}).error().code,
            ErrorCode::invalid_argument);
  EXPECT_EQ(TsmAttester::create("snp", {.root = root.path(), .max_attempts = 0}).error().code,
            ErrorCode::invalid_argument);
  auto attester = TsmAttester::create("snp", {.root = root.path()});
  ASSERT_TRUE(attester);
  EXPECT_EQ(attester->evidence(crypto::Bytes(63, 0)).error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(request_report(root.path(), crypto::Bytes(65, 0), "").error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(request_report(root.path(), crypto::Bytes(64, 0), "", 4).error().code, ErrorCode::invalid_argument);
}

TEST_F(TsmAttesterTest, Registry) {
  // snp and tdx use configfs-tsm.
  EXPECT_EQ(make_attester("snp", AttesterConfig{.tsm = {.root = root.path() / "absent"}}).error().code,
            ErrorCode::unavailable);
  auto snp = make_attester("snp", AttesterConfig{.tsm = {.root = root.path()}});
  ASSERT_TRUE(snp) << snp.error().to_string();
  EXPECT_EQ((*snp)->format_id(), "snp");
  EXPECT_EQ(make_attester("tdx", AttesterConfig{.tsm = {.root = root.path() / "absent"}}).error().code,
            ErrorCode::unavailable);
  auto tdx = make_attester("tdx", AttesterConfig{.tsm = {.root = root.path()}});
  ASSERT_TRUE(tdx) << tdx.error().to_string();
  EXPECT_EQ((*tdx)->format_id(), "tdx");
}

TEST_F(TsmAttesterTest, EndToEndWithTheSnpVerifier) {
  // A synthetic SNP platform behind the simulated kernel: evidence from the attester verifies.
  const auto& platform = test::SnpTestPlatform::shared();
  const auto service = test::ServiceKeys::generate();
  const auto report_data = report_data_for(service.runtime_data);
  SimulatedKernel kernel(root.path() / "e2e", {.outblob = platform.report(report_data), .auxblob = platform.cert_table()});
  auto attester = make_attester("snp", AttesterConfig{.tsm = {.root = root.path(), .report_name = "e2e"}});
  ASSERT_TRUE(attester);
  auto evidence = (*attester)->evidence(report_data);
  ASSERT_TRUE(evidence) << evidence.error().to_string();
  kernel.finish();
  EXPECT_EQ(kernel.inblobs().size(), 1u);
  auto verifiers = make_evidence_verifiers(platform.config());
  const ManualClock clock = ManualClock::at_unix(test::kSnpTestNow);
  auto verified = (*find(verifiers, "snp"))
                      ->verify(Evidence{"snp", *evidence, service.runtime_data, std::nullopt}, Collateral{},
                               VerificationContext{clock});
  ASSERT_TRUE(verified) << verified.error().to_string();
  EXPECT_EQ(verified->claims.tee, "snp");
}

}  // namespace
}  // namespace cloister::attestation::tsm
