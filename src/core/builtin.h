#pragma once

#include <memory>
#include <vector>

#include "weft/factory.h"

// Defines make_<name>_factory(); the one line a component adds to builtin.cc lists it.
#define WEFT_DEFINE_FACTORY(name, FactoryClass)                    \
  std::unique_ptr<::weft::Factory> weft::make_##name##_factory() { \
    return std::make_unique<FactoryClass>();                       \
  }

namespace weft {

std::unique_ptr<Factory> make_otlp_receiver_factory();
std::unique_ptr<Factory> make_batch_processor_factory();
std::unique_ptr<Factory> make_memory_limiter_processor_factory();
std::unique_ptr<Factory> make_wasm_processor_factory();
std::unique_ptr<Factory> make_otlp_exporter_factory();
std::unique_ptr<Factory> make_otlphttp_exporter_factory();
std::unique_ptr<Factory> make_debug_exporter_factory();
std::unique_ptr<Factory> make_file_exporter_factory();
std::unique_ptr<Factory> make_health_check_extension_factory();
std::unique_ptr<Factory> make_wasm_connector_factory();

// Every component compiled into this build.
std::vector<std::unique_ptr<Factory>> builtin_factories();

}  // namespace weft
