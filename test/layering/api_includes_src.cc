// Must not compile: a public header (include/weft) may include only public headers.
#include "pdata/wire.h"
#include "weft/consumer.h"
