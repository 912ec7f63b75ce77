// Must not compile: the data model sits below the collector's own telemetry.
#include "telemetry/metrics_server.h"
