// The C SDK built natively, with the host imports replaced by recorders, so its
// readers and writers can be checked against real protobuf and the host's own
// edit applier.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "lookup/tables.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "wasm/host/results.h"
#include "weft.h"

namespace {
std::string g_edits, g_mask, g_error;
std::vector<std::string> g_logs;
// The outbound request the SDK handed over, and the response the fake host gives back.
std::string g_request, g_response_body = "response body", g_retry_after_header = "7";
int64_t g_retry_after = -1, g_rejected = -1;
int32_t copy_to(const std::string& value, void* out, int32_t cap) {
  std::memcpy(out, value.data(), std::min<size_t>(value.size(), static_cast<size_t>(cap)));
  return static_cast<int32_t>(value.size());
}
}  // namespace

extern "C" {
void weft_host_log(int32_t, const void* p, int32_t n) {
  g_logs.emplace_back(static_cast<const char*>(p), static_cast<size_t>(n));
}
void weft_host_set_error(const void* p, int32_t n) {
  g_error.assign(static_cast<const char*>(p), static_cast<size_t>(n));
}
int64_t weft_host_now_unix_nano(void) {
  return 0;
}
int32_t weft_host_metric(int32_t, const void*, int32_t, double, const void*, int32_t) {
  return 0;
}
int32_t weft_host_kv_get(const void*, int32_t, void*, int32_t) {
  return -1;
}
int32_t weft_host_kv_set(const void*, int32_t, const void*, int32_t) {
  return 0;
}
int32_t weft_host_kv_delete(const void*, int32_t) {
  return 0;
}
int32_t weft_host_env_get(const void*, int32_t, void*, int32_t) {
  return -3;
}
int32_t weft_host_result_drop_all(void) {
  return 0;
}
int32_t weft_host_result_keep(const void* p, int32_t n) {
  g_mask.assign(static_cast<const char*>(p), static_cast<size_t>(n));
  return 0;
}
int32_t weft_host_result_edits(const void* p, int32_t n) {
  g_edits.assign(static_cast<const char*>(p), static_cast<size_t>(n));
  return 0;
}
int32_t weft_host_result_replace(const void*, int32_t) {
  return 0;
}
int32_t weft_host_result_route(const void*, int32_t) {
  return -2;
}
int32_t weft_host_emit(int32_t, const void* p, int32_t n) {
  g_edits.assign(static_cast<const char*>(p), static_cast<size_t>(n));
  return 0;
}
int32_t weft_host_http_request(const void* method, int32_t method_len, const void* url,
                               int32_t url_len, const void* headers, int32_t headers_len,
                               const void* body, int32_t body_len) {
  auto text = [](const void* p, int32_t n) {
    return std::string(static_cast<const char*>(p), static_cast<size_t>(n));
  };
  g_request = text(method, method_len) + " " + text(url, url_len) + "|" +
              text(headers, headers_len) + "|" + text(body, body_len);
  return 503;
}
int32_t weft_host_http_response_header(const void* name, int32_t name_len, void* out, int32_t cap) {
  if (std::string(static_cast<const char*>(name), static_cast<size_t>(name_len)) != "Retry-After") {
    return -1;
  }
  return copy_to(g_retry_after_header, out, cap);
}
int32_t weft_host_http_response_body(void* out, int32_t cap) {
  return copy_to(g_response_body, out, cap);
}
int32_t weft_host_set_retry_after(int64_t ms) {
  g_retry_after = ms;
  return 0;
}
int32_t weft_host_set_rejected(int64_t items) {
  g_rejected = items;
  return 0;
}
int32_t weft_host_request_info(int32_t which, void* out, int32_t cap) {
  return which == 1 ? copy_to("/api/v2/spans", out, cap) : -1;
}
int32_t weft_host_request_header(const void*, int32_t, void*, int32_t) {
  return -1;
}
int32_t weft_host_respond(int32_t status, const void*, int32_t) {
  return status >= 200 && status < 600 ? 0 : -2;
}
int32_t weft_host_client_info(const void* key, int32_t key_len, void* out, int32_t cap) {
  if (std::string(static_cast<const char*>(key), static_cast<size_t>(key_len)) != "auth.tenant") {
    return -1;
  }
  return copy_to("acme-corporation", out, cap);
}
int32_t weft_host_set_client_attribute(const void*, int32_t, const void*, int32_t) {
  return 0;
}
int32_t weft_host_add_header(const void*, int32_t, const void*, int32_t) {
  return 0;
}
int32_t weft_host_hmac_sha256(const void*, int32_t, const void*, int32_t, void*, int32_t) {
  return -3;
}
int32_t weft_host_verify_signature(const void*, int32_t, const void*, int32_t, const void*, int32_t,
                                   const void*, int32_t) {
  return -2;
}
// Table "teams": key "checkout" has two short fields, "big" one of 2,000 bytes.
int32_t weft_host_lookup(const void* table, int32_t table_len, const void* key, int32_t key_len,
                         void* out, int32_t cap) {
  const std::string t(static_cast<const char*>(table), static_cast<size_t>(table_len));
  const std::string k(static_cast<const char*>(key), static_cast<size_t>(key_len));
  if (t != "teams") return -3;
  if (k == "checkout") {
    return copy_to(weft::lookup::encode_fields({{"team", "payments"}, {"tier", "1"}}), out, cap);
  }
  if (k == "big") {
    return copy_to(weft::lookup::encode_fields({{"notes", std::string(2000, 'x')}}), out, cap);
  }
  return -1;
}
int weft__configure(const char*, size_t) {
  return 0;
}
}

namespace {

namespace v1 = opentelemetry::proto;

weft_bytes bytes_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string as_string(weft_bytes b) {
  return {reinterpret_cast<const char*>(b.data), b.len};
}

TEST(CSdkTest, WalksSpansWithTheirResourceAndAttributes) {
  v1::collector::trace::v1::ExportTraceServiceRequest req;
  for (int r = 0; r < 2; ++r) {
    auto* rs = req.add_resource_spans();
    auto* attr = rs->mutable_resource()->add_attributes();
    attr->set_key("service.name");
    attr->mutable_value()->set_string_value("svc" + std::to_string(r));
    auto* ss = rs->add_scope_spans();
    ss->mutable_scope()->set_name("scope");
    for (int i = 0; i < 3; ++i) {
      auto* span = ss->add_spans();
      span->set_name("span" + std::to_string(r) + std::to_string(i));
      auto* a = span->add_attributes();
      a->set_key("n");
      a->mutable_value()->set_int_value(i);
    }
  }
  const std::string wire = req.SerializeAsString();
  weft_batch batch{WEFT_TRACES, bytes_of(wire), 0};
  weft_items it;
  weft_items_init(&it, &batch);
  std::vector<std::string> seen;
  while (weft_items_next(&it)) {
    weft_value svc, n;
    ASSERT_TRUE(
        weft_attr_find(it.current.resource, WEFT_RESOURCE_ATTRIBUTES, "service.name", &svc));
    ASSERT_TRUE(weft_attr_find(it.current.item, WEFT_SPAN_ATTRIBUTES, "n", &n));
    EXPECT_EQ(n.type, WEFT_VALUE_INT);
    EXPECT_EQ(it.current.resource_index, it.current.index / 3);
    seen.push_back(as_string(svc.str) + "/" +
                   as_string(weft_pb_bytes(it.current.item, WEFT_SPAN_NAME)) + "/" +
                   std::to_string(n.i) + "/" + std::to_string(it.current.index));
  }
  EXPECT_EQ(seen,
            (std::vector<std::string>{"svc0/span00/0/0", "svc0/span01/1/1", "svc0/span02/2/2",
                                      "svc1/span10/0/3", "svc1/span11/1/4", "svc1/span12/2/5"}));
}

TEST(CSdkTest, CountsMetricDataPointsAsItems) {
  v1::collector::metrics::v1::ExportMetricsServiceRequest req;
  auto* sm = req.add_resource_metrics()->add_scope_metrics();
  auto* gauge = sm->add_metrics();
  gauge->set_name("g");
  gauge->mutable_gauge()->add_data_points()->set_as_int(1);
  gauge->mutable_gauge()->add_data_points()->set_as_int(2);
  auto* hist = sm->add_metrics();
  hist->set_name("h");
  auto* hp = hist->mutable_histogram()->add_data_points();
  hp->set_count(3);
  auto* env = hp->add_attributes();
  env->set_key("env");
  env->mutable_value()->set_string_value("prod");
  const std::string wire = req.SerializeAsString();
  weft_batch batch{WEFT_METRICS, bytes_of(wire), 0};
  weft_items it;
  weft_items_init(&it, &batch);
  std::string names;
  int with_env = 0;
  while (weft_items_next(&it)) {
    names += as_string(weft_pb_bytes(it.current.metric, WEFT_METRIC_NAME));
    weft_value v;
    if (weft_attr_find(it.current.item, it.current.attributes_field, "env", &v)) ++with_env;
  }
  EXPECT_EQ(names, "ggh");
  EXPECT_EQ(with_env, 1) << "histogram points keep attributes in field 9";
}

TEST(CSdkTest, EditsBuiltByTheSdkAreAppliedByTheHost) {
  v1::collector::logs::v1::ExportLogsServiceRequest req;
  auto* sl = req.add_resource_logs()->add_scope_logs();
  for (int i = 0; i < 2; ++i) {
    auto* rec = sl->add_log_records();
    rec->mutable_body()->set_string_value("mail bob@example.com");
    auto* a = rec->add_attributes();
    a->set_key("old");
    a->mutable_value()->set_string_value("v");
  }
  weft_edits e;
  weft_edits_init(&e);
  weft_edit_rename(&e, WEFT_TARGET_ITEM, 0, "old", "new");
  weft_edit_set_int(&e, WEFT_TARGET_ITEM, 1, "count", -5);
  weft_edit_set_body(&e, 1, "mail ****", 9);
  weft_edit_set_string(&e, WEFT_TARGET_RESOURCE, 0, "env", "prod", 4);
  weft_edit_delete(&e, WEFT_TARGET_ITEM, 1, "old");
  ASSERT_EQ(weft_edits_submit(&e), 0);

  auto data = weft::pdata::Telemetry::from_wire(weft::Signal::kLogs, req.SerializeAsString());
  ASSERT_TRUE(data.ok());
  ASSERT_TRUE(weft::wasm::apply_edits(data.value(), g_edits).is_ok());
  v1::collector::logs::v1::ExportLogsServiceRequest out;
  ASSERT_TRUE(out.ParseFromString(data.value().wire()));
  const auto& recs = out.resource_logs(0).scope_logs(0).log_records();
  EXPECT_EQ(recs[0].attributes(0).key(), "new");
  EXPECT_EQ(recs[1].body().string_value(), "mail ****");
  ASSERT_EQ(recs[1].attributes_size(), 1);
  EXPECT_EQ(recs[1].attributes(0).key(), "count");
  EXPECT_EQ(recs[1].attributes(0).value().int_value(), -5);
  EXPECT_EQ(out.resource_logs(0).resource().attributes(0).value().string_value(), "prod");
}

TEST(CSdkTest, HostRejectsEditsOutOfRangeAndAppliesNothing) {
  v1::collector::trace::v1::ExportTraceServiceRequest req;
  req.add_resource_spans()->add_scope_spans()->add_spans()->set_name("a");
  weft_edits e;
  weft_edits_init(&e);
  weft_edit_set_name(&e, 0, "b", 1);
  weft_edit_set_name(&e, 9, "c", 1);
  ASSERT_EQ(weft_edits_submit(&e), 0);
  auto data = weft::pdata::Telemetry::from_wire(weft::Signal::kTraces, req.SerializeAsString());
  ASSERT_TRUE(data.ok());
  const std::string before = data.value().wire();
  EXPECT_FALSE(weft::wasm::apply_edits(data.value(), g_edits).is_ok());
  EXPECT_EQ(data.value().wire(), before);
}

TEST(CSdkTest, ReadsJsonConfig) {
  const std::string json = R"({"drop": [{"name": "a\"b"}, {"gt": 2.5, "on": true}], "n": 3})";
  weft_json root{json.data(), json.size()};
  weft_json drop = weft_json_get(root, "drop");
  ASSERT_TRUE(weft_json_is(drop, '['));
  size_t it = 0;
  weft_json el;
  std::vector<std::string> parts;
  while (weft_json_next(drop, &it, &el)) parts.emplace_back(el.p, el.len);
  ASSERT_EQ(parts.size(), 2u);
  char name[16];
  weft_json first{parts[0].data(), parts[0].size()};
  EXPECT_EQ(weft_json_string(weft_json_get(first, "name"), name, sizeof name), 3);
  EXPECT_STREQ(name, "a\"b");
  double gt = 0;
  int on = 0;
  weft_json second{parts[1].data(), parts[1].size()};
  EXPECT_TRUE(weft_json_number(weft_json_get(second, "gt"), &gt));
  EXPECT_DOUBLE_EQ(gt, 2.5);
  EXPECT_TRUE(weft_json_bool(weft_json_get(second, "on"), &on));
  EXPECT_EQ(on, 1);
  EXPECT_EQ(weft_json_get(root, "missing").len, 0u);
}

TEST(CSdkTest, Sha256MatchesKnownDigests) {
  char out[65];
  weft_sha256_hex("", 0, out);
  EXPECT_STREQ(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  weft_sha256_hex("abc", 3, out);
  EXPECT_STREQ(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string long_input(1000, 'a');  // crosses several blocks and a two-block tail
  weft_sha256_hex(long_input.data(), long_input.size(), out);
  EXPECT_STREQ(out, "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3");
}

TEST(CSdkTest, WritesProtobufThatParses) {
  weft_buf point, sum, metric, scope, resource, rm, req;
  for (weft_buf* b : {&point, &sum, &metric, &scope, &resource, &rm, &req}) weft_buf_init(b);
  weft_pb_string_attribute(&point, 7, "span.name", "GET /", 5);
  weft_pb_fixed64(&point, 3, 1234);
  weft_pb_fixed64(&point, 6, static_cast<uint64_t>(-3));  // as_int is sfixed64
  weft_pb_message(&sum, 1, &point);
  weft_pb_varint(&sum, 2, 1);
  weft_pb_varint(&sum, 3, 1);
  weft_pb_string(&metric, 1, "calls");
  weft_pb_message(&metric, 7, &sum);
  weft_pb_message(&scope, 2, &metric);
  weft_pb_string_attribute(&resource, 1, "service.name", "svc", 3);
  weft_pb_message(&rm, 1, &resource);
  weft_pb_message(&rm, 2, &scope);
  weft_pb_message(&req, 1, &rm);
  ASSERT_EQ(weft_emit(WEFT_METRICS, &req), 0);
  v1::collector::metrics::v1::ExportMetricsServiceRequest parsed;
  ASSERT_TRUE(parsed.ParseFromString(g_edits));
  const auto& m = parsed.resource_metrics(0).scope_metrics(0).metrics(0);
  EXPECT_EQ(m.name(), "calls");
  EXPECT_EQ(m.sum().data_points(0).as_int(), -3);
  EXPECT_EQ(m.sum().data_points(0).time_unix_nano(), 1234u);
  EXPECT_EQ(m.sum().data_points(0).attributes(0).value().string_value(), "GET /");
  EXPECT_TRUE(m.sum().is_monotonic());
  EXPECT_EQ(parsed.resource_metrics(0).resource().attributes(0).key(), "service.name");
  for (weft_buf* b : {&point, &sum, &metric, &scope, &resource, &rm, &req}) weft_buf_free(b);
}

TEST(CSdkTest, ReaderStopsOnMalformedInput) {
  const std::string bad = "\x0a\x7f\x01";  // length 127, 1 byte present
  weft_reader r;
  weft_field f;
  weft_reader_init(&r, bytes_of(bad));
  EXPECT_EQ(weft_reader_next(&r, &f), 0);
  EXPECT_EQ(r.error, 1);
}

}  // namespace

TEST(CSdkTest, HttpRequestAndResponseHelpers) {
  EXPECT_EQ(weft_http_request("POST", "/v1/logs", "Content-Type: text/plain", "abc", 3), 503);
  EXPECT_EQ(g_request, "POST /v1/logs|Content-Type: text/plain|abc");
  EXPECT_EQ(weft_http_request("GET", "/ready", nullptr, nullptr, 0), 503);
  EXPECT_EQ(g_request, "GET /ready||");
  // A header into a small buffer: cut, NUL-terminated, the full length returned.
  char small[2];
  EXPECT_EQ(weft_http_response_header("Retry-After", small, sizeof(small)), 1);
  EXPECT_STREQ(small, "7");
  g_retry_after_header = "120";
  EXPECT_EQ(weft_http_response_header("Retry-After", small, sizeof(small)), 3);
  EXPECT_STREQ(small, "1");
  EXPECT_EQ(weft_http_response_header("Missing", small, sizeof(small)), -1);
  // The body, appended to what the buffer already holds.
  weft_buf body;
  weft_buf_init(&body);
  weft_buf_append(&body, "> ", 2);
  EXPECT_EQ(weft_http_response_body(&body), static_cast<int>(g_response_body.size()));
  EXPECT_EQ(std::string(reinterpret_cast<char*>(body.data), body.len), "> response body");
  weft_buf_free(&body);
  weft_export_retry_after(1500);
  weft_export_rejected(3);
  EXPECT_EQ(g_retry_after, 1500);
  EXPECT_EQ(g_rejected, 3);
}

TEST(SdkLookup, ReadsRowsSmallAndLargeAndReportsMissesAndDenials) {
  weft_row row = WEFT_ROW_INIT;
  ASSERT_EQ(weft_lookup("teams", "checkout", 8, &row), 0);
  weft_bytes value;
  ASSERT_EQ(weft_row_get(&row, "team", &value), 1);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(value.data), value.len), "payments");
  ASSERT_EQ(weft_row_get(&row, "tier", &value), 1);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(value.data), value.len), "1");
  EXPECT_EQ(weft_row_get(&row, "owner", &value), 0);
  size_t it = 0;
  weft_bytes name;
  int fields = 0;
  while (weft_row_next(&row, &it, &name, &value) != 0) ++fields;
  EXPECT_EQ(fields, 2);

  ASSERT_EQ(weft_lookup("teams", "big", 3, &row), 0);  // past the inline buffer
  ASSERT_EQ(weft_row_get(&row, "notes", &value), 1);
  EXPECT_EQ(value.len, 2000u);
  EXPECT_EQ(weft_lookup("teams", "nobody", 6, &row), -1);
  EXPECT_EQ(weft_lookup("secrets", "checkout", 8, &row), -3);
  weft_row_free(&row);
}

TEST(SdkClientInfo, CopiesNulTerminatedAndTellsTheFullLength) {
  char out[32];
  EXPECT_EQ(weft_client_info("auth.tenant", out, sizeof out), 16);
  EXPECT_STREQ(out, "acme-corporation");
  char small[5];
  EXPECT_EQ(weft_client_info("auth.tenant", small, sizeof small), 16);
  EXPECT_STREQ(small, "acme");
  EXPECT_EQ(weft_client_info("metadata.x-tenant", out, sizeof out), -1);
}

TEST(SdkBase64url, DecodesWithAndWithoutPaddingAndRefusesBadInput) {
  uint8_t out[16];
  ASSERT_EQ(weft_base64url_decode("aGn_-w", 6, out, sizeof out), 4);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(out), 4), "hi\xff\xfb");
  EXPECT_EQ(weft_base64url_decode("aGk=", 4, out, sizeof out), 2);
  EXPECT_EQ(weft_base64url_decode("a", 1, out, sizeof out), -1);
  EXPECT_EQ(weft_base64url_decode("a!bc", 4, out, sizeof out), -1);
  EXPECT_EQ(weft_base64url_decode("aGVsbG8", 7, out, 2), -1);  // too long for out
  char hex[9];
  weft_hex("\x01\xab\xff\x00", 4, hex);
  EXPECT_STREQ(hex, "01abff00");
}
