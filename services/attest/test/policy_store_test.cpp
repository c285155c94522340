#include "policy_store.h"

#include "service_test_support.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

namespace cloister::attest {
namespace {

using namespace std::chrono_literals;

unsigned mode_of(const std::filesystem::path& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return 0xffff;
  return info.st_mode & 0777;
}

std::map<std::string, attestation::Policy> seeds() {
  attestation::Policy sim;
  sim.allow_simulated = true;
  return {{"sim", sim}, {"sgx", attestation::Policy{}}};
}

class PolicyStoreTest : public ::testing::Test {
 protected:
  test::TempDir root_;
  std::filesystem::path directory_ = root_.path() / "policies";
  ManualClock clock_ = ManualClock::at_unix(1'700'000'000);
};

TEST_F(PolicyStoreTest, FirstOpenSeedsVersionOneOfEachFormat) {
  auto store = PolicyStore::open(directory_, clock_, seeds());
  ASSERT_TRUE(store) << store.error().to_string();
  auto sim = (*store)->current("sim");
  ASSERT_TRUE(sim);
  EXPECT_EQ(sim->version, 1u);
  EXPECT_EQ(sim->author, "config");
  EXPECT_EQ(sim->created_at, 1'700'000'000);
  EXPECT_TRUE(sim->policy.allow_simulated);
  EXPECT_EQ(sim->hash, sim->policy.hash());
  EXPECT_EQ((*store)->current("sgx")->hash, attestation::Policy{}.hash());
  EXPECT_EQ((*store)->current("tdx"), nullptr);
  EXPECT_EQ((*store)->formats(), (std::vector<std::string>{"sgx", "sim"}));
  EXPECT_EQ(mode_of(directory_), 0700u);
  EXPECT_EQ(mode_of(directory_ / "sim" / "0000000001.json"), 0600u);
}

TEST_F(PolicyStoreTest, PutMakesMonotonicVersionsThatSurviveARestartWithHistory) {
  std::string hash_two;
  {
    auto store = PolicyStore::open(directory_, clock_, seeds()).value();
    attestation::Policy stricter;
    stricter.allow_simulated = true;
    stricter.min_svn = 4;
    clock_.advance(60s);
    auto change = store->put("sim", stricter, "alice", "raise the svn", std::nullopt);
    ASSERT_TRUE(change) << change.error().to_string();
    EXPECT_TRUE(change->changed);
    EXPECT_EQ(change->version->version, 2u);
    EXPECT_EQ(change->version->author, "alice");
    EXPECT_EQ(change->version->created_at, 1'700'000'060);
    hash_two = change->version->hash;
    EXPECT_EQ(store->current("sim")->hash, hash_two);

    // The same policy again: no new version.
    auto same = store->put("sim", stricter, "bob", "", std::nullopt);
    ASSERT_TRUE(same);
    EXPECT_FALSE(same->changed);
    EXPECT_EQ(same->version->version, 2u);

    // Optimistic concurrency: a change based on an older version is refused.
    attestation::Policy other = stricter;
    other.min_svn = 5;
    auto stale = store->put("sim", other, "bob", "", 1);
    ASSERT_FALSE(stale);
    EXPECT_EQ(stale.error().code, ErrorCode::conflict);
    auto based = store->put("sim", other, "bob", "", 2);
    ASSERT_TRUE(based);
    EXPECT_EQ(based->version->version, 3u);

    EXPECT_EQ(store->put("tdx", other, "bob", "", std::nullopt).error().code, ErrorCode::not_found);
    EXPECT_EQ(store->put("sim", other, "", "", std::nullopt).error().code, ErrorCode::invalid_argument);
    EXPECT_EQ(store->put("sim", other, "bob", std::string("bad\n"), std::nullopt).error().code,
              ErrorCode::invalid_argument);
  }
  // A restart with a different configuration keeps what is stored: the seed is ignored.
  auto changed_seeds = seeds();
  changed_seeds["sim"].measurements = {std::string(96, 'a')};
  auto reopened = PolicyStore::open(directory_, clock_, changed_seeds);
  ASSERT_TRUE(reopened) << reopened.error().to_string();
  EXPECT_EQ((*reopened)->current("sim")->version, 3u);
  auto history = (*reopened)->versions("sim");
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history[0]->author, "config");
  EXPECT_EQ(history[1]->hash, hash_two);
  EXPECT_EQ(history[1]->comment, "raise the svn");
  EXPECT_EQ(history[2]->policy.min_svn, 5u);

  // One audit line per change, without credentials.
  std::ifstream audit(directory_ / "audit.jsonl");
  std::string line;
  std::vector<nlohmann::json> lines;
  while (std::getline(audit, line)) lines.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["who"], "alice");
  EXPECT_EQ(lines[0]["version"], 2);
  EXPECT_EQ(lines[0]["policy_hash"], hash_two);
  EXPECT_EQ(lines[1]["previous_version"], 2);
  EXPECT_EQ(mode_of(directory_ / "audit.jsonl"), 0600u);
}

TEST_F(PolicyStoreTest, RefusesAStoredVersionWhoseHashDoesNotMatch) {
  ASSERT_TRUE(PolicyStore::open(directory_, clock_, seeds()));
  const auto path = directory_ / "sim" / "0000000001.json";
  std::ifstream in(path);
  auto document = nlohmann::json::parse(in);
  in.close();
  document["policy"]["allow_debug"] = true;  // edited on disk, hash not updated
  std::ofstream(path, std::ios::trunc) << document.dump();
  auto store = PolicyStore::open(directory_, clock_, seeds());
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, ErrorCode::config_invalid);

  // A file named for another version is refused too.
  document["policy"]["allow_debug"] = false;
  std::ofstream(path, std::ios::trunc) << document.dump();
  ASSERT_TRUE(PolicyStore::open(directory_, clock_, seeds()));
  std::filesystem::copy_file(path, directory_ / "sim" / "0000000002.json");
  EXPECT_EQ(PolicyStore::open(directory_, clock_, seeds()).error().code, ErrorCode::config_invalid);
}

TEST_F(PolicyStoreTest, VersionJsonRoundTrips) {
  auto store = PolicyStore::open(directory_, clock_, seeds()).value();
  auto json = store->current("sim")->to_json();
  auto parsed = PolicyVersion::from_json(json);
  ASSERT_TRUE(parsed) << parsed.error().to_string();
  EXPECT_EQ(parsed->to_json(), json);
  json["policy_hash"] = std::string(64, '0');
  EXPECT_FALSE(PolicyVersion::from_json(json));
}

}  // namespace
}  // namespace cloister::attest
