// KeyStore on a real SQLite file: round trips, rotation, hpke key pairs, encryption at rest (the
// raw key bytes appear in no file of the store), rows moved between names or types, tampered
// policies, the master key file's checks, policy versions, disabling and the audit of changes.
#include "key_store.h"

#include "test_support.h"

#include "cloister/crypto/x25519.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

namespace cloister::keys {
namespace {

using test::TempDir;

unsigned mode_of(const std::filesystem::path& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return 0xffff;
  return info.st_mode & 0777;
}

AuditEntry by(std::string who) {
  AuditEntry entry;
  entry.actor_type = actor_type::kAdmin;
  entry.actor = std::move(who);
  entry.client = "192.0.2.1";
  entry.request_id = "r-1";
  return entry;
}

class KeyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { open(); }

  void open() {
    store_.reset();
    database_.reset();
    auto master = FileMasterKey::load_or_create(dir_.path() / "master.key");
    ASSERT_TRUE(master) << master.error().to_string();
    wrapper_ = std::move(*master);
    auto database = Database::open(dir_.path() / "keys.sqlite3");
    ASSERT_TRUE(database) << database.error().to_string();
    database_ = std::move(*database);
    auto store = KeyStore::open(database_, wrapper_, clock_);
    ASSERT_TRUE(store) << store.error().to_string();
    store_ = std::move(*store);
  }

  void close() {
    store_.reset();
    database_.reset();
  }

  // A second connection to the same file, as someone with access to the disk would have.
  void tamper(const std::string& sql) {
    auto other = Database::open(dir_.path() / "keys.sqlite3");
    ASSERT_TRUE(other) << other.error().to_string();
    auto done = (*other)->execute(sql);
    ASSERT_TRUE(done) << done.error().to_string();
  }

  crypto::Bytes material(const std::string& name, std::optional<std::uint64_t> version = std::nullopt) {
    auto key = store_->material(name, version);
    EXPECT_TRUE(key) << key.error().to_string();
    return key ? key->material.reveal() : crypto::Bytes{};
  }

  TempDir dir_;
  ManualClock clock_ = ManualClock::at_unix(1'700'000'000);
  std::shared_ptr<const KeyWrapper> wrapper_;
  std::shared_ptr<Database> database_;
  std::unique_ptr<KeyStore> store_;
};

TEST_F(KeyStoreTest, CreateDescribeAndReadBackAcrossARestart) {
  auto created = store_->create("db-key", KeyType::aes_256, ReleasePolicy::default_policy(), "first", by("alice"));
  ASSERT_TRUE(created) << created.error().to_string();
  EXPECT_EQ(created->name, "db-key");
  EXPECT_EQ(created->current_version, 1u);
  EXPECT_EQ(created->created_by, "alice");
  EXPECT_EQ(created->created_at, 1'700'000'000);
  ASSERT_EQ(created->versions.size(), 1u);
  EXPECT_TRUE(created->versions[0].public_key.empty());
  EXPECT_EQ(created->policy.version, 1u);
  EXPECT_EQ(created->policy.author, "alice");
  EXPECT_EQ(created->policy.comment, "first");
  EXPECT_EQ(created->policy.hash, ReleasePolicy::default_policy().hash());
  EXPECT_FALSE(created->to_json().contains("material"));

  const auto first = material("db-key");
  ASSERT_EQ(first.size(), 32u);
  EXPECT_NE(first, crypto::Bytes(32, 0));
  EXPECT_EQ(mode_of(dir_.path() / "keys.sqlite3"), 0600u);
  EXPECT_EQ(mode_of(dir_.path() / "master.key"), 0600u);

  close();
  open();
  EXPECT_EQ(material("db-key"), first);
  auto listed = store_->list();
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].type, KeyType::aes_256);

  // Names are checked; a name is taken once.
  for (const auto* name : {"", "-leading", "has space", "slash/name", "dot..ok?"}) {
    auto refused = store_->create(name, KeyType::aes_256, ReleasePolicy::default_policy(), "", by("alice"));
    ASSERT_FALSE(refused) << name;
    EXPECT_EQ(refused.error().code, ErrorCode::invalid_argument) << name;
  }
  auto again = store_->create("db-key", KeyType::model_aes_256, ReleasePolicy::default_policy(), "", by("alice"));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::conflict);
  EXPECT_EQ(material("db-key"), first);  // untouched
  EXPECT_EQ(store_->describe("missing").error().code, ErrorCode::not_found);
  EXPECT_EQ(store_->material("missing", std::nullopt).error().code, ErrorCode::not_found);
}

TEST_F(KeyStoreTest, RotationKeepsOldVersionsReleasableByVersion) {
  ASSERT_TRUE(store_->create("model", KeyType::model_aes_256, ReleasePolicy::default_policy(), "", by("alice")));
  const auto v1 = material("model");
  auto rotated = store_->rotate("model", by("bob"));
  ASSERT_TRUE(rotated) << rotated.error().to_string();
  EXPECT_EQ(rotated->current_version, 2u);
  ASSERT_EQ(rotated->versions.size(), 2u);
  EXPECT_EQ(rotated->versions[1].created_by, "bob");
  const auto v2 = material("model");
  EXPECT_NE(v1, v2);
  EXPECT_EQ(material("model", 1), v1);
  EXPECT_EQ(material("model", 2), v2);
  EXPECT_EQ(store_->material("model", 3).error().code, ErrorCode::not_found);
  EXPECT_EQ(store_->material("model", std::nullopt)->version, 2u);
  EXPECT_EQ(store_->rotate("missing", by("bob")).error().code, ErrorCode::not_found);
}

TEST_F(KeyStoreTest, HpkeKeyPairsExposeOnlyTheirPublicKey) {
  auto created = store_->create("enclave-inbox", KeyType::hpke_x25519, ReleasePolicy::default_policy(), "", by("alice"));
  ASSERT_TRUE(created) << created.error().to_string();
  ASSERT_EQ(created->versions.size(), 1u);
  const auto public_key = created->versions[0].public_key;
  ASSERT_EQ(public_key.size(), 32u);
  auto key = store_->material("enclave-inbox", std::nullopt);
  ASSERT_TRUE(key);
  EXPECT_EQ(key->public_key, public_key);
  EXPECT_EQ(crypto::x25519_from_private(key->material.reveal())->public_key, public_key);
  // Something sealed to the public key opens with the stored private key.
  auto sealed = crypto::hpke::seal(crypto::hpke::kDefaultSuite, public_key, crypto::as_bytes("i"), {},
                                   crypto::as_bytes("for the enclave"));
  ASSERT_TRUE(sealed);
  auto opened = crypto::hpke::open(crypto::hpke::kDefaultSuite, sealed->enc, key->material.reveal(),
                                   crypto::as_bytes("i"), {}, sealed->ciphertext);
  ASSERT_TRUE(opened);
  EXPECT_EQ(crypto::to_string(*opened), "for the enclave");
  EXPECT_EQ(created->to_json()["versions"][0]["public_key"], crypto::base64url_encode(public_key));
}

TEST_F(KeyStoreTest, NoFileOfTheStoreHoldsKeyMaterial) {
  std::vector<crypto::Bytes> secrets;
  for (const auto* name : {"a", "b", "c"}) {
    ASSERT_TRUE(store_->create(name, KeyType::aes_256, ReleasePolicy::default_policy(), "", by("alice")));
    ASSERT_TRUE(store_->rotate(name, by("alice")));
  }
  ASSERT_TRUE(store_->create("pair", KeyType::hpke_x25519, ReleasePolicy::default_policy(), "", by("alice")));
  for (const auto* name : {"a", "b", "c"}) {
    secrets.push_back(material(name, 1));
    secrets.push_back(material(name, 2));
  }
  secrets.push_back(material("pair"));
  auto master = test::read_all(dir_.path() / "master.key");
  auto scan = [&](std::string_view when) {
    std::string bytes;
    for (const auto& entry : std::filesystem::directory_iterator(dir_.path())) {
      if (entry.path().filename() != "master.key") bytes += test::read_all(entry.path());
    }
    ASSERT_FALSE(bytes.empty());
    for (const auto& secret : secrets) {
      ASSERT_EQ(secret.size(), 32u);
      EXPECT_EQ(bytes.find(crypto::to_string(secret)), std::string::npos) << when << ": raw key bytes on disk";
      EXPECT_EQ(bytes.find(crypto::hex_encode(secret)), std::string::npos) << when << ": hex key on disk";
      EXPECT_EQ(bytes.find(crypto::base64url_encode(secret)), std::string::npos) << when;
    }
    EXPECT_EQ(bytes.find(master), std::string::npos) << when << ": the master key is in the store";
  };
  // While open (the changes are in the WAL file) and after closing (checkpointed into the database).
  EXPECT_TRUE(std::filesystem::exists(dir_.path() / "keys.sqlite3-wal"));
  scan("open");
  close();
  scan("closed");
}

TEST_F(KeyStoreTest, ARowMovedToAnotherNameOrTypeDoesNotDecrypt) {
  ASSERT_TRUE(store_->create("a", KeyType::aes_256, ReleasePolicy::default_policy(), "", by("alice")));
  ASSERT_TRUE(store_->create("b", KeyType::aes_256, ReleasePolicy::default_policy(), "", by("alice")));
  ASSERT_TRUE(store_->create("m", KeyType::model_aes_256, ReleasePolicy::default_policy(), "", by("alice")));
  ASSERT_TRUE(store_->rotate("a", by("alice")));
  const auto a1 = material("a", 1);

  // a's version 1 copied over b's: b no longer opens (and never yields a's key).
  tamper("UPDATE key_versions SET wrapped = (SELECT wrapped FROM key_versions WHERE name = 'a' AND version = 1)"
         " WHERE name = 'b'");
  auto moved = store_->material("b", std::nullopt);
  ASSERT_FALSE(moved);
  EXPECT_EQ(moved.error().code, ErrorCode::internal);
  EXPECT_NE(moved.error().detail.find("integrity"), std::string::npos) << moved.error().detail;

  // Version 1 moved to version 2 of the same key.
  tamper("UPDATE key_versions SET wrapped = (SELECT wrapped FROM key_versions WHERE name = 'a' AND version = 1)"
         " WHERE name = 'a' AND version = 2");
  EXPECT_FALSE(store_->material("a", 2));
  EXPECT_EQ(material("a", 1), a1);

  // The type changed: the model key is not released as a data key.
  tamper("UPDATE keys SET type = 'aes-256' WHERE name = 'm'");
  EXPECT_FALSE(store_->material("m", std::nullopt));
}

TEST_F(KeyStoreTest, APolicyEditedInTheDatabaseIsRefusedNotApplied) {
  ASSERT_TRUE(store_->create("a", KeyType::aes_256, ReleasePolicy::default_policy(), "", by("alice")));
  auto open_policy =
      ReleasePolicy::from_json({{"allow_simulated", true}, {"all_of", {{{"claim", "svn"}, {"min", 0}}}}}).value();
  const auto document = open_policy.to_json().dump();
  tamper("UPDATE key_policies SET policy = '" + document + "', policy_hash = '" + open_policy.hash() + "' WHERE name = 'a'");
  auto summary = store_->summary("a");
  ASSERT_FALSE(summary);
  EXPECT_EQ(summary.error().code, ErrorCode::internal);

  // A policy version copied from another key does not pass either (the seal names the key).
  ASSERT_TRUE(store_->create("b", KeyType::aes_256, open_policy, "", by("alice")));
  ASSERT_TRUE(store_->create("c", KeyType::aes_256, ReleasePolicy::default_policy(), "", by("alice")));
  tamper("UPDATE key_policies SET (policy, policy_hash, seal) = (SELECT policy, policy_hash, seal FROM key_policies"
         " WHERE name = 'b') WHERE name = 'c'");
  EXPECT_FALSE(store_->summary("c"));
  EXPECT_TRUE(store_->summary("b"));
}

TEST_F(KeyStoreTest, TheStoreRefusesAnotherMasterKey) {
  ASSERT_TRUE(store_->create("a", KeyType::aes_256, ReleasePolicy::default_policy(), "", by("alice")));
  close();
  auto database = Database::open(dir_.path() / "keys.sqlite3");
  ASSERT_TRUE(database);
  auto other = std::make_shared<FileMasterKey>(Sensitive<crypto::Bytes>(crypto::random_bytes(32)));
  auto store = KeyStore::open(std::shared_ptr<Database>(std::move(*database)), other, clock_);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, ErrorCode::config_invalid);
}

TEST(FileMasterKey, IsCreatedOwnerOnlyAndRefusedWhenWiderOrMalformed) {
  TempDir dir;
  bool created = false;
  auto key = FileMasterKey::load_or_create(dir.path() / "master.key", &created);
  ASSERT_TRUE(key) << key.error().to_string();
  EXPECT_TRUE(created);
  EXPECT_EQ(mode_of(dir.path() / "master.key"), 0600u);
  EXPECT_EQ(test::read_all(dir.path() / "master.key").size(), 32u);
  auto again = FileMasterKey::load_or_create(dir.path() / "master.key", &created);
  ASSERT_TRUE(again);
  EXPECT_FALSE(created);
  // The same key: what one wraps, the other unwraps — only with the same associated data.
  auto wrapped = (*key)->wrap(crypto::as_bytes("secret"), crypto::as_bytes("aad"));
  ASSERT_TRUE(wrapped);
  EXPECT_EQ(crypto::to_string((*again)->unwrap(*wrapped, crypto::as_bytes("aad"))->reveal()), "secret");
  EXPECT_EQ((*again)->unwrap(*wrapped, crypto::as_bytes("other")).error().code, ErrorCode::decrypt_failed);
  auto flipped = *wrapped;
  flipped.back() ^= 1;
  EXPECT_FALSE((*again)->unwrap(flipped, crypto::as_bytes("aad")));
  EXPECT_FALSE((*again)->unwrap(crypto::BytesView(), crypto::as_bytes("aad")));

  std::filesystem::permissions(dir.path() / "master.key", std::filesystem::perms::group_read,
                               std::filesystem::perm_options::add);
  auto wide = FileMasterKey::load_or_create(dir.path() / "master.key");
  ASSERT_FALSE(wide);
  EXPECT_EQ(wide.error().code, ErrorCode::config_invalid);

  {
    std::ofstream(dir.path() / "short.key") << "too short";
  }
  std::filesystem::permissions(dir.path() / "short.key", std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  auto malformed = FileMasterKey::load_or_create(dir.path() / "short.key");
  ASSERT_FALSE(malformed);
  EXPECT_EQ(malformed.error().code, ErrorCode::config_invalid);
}

TEST_F(KeyStoreTest, PolicyVersionsAreKeptAndOptimisticallyLocked) {
  ASSERT_TRUE(store_->create("a", KeyType::aes_256, ReleasePolicy::default_policy(), "", by("alice")));
  auto same = store_->set_policy("a", ReleasePolicy::default_policy(), "no-op", std::nullopt, by("bob"));
  ASSERT_TRUE(same);
  EXPECT_FALSE(same->changed);
  EXPECT_EQ(same->version.version, 1u);

  auto pinned = ReleasePolicy::from_json({{"all_of", {{{"claim", "measurement"}, {"equals", std::string(64, 'a')}}}}}).value();
  clock_.advance(std::chrono::seconds(60));
  auto changed = store_->set_policy("a", pinned, "pin the build", 1, by("bob"));
  ASSERT_TRUE(changed) << changed.error().to_string();
  EXPECT_TRUE(changed->changed);
  EXPECT_EQ(changed->version.version, 2u);
  EXPECT_EQ(changed->version.author, "bob");
  EXPECT_EQ(changed->version.created_at, 1'700'000'060);
  EXPECT_EQ(changed->version.hash, pinned.hash());

  auto stale = store_->set_policy("a", ReleasePolicy::default_policy(), "", 1, by("carol"));
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code, ErrorCode::conflict);
  EXPECT_EQ(store_->summary("a")->policy.version, 2u);

  auto history = store_->policy_versions("a");
  ASSERT_TRUE(history);
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0].hash, ReleasePolicy::default_policy().hash());
  EXPECT_EQ((*history)[1].comment, "pin the build");
  EXPECT_EQ(store_->set_policy("missing", pinned, "", std::nullopt, by("bob")).error().code, ErrorCode::not_found);
  EXPECT_EQ(store_->set_policy("a", pinned, std::string(600, 'x'), std::nullopt, by("bob")).error().code,
            ErrorCode::invalid_argument);
}

TEST_F(KeyStoreTest, DisablingIsFinalAndEveryChangeIsAudited) {
  ASSERT_TRUE(store_->create("a", KeyType::aes_256, ReleasePolicy::default_policy(), "", by("alice")));
  ASSERT_TRUE(store_->rotate("a", by("alice")));
  auto disabled = store_->disable("a", by("bob"));
  ASSERT_TRUE(disabled);
  ASSERT_TRUE(disabled->disabled_at.has_value());
  EXPECT_EQ(disabled->disabled_by, "bob");
  EXPECT_EQ(disabled->to_json()["disabled"], true);
  EXPECT_EQ(store_->disable("a", by("bob")).error().code, ErrorCode::conflict);
  EXPECT_EQ(store_->rotate("a", by("bob")).error().code, ErrorCode::conflict);

  AuditLog log(database_, clock_);
  auto entries = log.recent(10);
  ASSERT_TRUE(entries) << entries.error().to_string();
  ASSERT_EQ(entries->size(), 3u);
  EXPECT_EQ((*entries)[0].action, "disable");
  EXPECT_EQ((*entries)[0].actor, "bob");
  EXPECT_EQ((*entries)[1].action, "rotate");
  EXPECT_EQ((*entries)[1].key_version, 2);
  EXPECT_EQ((*entries)[2].action, "create");
  EXPECT_EQ((*entries)[2].key, "a");
  EXPECT_EQ((*entries)[2].outcome, "ok");
  EXPECT_EQ((*entries)[2].request_id, "r-1");
  EXPECT_EQ((*entries)[2].to_json()["who"], (nlohmann::json{{"type", "admin"}, {"name", "alice"}}));
  EXPECT_EQ(log.recent(1)->size(), 1u);
  EXPECT_EQ(log.recent(10, "other")->size(), 0u);
  EXPECT_FALSE(log.recent(0));
  EXPECT_FALSE(log.recent(1001));
}

}  // namespace
}  // namespace cloister::keys
