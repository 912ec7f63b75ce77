#include <gtest/gtest.h>

#include <fstream>

#include "pkg/oci.h"
#include "pkg/package.h"
#include "pkg/reference.h"
#include "pkg/signing.h"
#include "pkg/store.h"
#include "testing/temp.h"

namespace weft::pkg {
namespace {

TEST(Reference, ParsesTagsDigestsAndRequirements) {
  auto r = Reference::parse("oci://127.0.0.1:5000/weft/redact:1.2.0");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->registry, "127.0.0.1:5000");
  EXPECT_EQ(r->repository, "weft/redact");
  EXPECT_EQ(r->tag, "1.2.0");
  EXPECT_EQ(r->str(), "oci://127.0.0.1:5000/weft/redact:1.2.0");
  EXPECT_EQ(Reference::parse("oci://r.example/a/b")->tag, "latest");
  EXPECT_EQ(Reference::parse("oci://r.example/a:^1.2")->requirement, "^1.2");
  const std::string digest = "sha256:" + std::string(64, 'a');
  EXPECT_EQ(Reference::parse("oci://r.example/a@" + digest)->digest, digest);
  EXPECT_FALSE(Reference::parse("r.example/a:1").ok());
  EXPECT_FALSE(Reference::parse("oci://r.example/A:1").ok());
  EXPECT_FALSE(Reference::parse("oci://r.example/a@sha256:12").ok());
  EXPECT_FALSE(Reference::parse("oci://r.example/a:^x").ok());
}

TEST(Version, OrdersAndMatchesRequirements) {
  auto v = [](const char* s) { return *Version::parse(s); };
  EXPECT_LT(v("1.2.3"), v("1.10.0"));
  EXPECT_LT(v("1.2.3-rc.1"), v("1.2.3"));
  EXPECT_FALSE(Version::parse("1.2").has_value());
  EXPECT_TRUE(satisfies(v("1.9.0"), "^1.2"));
  EXPECT_FALSE(satisfies(v("2.0.0"), "^1.2"));
  EXPECT_FALSE(satisfies(v("1.1.9"), "^1.2"));
  EXPECT_TRUE(satisfies(v("0.3.5"), "^0.3"));
  EXPECT_FALSE(satisfies(v("0.4.0"), "^0.3"));
  EXPECT_TRUE(satisfies(v("1.2.9"), "~1.2"));
  EXPECT_FALSE(satisfies(v("1.3.0"), "~1.2"));
  EXPECT_FALSE(satisfies(v("1.3.0-beta"), "^1.2"));
  EXPECT_EQ(best_tag({"1.2.0", "latest", "1.4.1", "2.0.0", "1.4.0"}, "^1.2"), "1.4.1");
  EXPECT_FALSE(best_tag({"latest", "3.0.0"}, "^1.2").has_value());
}

TEST(Signing, VerifiesOnlyTheSignedDigestNameAndVersionWithATrustedKey) {
  testing::TempDir dir;
  auto key = generate_key(dir.path() / "k");
  ASSERT_TRUE(key.ok()) << key.status().message();
  auto other = generate_key(dir.path() / "other");
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(generate_key(dir.path() / "k").ok()) << "never overwrites a key";
  auto loaded = read_public_key((dir.path() / "k.pub").string());
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->id, key->id);
  const std::string digest = sha256_digest("manifest");
  SignedClaims claims;
  claims.digest = digest;
  claims.name = "redact";
  claims.version = "1.2.0";
  auto doc = sign_claims(dir.path() / "k.key", claims);
  ASSERT_TRUE(doc.ok()) << doc.status().message();
  auto ok = verify_signature(*doc, {*key}, digest, "redact", "1.2.0");
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->key_id, key->id);
  EXPECT_NE(verify_signature(*doc, {*other}, digest, "redact", "1.2.0")
                .status()
                .message()
                .find("unknown key"),
            std::string::npos);
  EXPECT_FALSE(verify_signature(*doc, {*key}, sha256_digest("other"), "redact", "1.2.0").ok());
  EXPECT_FALSE(verify_signature(*doc, {*key}, digest, "redact", "1.3.0").ok());
  // A changed payload fails the signature itself.
  std::string tampered = *doc;
  const auto at = tampered.find("\"payload\":\"") + 12;
  tampered[at] = tampered[at] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(verify_signature(tampered, {*key}, digest, "redact", "1.2.0").ok());
}

PluginMeta meta_for(const std::string& module, const std::string& version, int abi = 1) {
  PluginMeta m;
  m.name = "p";
  m.version = version;
  m.abi = abi;
  m.module_size = module.size();
  m.module_digest = sha256_digest(module);
  return m;
}

TEST(Layout, RoundTripsAPackageAndRefusesAChangedBlob) {
  testing::TempDir dir;
  auto layout = Layout::open(dir.path() / "l", true);
  ASSERT_TRUE(layout.ok());
  const std::string module = "\0asm fake module";
  auto d = write_package(*layout, meta_for(module, "1.0.0"), module, "1.0.0");
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(layout->find("1.0.0")->digest, d->digest);
  auto p = read_package(*layout, d->digest, "p");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->module, module);
  EXPECT_EQ(p->meta.version, "1.0.0");
  // Flip a byte of the module's blob: the package no longer reads.
  const auto path = dir.path() / "l" / "blobs" / "sha256" / sha256_digest(module).substr(7);
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(3);
  f.put('X');
  f.close();
  auto broken = read_package(*layout, d->digest, "p");
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find("does not match its digest"), std::string::npos);
}

TEST(PackageStore, AppliesTheTrustPolicy) {
  testing::TempDir dir;
  auto key = generate_key(dir.path() / "k");
  ASSERT_TRUE(key.ok());
  auto layout = Layout::open(dir.path() / "l", true);
  ASSERT_TRUE(layout.ok());
  const std::string module = "module";
  auto d = write_package(*layout, meta_for(module, "1.2.0"), module, "1.2.0");
  ASSERT_TRUE(d.ok());
  auto abi2 = write_package(*layout, meta_for(module + "2", "2.0.0", 2), module + "2", "2.0.0");
  ASSERT_TRUE(abi2.ok());
  TrustRule rule;
  rule.ns = "r.example/weft";
  rule.keys = {*key};
  PackageSettings settings;
  settings.cache_dir = dir.path() / "cache";
  settings.trust = {rule};
  PackageStore store(settings);
  auto message = [](const Result<Resolved>& r) { return r.ok() ? "" : r.status().message(); };

  EXPECT_NE(message(store.check(*layout, "", d->digest, "r.example/weft/p", nullptr, nullptr))
                .find("unsigned"),
            std::string::npos);
  EXPECT_NE(message(store.check(*layout, "", d->digest, "other.example/p", nullptr, nullptr))
                .find("no trust policy covers"),
            std::string::npos);
  SignedClaims claims;
  claims.digest = d->digest;
  claims.name = "p";
  claims.version = "1.2.0";
  auto doc = sign_claims(dir.path() / "k.key", claims);
  ASSERT_TRUE(attach_companion(*layout, "", d->digest, "sig", *doc).ok());
  auto ok = store.check(*layout, "", d->digest, "r.example/weft/p", nullptr, nullptr);
  ASSERT_TRUE(ok.ok()) << message(ok);
  EXPECT_EQ(ok->signer, key->id);
  PluginMeta running = meta_for("x", "1.3.0");
  EXPECT_NE(message(store.check(*layout, "", d->digest, "r.example/weft/p", &running, nullptr))
                .find("older than the running 1.3.0"),
            std::string::npos);
  claims.digest = abi2->digest;
  claims.version = "2.0.0";
  ASSERT_TRUE(
      attach_companion(*layout, "", abi2->digest, "sig", *sign_claims(dir.path() / "k.key", claims))
          .ok());
  EXPECT_NE(message(store.check(*layout, "", abi2->digest, "r.example/weft/p", nullptr, nullptr))
                .find("plugin ABI 2"),
            std::string::npos);
  // At level audit the same package passes, with the reasons it would have been refused.
  settings.trust[0].level = TrustLevel::kAudit;
  PackageStore audit(settings);
  auto let = audit.check(*layout, "", abi2->digest, "r.example/weft/p", nullptr, nullptr);
  ASSERT_TRUE(let.ok());
  ASSERT_EQ(let->violations.size(), 1U);
  EXPECT_NE(let->violations[0].find("ABI 2"), std::string::npos);
}

TEST(Lock, WritesAndReadsEntries) {
  testing::TempDir dir;
  Lock lock;
  lock.entries.push_back({"oci://r/a:^1", sha256_digest("m"), "a", "1.0.0", "abcd"});
  ASSERT_TRUE(lock.write(dir.path() / "weft.lock").is_ok());
  auto read = Lock::read(dir.path() / "weft.lock");
  ASSERT_TRUE(read.ok() && read->has_value());
  const LockEntry* e = (*read)->find("oci://r/a:^1");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->digest, sha256_digest("m"));
  EXPECT_EQ(e->signer, "abcd");
  EXPECT_FALSE(Lock::read(dir.path() / "absent.lock")->has_value());
}

}  // namespace
}  // namespace weft::pkg
