#include "weft/metrics.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace weft::telemetry {
namespace {

TEST(RegistryTest, SameNameAndLabelsIsTheSameCounter) {
  Registry registry;
  Counter& a = registry.counter("requests_total", "Requests.", {{"b", "2"}, {"a", "1"}});
  // Label order does not matter.
  Counter& b = registry.counter("requests_total", "Requests.", {{"a", "1"}, {"b", "2"}});
  EXPECT_EQ(&a, &b);
  a.add(2);
  b.add();
  EXPECT_EQ(a.value(), 3u);
  // Different label values or names are different series.
  Counter& c = registry.counter("requests_total", "Requests.", {{"a", "1"}, {"b", "3"}});
  Counter& d = registry.counter("other_total", "Other.", {{"a", "1"}, {"b", "2"}});
  EXPECT_NE(&a, &c);
  EXPECT_NE(&a, &d);
  EXPECT_EQ(c.value(), 0u);

  Gauge& g1 = registry.gauge("queue_size", "Queue.", {{"q", "x"}});
  Gauge& g2 = registry.gauge("queue_size", "Queue.", {{"q", "x"}});
  EXPECT_EQ(&g1, &g2);
}

TEST(RegistryTest, RendersPrometheusTextWithHelpTypeAndSortedLabels) {
  Registry registry;
  registry.counter("weft_sent_total", "Items sent.", {{"signal", "traces"}, {"exporter", "otlp"}})
      .add(5);
  registry.counter("weft_sent_total", "Items sent.", {{"exporter", "debug"}, {"signal", "logs"}})
      .add(7);
  registry.gauge("weft_queue_size", "Requests queued.", {{"exporter", "otlp"}}).set(-3);
  registry.counter("weft_plain_total", "No labels.", {}).add(1);

  // Families sorted by name, series sorted by labels, labels sorted by key.
  const std::string expected =
      "# HELP weft_plain_total No labels.\n"
      "# TYPE weft_plain_total counter\n"
      "weft_plain_total 1\n"
      "# HELP weft_queue_size Requests queued.\n"
      "# TYPE weft_queue_size gauge\n"
      "weft_queue_size{exporter=\"otlp\"} -3\n"
      "# HELP weft_sent_total Items sent.\n"
      "# TYPE weft_sent_total counter\n"
      "weft_sent_total{exporter=\"debug\",signal=\"logs\"} 7\n"
      "weft_sent_total{exporter=\"otlp\",signal=\"traces\"} 5\n";
  EXPECT_EQ(registry.render(), expected);
}

TEST(RegistryTest, EscapesLabelValues) {
  Registry registry;
  registry.counter("c", "Help.", {{"path", "a\\b \"q\"\nline"}}).add(1);
  EXPECT_NE(registry.render().find("c{path=\"a\\\\b \\\"q\\\"\\nline\"} 1\n"), std::string::npos)
      << registry.render();
}

TEST(RegistryTest, EmptyRegistryRendersNothing) {
  Registry registry;
  EXPECT_EQ(registry.render(), "");
}

TEST(RegistryTest, GaugeSetAndAdd) {
  Registry registry;
  Gauge& g = registry.gauge("g", "G.", {});
  g.set(10);
  g.add(-4);
  EXPECT_EQ(g.value(), 6);
  EXPECT_NE(registry.render().find("\ng 6\n"), std::string::npos) << registry.render();
}

TEST(RegistryTest, ConcurrentUpdatesAreAllCounted) {
  Registry registry;
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&registry] {
      for (int i = 0; i < 1000; ++i) registry.counter("hits", "Hits.", {{"k", "v"}}).add();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(registry.counter("hits", "Hits.", {{"k", "v"}}).value(), 4000u);
}

}  // namespace
}  // namespace weft::telemetry
