// Compiles: the control for the probes beside it (the core builds on the data model).
#include "pdata/wire.h"
#include "weft/consumer.h"
