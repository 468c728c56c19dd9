/* Header-only: everything is static inline in include/cashet_system.h. */
#include "cashet_system.h"
