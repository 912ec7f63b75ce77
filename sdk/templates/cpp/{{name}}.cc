// {{name}}: a weft plugin. It drops every span and log record whose attribute named by
// config "attribute" (default "debug") has the string value config "equals" (default
// "true"), and counts what it dropped in the counter "dropped".
//
// Build it with `weft plugin build`, test it with `weft plugin test`; the C++ SDK's guide
// is sdk/cpp/README.md in the weft repository.
#include <weft.hpp>

namespace {

char attribute[128] = "debug";
char equals[128] = "true";

weft::Status configure(weft::Json config) {
  if (config["attribute"].present() && config["attribute"].string(attribute, sizeof attribute) < 0)
    return weft::error("config.attribute must be a string");
  if (config["equals"].present() && config["equals"].string(equals, sizeof equals) < 0)
    return weft::error("config.equals must be a string");
  return weft::ok();
}

weft::Status process(const weft::Batch& batch) {
  weft::KeepMask mask(batch.size());
  for (const weft::Item item : batch.items()) {
    weft::Value v;
    if (item.attributes().find(attribute, &v) && v.str() == equals) mask.drop(item.index());
  }
  if (mask.dropped() > 0) weft::counter_add("dropped", static_cast<double>(mask.dropped()));
  return mask.submit();
}

}  // namespace

WEFT_CPP_PLUGIN(configure)
WEFT_CPP_PROCESS_TRACES(process)
WEFT_CPP_PROCESS_LOGS(process)
