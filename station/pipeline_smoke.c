/* The smoke step's broker exchange: not built yet in this version. */
#include "pipeline_run.h"

st_err
smoke_step(struct run *r)
{
	return st_fail(&r->cause, ST_E_UNSUPPORTED,
	    "a broker is configured but this build has no smoke test");
}
