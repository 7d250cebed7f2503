/* Flattened at build time into philox.cl (see meson.build). */
#include <Random123/philox.h>
