#pragma once

#include <cstdio>
#include <cstdlib>

// An invariant of a fuzz target: a broken one is reported and ends the run as a crash, so
// libFuzzer keeps the input.
inline void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
  }
}
