#ifndef QUARRY_CREADLINE_SHIM_H
#define QUARRY_CREADLINE_SHIM_H
/* GNU readline and history. Used only by the `quarry` executable (GPL-3.0);
   the embeddable Quarry library never links it. */
#include <stdio.h>
#include <readline/readline.h>
#include <readline/history.h>
#endif
