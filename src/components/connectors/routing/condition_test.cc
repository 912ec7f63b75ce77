#include "components/connectors/routing/condition.h"

#include <gtest/gtest.h>

namespace weft::connectors::routing {
namespace {

namespace common = opentelemetry::proto::common::v1;

void put(Attributes& attrs, const std::string& key, const std::string& value) {
  auto* kv = attrs.Add();
  kv->set_key(key);
  kv->mutable_value()->set_string_value(value);
}

bool eval(const std::string& text, Context context, const Subject& s, bool statement = false) {
  auto c = Condition::parse(text, context, statement);
  EXPECT_TRUE(c.ok()) << text << ": " << c.status().message();
  return c.ok() && c->matches(s);
}

std::string error_of(const std::string& text, Context context) {
  auto c = Condition::parse(text, context);
  return c.ok() ? "" : c.status().message();
}

TEST(RoutingCondition, ComparesResourceItemAndRequestValues) {
  Attributes resource, item;
  put(resource, "service.name", "checkout");
  put(item, "region", "east");
  auto* n = item.Add();
  n->set_key("size");
  n->mutable_value()->set_int_value(42);
  ClientInfo client;
  client.metadata = {{"x-tenant", "acme"}};
  client.auth = {{"tenant", "ecorp"}};
  Subject s{&resource, &item, "GET /", "", 13, "WARN", &client};

  EXPECT_TRUE(eval(R"(attributes["service.name"] == "checkout")", Context::kResource, s));
  EXPECT_FALSE(eval(R"(attributes["region"] == "east")", Context::kResource, s));
  EXPECT_TRUE(eval(R"(attributes["region"] == "east")", Context::kSpan, s));
  EXPECT_TRUE(eval(R"(resource.attributes["service.name"] != "cart")", Context::kSpan, s));
  EXPECT_TRUE(eval(R"(attributes["size"] > 40 and attributes["size"] <= 42)", Context::kLog, s));
  EXPECT_FALSE(eval(R"(attributes["size"] == "42")", Context::kLog, s));  // types differ
  EXPECT_TRUE(eval(R"(attributes["missing"] == nil)", Context::kSpan, s));
  EXPECT_TRUE(eval(R"(IsMatch(attributes["region"], "^ea.t$"))", Context::kSpan, s));
  EXPECT_TRUE(eval(R"(name == "GET /" or false)", Context::kSpan, s));
  EXPECT_TRUE(eval("severity_number >= SEVERITY_NUMBER_WARN", Context::kLog, s));
  EXPECT_FALSE(eval("not (severity_text == \"WARN\")", Context::kLog, s));
  EXPECT_TRUE(eval(R"(request["X-Tenant"] == "acme")", Context::kRequest, s));
  EXPECT_TRUE(
      eval(R"(request["tenant"] == "ecorp")", Context::kRequest, s));  // the authenticator's
  EXPECT_TRUE(eval(R"(route() where attributes["service.name"] == "checkout")", Context::kResource,
                   s, true));
  EXPECT_TRUE(eval("route()", Context::kResource, s, true));
}

TEST(RoutingCondition, RefusesWhatItCannotEvaluateWithTheReason) {
  EXPECT_NE(error_of(R"(request["x"] == "a")", Context::kResource).find("context: request"),
            std::string::npos);
  EXPECT_NE(error_of(R"(attributes["x"] == "a")", Context::kRequest).find("request context"),
            std::string::npos);
  EXPECT_NE(error_of(R"(span.kind == 2)", Context::kSpan).find("not supported"), std::string::npos);
  EXPECT_NE(
      error_of(R"(IsMatch(attributes["x"], "(("))", Context::kSpan).find("regular expression"),
      std::string::npos);
  EXPECT_NE(error_of(R"(attributes["x"] == "a" extra)", Context::kSpan).find("unexpected"),
            std::string::npos);
  EXPECT_NE(error_of(R"(attributes["x"] == "a)", Context::kSpan).find("unterminated"),
            std::string::npos);
  EXPECT_FALSE(Condition::parse("attributes[\"x\"] == \"a\"", Context::kSpan, true).ok());
}

}  // namespace
}  // namespace weft::connectors::routing
