#include "components/extensions/basicauth/htpasswd.h"

#include <crypt.h>
#include <gtest/gtest.h>

namespace weft::extensions::basicauth {
namespace {

// Vectors from `openssl passwd -apr1 / -1 -salt ...`.
TEST(Htpasswd, Md5CryptMatchesApacheAndCrypt) {
  EXPECT_EQ(md5_crypt("password", "abcdefgh", "$apr1$"), "$apr1$abcdefgh$FBwExRW4dCc8aL.OvjpIE1");
  EXPECT_EQ(md5_crypt("password", "abcdefgh", "$1$"), "$1$abcdefgh$G//4keteveJp0qb8z2DxG/");
  EXPECT_EQ(md5_crypt("", "xy", "$apr1$"), "$apr1$xy$43..WIhbfuznGvwoCyUek/");
}

TEST(Htpasswd, VerifiesEverySchemeAndRefusesWrongPasswords) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  ASSERT_NE(crypt_gensalt_rn("$2b$", 5, nullptr, 0, salt, sizeof(salt)), nullptr);
  crypt_data data{};
  const std::string bcrypt = crypt_r("bcrypt-pass", salt, &data);
  Htpasswd users;
  ASSERT_TRUE(users
                  .add("# a comment\n"
                       "apr:$apr1$abcdefgh$FBwExRW4dCc8aL.OvjpIE1\n"
                       "md5:$1$abcdefgh$G//4keteveJp0qb8z2DxG/\r\n"
                       "sha:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n"  // "password"
                       "bc:" +
                           bcrypt + "\n",
                       "test")
                  .is_ok());
  EXPECT_EQ(users.size(), 4U);
  EXPECT_TRUE(users.verify("apr", "password"));
  EXPECT_TRUE(users.verify("md5", "password"));
  EXPECT_TRUE(users.verify("sha", "password"));
  EXPECT_TRUE(users.verify("bc", "bcrypt-pass"));
  EXPECT_FALSE(users.verify("apr", "Password"));
  EXPECT_FALSE(users.verify("sha", ""));
  EXPECT_FALSE(users.verify("bc", "bcrypt-pas"));
  EXPECT_FALSE(users.verify("nobody", "password"));
}

TEST(Htpasswd, RefusesLinesItCannotCheck) {
  Htpasswd users;
  const Status plain = users.add("alice:plaintext\n", "users.htpasswd");
  ASSERT_FALSE(plain.is_ok());
  EXPECT_NE(plain.message().find("users.htpasswd line 1"), std::string::npos);
  EXPECT_FALSE(users.add("no-colon-here\n", "x").is_ok());
  EXPECT_FALSE(users.add(":{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n", "x").is_ok());
}

}  // namespace
}  // namespace weft::extensions::basicauth
